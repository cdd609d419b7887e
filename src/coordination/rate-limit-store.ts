import type { Clock } from './clock.js';

/**
 * Discord REST rate-limit state shared by every process of the bot, so that N pods together stay under
 * the global limit (50 requests/s) and each per-route bucket, and count invalid requests centrally
 * (10,000 per 10 minutes per IP ends in a Cloudflare ban).
 *
 * `acquire(bucket, limit, windowMs)` takes a slot and answers 0, or answers how long to wait before
 * asking again. While a bucket has state from response headers (`update`), that state decides (one slot
 * per `remaining` until `resetAfterMs`); otherwise a sliding window of `limit` slots per `windowMs` does.
 *
 * @example
 * await acquireSlot(store, clock, 'global', 50, 1_000, signal);
 * const res = await fetch(url);
 * await store.update(bucketHash, { remaining: +res.headers.get('x-ratelimit-remaining')!, resetAfterMs: 1000 * +res.headers.get('x-ratelimit-reset-after')! });
 * if ([401, 403, 429].includes(res.status)) await store.recordInvalid();
 */
export interface RateLimitStore {
  acquire(bucketKey: string, limit: number, windowMs: number): Promise<number>;
  update(
    bucketKey: string,
    state: { readonly remaining: number; readonly resetAfterMs: number },
  ): Promise<void>;
  /** Counts invalid requests; returns the total over the last {@link INVALID_REQUEST_WINDOW_MS}. */
  recordInvalid(count?: number): Promise<number>;
  invalidCount(): Promise<number>;
}

/**
 * Discord's invalid request window: 10 minutes (counted in one-minute slices).
 *
 * @example
 * if ((await store.invalidCount()) > INVALID_REQUEST_LIMIT * 0.9) pauseRest(INVALID_REQUEST_WINDOW_MS);
 */
export const INVALID_REQUEST_WINDOW_MS = 10 * 60 * 1000;
/**
 * Discord's invalid request limit per window and IP.
 *
 * @example
 * if ((await store.invalidCount()) > INVALID_REQUEST_LIMIT * 0.9) pauseRest();
 */
export const INVALID_REQUEST_LIMIT = 10_000;

/**
 * Waits (abortably) until `acquire` grants a slot.
 *
 * @example
 * await acquireSlot(coordination.rateLimits, systemClock, 'global', 50, 1000, AbortSignal.timeout(10_000));
 */
export async function acquireSlot(
  store: RateLimitStore,
  clock: Clock,
  bucketKey: string,
  limit: number,
  windowMs: number,
  signal?: AbortSignal,
): Promise<void> {
  for (;;) {
    signal?.throwIfAborted();
    const wait = await store.acquire(bucketKey, limit, windowMs);
    if (wait <= 0) return;
    await clock.sleep(wait, signal);
  }
}
