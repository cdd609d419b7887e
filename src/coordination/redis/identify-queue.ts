import type { APIGatewaySessionStartLimit } from 'discord-api-types/v10';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import {
  type IdentifyAttempt,
  type IdentifyBudget,
  type IdentifyOptions,
  type IdentifyQueue,
  waitForSlot,
} from '../identify-queue.js';
import { type RedisGuard, execPipeline } from './connection.js';
import type { RedisKeys } from './keys.js';
import { runScript } from './scripts.js';

/**
 * {@link IdentifyQueue} in Redis: a `SET NX PX window` lock per bucket (`identify:bucket:<b>`) and a
 * shared budget hash (`identify:budget`, expiring at Discord's reset), checked and decremented in the
 * same Lua step that takes the lock. Waiters poll with the lock's remaining PTTL plus jitter.
 *
 * @example
 * const queue = new RedisIdentifyQueue(redis, keys, guard, systemClock, IDENTIFY_DEFAULTS);
 */
export class RedisIdentifyQueue implements IdentifyQueue {
  private maxConcurrency: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly guard: RedisGuard,
    private readonly clock: Clock,
    private readonly opts: IdentifyOptions,
  ) {
    this.maxConcurrency = opts.maxConcurrency;
  }

  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    const bucket = shardId % this.maxConcurrency;
    return waitForSlot(() => this.attempt(bucket), this.clock, this.opts, signal);
  }

  sync(limit: APIGatewaySessionStartLimit): Promise<void> {
    this.maxConcurrency = Math.max(1, limit.max_concurrency);
    return this.guard('identify.sync', async () => {
      await runScript(
        this.redis,
        'identifySync',
        [this.keys.identifyBudget(), this.keys.identifyTotal()],
        [limit.remaining, limit.total, Math.ceil(limit.reset_after)],
      );
    });
  }

  budget(): Promise<IdentifyBudget | null> {
    return this.guard('identify.budget', async () => {
      const k = this.keys.identifyBudget();
      const [values, pttl] = (await execPipeline(
        this.redis.pipeline().hmget(k, 'remaining', 'total').pttl(k),
      )) as [[string | null, string | null], number];
      if (values[0] === null || values[1] === null || pttl <= 0) return null;
      return { remaining: Number(values[0]), total: Number(values[1]), resetAfterMs: pttl };
    });
  }

  private attempt(bucket: number): Promise<IdentifyAttempt> {
    return this.guard('identify.wait', async () => {
      const r = (await runScript(
        this.redis,
        'identifyTry',
        [this.keys.identifyBucket(bucket), this.keys.identifyBudget(), this.keys.identifyTotal()],
        [Math.ceil(this.opts.windowMs), this.opts.reserve, Math.ceil(this.opts.assumedResetMs)],
      )) as number[];
      if (r[0] === 0) return { kind: 'acquired' };
      if (r[0] === 1) return { kind: 'wait', ms: Number(r[1]) };
      return { kind: 'refused', remaining: Number(r[1]), resetAfterMs: Math.max(0, Number(r[2])) };
    });
  }
}
