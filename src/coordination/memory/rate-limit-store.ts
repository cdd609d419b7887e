import { INVALID_REQUEST_WINDOW_MS, type RateLimitStore } from '../rate-limit-store.js';
import type { MemoryHub } from './hub.js';

const SLICE_MS = 60_000;

/**
 * In-process {@link RateLimitStore}: a sliding log per bucket, header state with expiry, and a
 * ten-slice invalid-request counter.
 *
 * @example
 * const limits = new MemoryRateLimitStore(hub);
 */
export class MemoryRateLimitStore implements RateLimitStore {
  constructor(private readonly hub: MemoryHub) {}

  async acquire(bucketKey: string, limit: number, windowMs: number): Promise<number> {
    const now = this.hub.clock.now();
    const state = this.hub.live(this.hub.rateStates, bucketKey);
    if (state) {
      if (state.remaining > 0) {
        state.remaining -= 1;
        return 0;
      }
      return Math.max(1, this.hub.rateStates.get(bucketKey)!.expiresAt - now);
    }
    let log = this.hub.rateWindows.get(bucketKey);
    if (!log) this.hub.rateWindows.set(bucketKey, (log = []));
    while (log.length > 0 && log[0]! <= now - windowMs) log.shift();
    if (log.length < limit) {
      log.push(now);
      return 0;
    }
    return Math.max(1, log[log.length - limit]! + windowMs - now);
  }

  async update(bucketKey: string, state: { remaining: number; resetAfterMs: number }): Promise<void> {
    if (state.resetAfterMs <= 0) {
      this.hub.rateStates.delete(bucketKey);
      return;
    }
    this.hub.rateStates.set(bucketKey, {
      value: { remaining: Math.max(0, state.remaining) },
      expiresAt: this.hub.clock.now() + state.resetAfterMs,
    });
  }

  async recordInvalid(count = 1): Promise<number> {
    const slice = Math.floor(this.hub.clock.now() / SLICE_MS);
    this.hub.invalidSlices.set(slice, (this.hub.invalidSlices.get(slice) ?? 0) + count);
    return this.invalidCount();
  }

  async invalidCount(): Promise<number> {
    const current = Math.floor(this.hub.clock.now() / SLICE_MS);
    const slices = INVALID_REQUEST_WINDOW_MS / SLICE_MS;
    let total = 0;
    for (const [slice, n] of this.hub.invalidSlices) {
      if (slice <= current - slices) this.hub.invalidSlices.delete(slice);
      else total += n;
    }
    return total;
  }
}
