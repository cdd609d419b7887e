import type { SessionBackend, SessionInfo, SessionWrite } from '../session-store.js';
import type { MemoryHub } from './hub.js';
import type { MemoryShardLeases } from './shard-leases.js';

/**
 * In-process session backend (under the shared debouncer); fenced writes are checked against the
 * memory leases of the same hub.
 *
 * @example
 * const sessions = new DebouncedSessionStore(new MemorySessionBackend(hub, leases, ttlMs), opts, hub.clock, log);
 */
export class MemorySessionBackend implements SessionBackend {
  constructor(
    private readonly hub: MemoryHub,
    private readonly leases: MemoryShardLeases,
    private readonly ttlMs: number,
  ) {}

  async read(shardId: number, shardCount: number): Promise<SessionInfo | null> {
    const info = this.hub.live(this.hub.sessions, `${shardCount}:${shardId}`);
    return info ? { ...info } : null;
  }

  async write(writes: readonly SessionWrite[]): Promise<{ refused: number }> {
    let refused = 0;
    for (const w of writes) {
      if (w.fence && !this.leases.checkFenceNow(w.fence.generation, w.shardId, w.fence.epoch)) {
        refused++;
        continue;
      }
      this.hub.writes.sessions++;
      const k = `${w.shardCount}:${w.shardId}`;
      if (w.info)
        this.hub.sessions.set(k, { value: { ...w.info }, expiresAt: this.hub.clock.now() + this.ttlMs });
      else this.hub.sessions.delete(k);
    }
    return { refused };
  }
}
