import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { INVALID_REQUEST_WINDOW_MS, type RateLimitStore } from '../rate-limit-store.js';
import { type RedisGuard, execPipeline } from './connection.js';
import type { RedisKeys } from './keys.js';
import { runScript } from './scripts.js';

const SLICE_MS = 60_000;
const SLICES = INVALID_REQUEST_WINDOW_MS / SLICE_MS;

/**
 * {@link RateLimitStore} in Redis: a sliding log (sorted set of grant times, Redis server time) per
 * bucket, header state as a hash expiring at the bucket's reset, and invalid requests counted in
 * one-minute slices (the last ten are summed).
 *
 * @example
 * const limits = new RedisRateLimitStore(redis, keys, guard, systemClock);
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly instance = randomUUID();
  private seq = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly guard: RedisGuard,
    private readonly clock: Clock,
  ) {}

  acquire(bucketKey: string, limit: number, windowMs: number): Promise<number> {
    return this.guard('rateLimits.acquire', async () =>
      Number(
        await runScript(
          this.redis,
          'rateAcquire',
          [this.keys.rateWindow(bucketKey), this.keys.rateState(bucketKey)],
          [limit, Math.ceil(windowMs), `${this.instance}:${this.seq++}`],
        ),
      ),
    );
  }

  update(bucketKey: string, state: { remaining: number; resetAfterMs: number }): Promise<void> {
    return this.guard('rateLimits.update', async () => {
      const k = this.keys.rateState(bucketKey);
      if (state.resetAfterMs <= 0) {
        await this.redis.del(k);
        return;
      }
      await execPipeline(
        this.redis
          .multi()
          .hset(k, 'remaining', Math.max(0, Math.floor(state.remaining)))
          .pexpire(k, Math.ceil(state.resetAfterMs)),
      );
    });
  }

  recordInvalid(count = 1): Promise<number> {
    return this.guard('rateLimits.recordInvalid', async () => {
      const slice = Math.floor(this.clock.now() / SLICE_MS);
      const k = this.keys.invalidSlice(slice);
      const p = this.redis
        .pipeline()
        .incrby(k, count)
        .pexpire(k, INVALID_REQUEST_WINDOW_MS + SLICE_MS);
      p.mget(...this.sliceKeys(slice));
      const results = await execPipeline(p);
      return sum(results[2] as (string | null)[]);
    });
  }

  invalidCount(): Promise<number> {
    return this.guard('rateLimits.invalidCount', async () => {
      const slice = Math.floor(this.clock.now() / SLICE_MS);
      return sum(await this.redis.mget(...this.sliceKeys(slice)));
    });
  }

  private sliceKeys(current: number): string[] {
    return Array.from({ length: SLICES }, (_, i) => this.keys.invalidSlice(current - i));
  }
}

function sum(values: (string | null)[]): number {
  return values.reduce((acc, v) => acc + Number(v ?? 0), 0);
}
