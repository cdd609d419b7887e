import type { Redis } from 'ioredis';
import type { SessionBackend, SessionInfo, SessionWrite } from '../session-store.js';
import { type RedisGuard, execPipeline } from './connection.js';
import type { RedisKeys } from './keys.js';
import { runScript } from './scripts.js';
import { epochArg } from './shard-leases.js';

/**
 * Session backend in Redis (under the shared debouncer): one JSON string per `(shardCount, shardId)`
 * with a TTL; a flush is one pipeline. Fenced writes run a Lua step that checks the shard's lease.
 *
 * @example
 * const sessions = new DebouncedSessionStore(new RedisSessionBackend(redis, keys, guard, ttlMs), opts, clock, log);
 */
export class RedisSessionBackend implements SessionBackend {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly guard: RedisGuard,
    private readonly ttlMs: number,
  ) {}

  read(shardId: number, shardCount: number): Promise<SessionInfo | null> {
    return this.guard('sessions.get', async () => {
      const json = await this.redis.get(this.keys.session(shardCount, shardId));
      return json ? (JSON.parse(json) as SessionInfo) : null;
    });
  }

  write(writes: readonly SessionWrite[]): Promise<{ refused: number }> {
    return this.guard('sessions.flush', async () => {
      const p = this.redis.pipeline();
      for (const w of writes) {
        const key = this.keys.session(w.shardCount, w.shardId);
        const json = w.info ? JSON.stringify(w.info) : '';
        if (w.fence) {
          void runScript(
            p,
            'sessionFencedWrite',
            [key, this.keys.leases(w.fence.generation)],
            [w.shardId, epochArg(w.fence.epoch), json, this.ttlMs],
          );
        } else if (w.info) {
          p.set(key, json, 'PX', this.ttlMs);
        } else {
          p.del(key);
        }
      }
      const results = await execPipeline(p);
      let refused = 0;
      writes.forEach((w, i) => {
        if (w.fence && results[i] !== 1) refused++;
      });
      return { refused };
    });
  }
}
