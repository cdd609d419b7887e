/**
 * The outcome of taking from a rate limit.
 *
 * @example
 * const d: RateDecision = await limiter.consume('user:1');
 */
export interface RateDecision {
  readonly allowed: boolean;
  readonly limit: number;
  /** Requests left now, when the backend knows (the header is omitted otherwise). */
  readonly remaining?: number;
  /** Milliseconds until the bucket is full again, when the backend knows. */
  readonly resetMs?: number;
  /** Milliseconds until a request would be allowed (0 when allowed). */
  readonly retryAfterMs: number;
}

/**
 * Per-principal request limiting. The memory implementation serves one pod; a Redis one (same shape) can
 * share budgets across pods.
 *
 * @example
 * const d = await limiter.consume('user:1180000000000000001');
 * if (!d.allowed) throw new AppError(429, 'rate_limited', 'Slow down');
 */
export interface RateLimiter {
  consume(key: string, cost?: number): RateDecision | Promise<RateDecision>;
}

/**
 * Options of {@link memoryRateLimiter}.
 *
 * @example
 * memoryRateLimiter({ limit: 600, windowMs: 60_000 });
 */
export interface MemoryRateLimiterOptions {
  /** Requests allowed per window (the bucket size). */
  readonly limit: number;
  /** Window over which `limit` refills, in ms (default 60,000). */
  readonly windowMs?: number;
  /** Buckets kept before idle ones are swept (default 50,000). */
  readonly maxKeys?: number;
  readonly now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per key, in memory: `limit` tokens, refilled continuously over `windowMs`.
 *
 * @example
 * const limiter = memoryRateLimiter({ limit: 600, windowMs: 60_000 });
 */
export function memoryRateLimiter(opts: MemoryRateLimiterOptions): RateLimiter {
  const windowMs = opts.windowMs ?? 60_000;
  const maxKeys = opts.maxKeys ?? 50_000;
  const now = opts.now ?? Date.now;
  const perMs = opts.limit / windowMs;
  const buckets = new Map<string, Bucket>();

  const sweep = (t: number) => {
    for (const [key, b] of buckets) {
      if (b.tokens + (t - b.at) * perMs >= opts.limit) buckets.delete(key);
    }
    // Still too many active keys: drop the oldest (they get a fresh bucket).
    for (const key of buckets.keys()) {
      if (buckets.size < maxKeys) break;
      buckets.delete(key);
    }
  };

  return {
    consume(key, cost = 1) {
      const t = now();
      let b = buckets.get(key);
      if (!b) {
        if (buckets.size >= maxKeys) sweep(t);
        b = { tokens: opts.limit, at: t };
        buckets.set(key, b);
      } else {
        b.tokens = Math.min(opts.limit, b.tokens + (t - b.at) * perMs);
        b.at = t;
      }
      const allowed = b.tokens >= cost;
      if (allowed) b.tokens -= cost;
      const missing = opts.limit - b.tokens;
      return {
        allowed,
        limit: opts.limit,
        remaining: Math.max(0, Math.floor(b.tokens)),
        resetMs: Math.ceil(missing / perMs),
        retryAfterMs: allowed ? 0 : Math.ceil((cost - b.tokens) / perMs),
      };
    },
  };
}
