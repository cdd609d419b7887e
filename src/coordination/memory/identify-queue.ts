import type { APIGatewaySessionStartLimit } from 'discord-api-types/v10';
import {
  type IdentifyAttempt,
  type IdentifyBudget,
  type IdentifyOptions,
  type IdentifyQueue,
  waitForSlot,
} from '../identify-queue.js';
import type { MemoryHub } from './hub.js';

/**
 * In-process {@link IdentifyQueue}: the same bucket/budget rules as the Redis queue, on the hub's
 * clock (so it runs on simulated time in `bench/identify.ts`).
 *
 * @example
 * const queue = new MemoryIdentifyQueue(hub, IDENTIFY_DEFAULTS);
 */
export class MemoryIdentifyQueue implements IdentifyQueue {
  private maxConcurrency: number;

  constructor(
    private readonly hub: MemoryHub,
    private readonly opts: IdentifyOptions,
    private readonly random: () => number = Math.random,
  ) {
    this.maxConcurrency = opts.maxConcurrency;
  }

  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    const bucket = shardId % this.maxConcurrency;
    return waitForSlot(async () => this.attempt(bucket), this.hub.clock, this.opts, signal, this.random);
  }

  async sync(limit: APIGatewaySessionStartLimit): Promise<void> {
    this.maxConcurrency = Math.max(1, limit.max_concurrency);
    const now = this.hub.clock.now();
    const cur = this.liveBudget(now);
    this.hub.identifyTotal = limit.total;
    this.hub.identifyBudget = {
      value: { remaining: Math.min(cur?.remaining ?? limit.remaining, limit.remaining), total: limit.total },
      expiresAt: now + limit.reset_after,
    };
  }

  async budget(): Promise<IdentifyBudget | null> {
    const now = this.hub.clock.now();
    const b = this.liveBudget(now);
    if (!b || !this.hub.identifyBudget) return null;
    return { remaining: b.remaining, total: b.total, resetAfterMs: this.hub.identifyBudget.expiresAt - now };
  }

  private attempt(bucket: number): IdentifyAttempt {
    const now = this.hub.clock.now();
    const until = this.hub.identifyBuckets.get(bucket) ?? 0;
    if (until > now) return { kind: 'wait', ms: until - now };
    let budget = this.liveBudget(now);
    if (!budget && this.hub.identifyTotal !== undefined) {
      // The counter lapsed (daily reset) but we know the total: start over, assuming the longest reset.
      budget = { remaining: this.hub.identifyTotal, total: this.hub.identifyTotal };
      this.hub.identifyBudget = { value: budget, expiresAt: now + this.opts.assumedResetMs };
    }
    if (budget) {
      if (budget.remaining - 1 < this.opts.reserve) {
        return {
          kind: 'refused',
          remaining: budget.remaining,
          resetAfterMs: this.hub.identifyBudget!.expiresAt - now,
        };
      }
      budget.remaining -= 1;
    }
    this.hub.identifyBuckets.set(bucket, now + this.opts.windowMs);
    return { kind: 'acquired' };
  }

  private liveBudget(now: number): { remaining: number; total: number } | undefined {
    const b = this.hub.identifyBudget;
    if (!b) return undefined;
    if (b.expiresAt <= now) {
      this.hub.identifyBudget = undefined;
      return undefined;
    }
    return b.value;
  }
}
