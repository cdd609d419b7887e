/**
 * Discord's HTTP rate limits: per-route buckets keyed by bucket + major parameter with the real headers,
 * a global per-bot limit (interaction endpoints excluded), per-resource ("shared") limits such as channel
 * name/topic edits, and the invalid-request counter (401/403/non-shared 429 per 10 minutes) that ends in
 * a temporary Cloudflare ban.
 */
import { createHash } from 'node:crypto';

/** One limit: `limit` requests per `windowMs`. */
export interface Limit {
  readonly limit: number;
  readonly windowMs: number;
}

/** Options of {@link RateLimiter}; defaults in {@link RATE_LIMIT_DEFAULTS}. */
export interface RateLimitOptions {
  /** Turns all limiting off (headers are still sent). */
  enabled?: boolean;
  /** Requests per second per bot (Discord: 50). */
  globalPerSecond?: number;
  /** Limit of routes without an entry in `routes`. */
  defaultRoute?: Limit;
  /** Limits by bucket name (e.g. `POST /channels/:channel_id/messages`). */
  routes?: Record<string, Limit>;
  /** Channel name/topic edits per channel (Discord: 2 per 10 min). */
  channelRename?: Limit;
  /** Invalid requests (401/403/non-shared 429) allowed per window before a ban (Discord: 10,000 / 10 min). */
  invalidRequests?: Limit;
  /** How long the Cloudflare ban lasts; 0 = record the violation but never ban. */
  banMs?: number;
}

/**
 * Discord-like defaults (observed production limits; Discord changes them without notice).
 *
 * @example
 * new RateLimiter({ ...RATE_LIMIT_DEFAULTS, globalPerSecond: 10 });
 */
export const RATE_LIMIT_DEFAULTS = {
  enabled: true,
  globalPerSecond: 50,
  defaultRoute: { limit: 50, windowMs: 1000 },
  routes: {
    'POST /channels/:channel_id/messages': { limit: 5, windowMs: 5000 },
    'PATCH /channels/:channel_id/messages/:message_id': { limit: 5, windowMs: 5000 },
    'DELETE /channels/:channel_id/messages/:message_id': { limit: 5, windowMs: 1000 },
    'POST /channels/:channel_id/messages/bulk-delete': { limit: 1, windowMs: 1000 },
    'reactions /channels/:channel_id/messages/:message_id/reactions': { limit: 1, windowMs: 250 },
    'PATCH /channels/:channel_id': { limit: 10, windowMs: 15_000 },
    'PATCH /guilds/:guild_id/members/:user_id': { limit: 10, windowMs: 10_000 },
    'PUT /guilds/:guild_id/bans/:user_id': { limit: 5, windowMs: 5000 },
    'DELETE /guilds/:guild_id/members/:user_id': { limit: 5, windowMs: 5000 },
    'POST /users/@me/channels': { limit: 5, windowMs: 5000 },
    'PUT /applications/:application_id/commands': { limit: 2, windowMs: 60_000 },
    'PUT /applications/:application_id/guilds/:guild_id/commands': { limit: 2, windowMs: 60_000 },
    'POST /interactions/:interaction_id/:interaction_token/callback': { limit: 5, windowMs: 5000 },
    'webhooks /webhooks/:webhook_id/:webhook_token': { limit: 5, windowMs: 2000 },
  },
  channelRename: { limit: 2, windowMs: 600_000 },
  invalidRequests: { limit: 10_000, windowMs: 600_000 },
  banMs: 3_600_000,
} as const satisfies Required<RateLimitOptions>;

/** A 429 decision. */
export interface RateLimitHit {
  readonly scope: 'user' | 'global' | 'shared';
  /** Seconds, float. */
  readonly retryAfter: number;
  readonly headers: Record<string, string>;
}

/** The outcome of {@link RateLimiter.take}: headers to send, and a 429 when limited. */
export interface RateLimitDecision {
  readonly headers: Record<string, string>;
  readonly limited: RateLimitHit | null;
}

interface Window {
  remaining: number;
  resetAt: number;
  readonly limit: number;
}

/**
 * A stable bucket hash for a bucket name, shaped like Discord's.
 *
 * @example
 * bucketHash('POST /channels/:channel_id/messages'); // 32 hex chars
 */
export function bucketHash(bucket: string): string {
  return createHash('md5').update(bucket).digest('hex');
}

/**
 * Enforces the limits for one bot.
 *
 * @example
 * const rl = new RateLimiter({ routes: { 'POST /channels/:channel_id/messages': { limit: 5, windowMs: 5000 } } });
 * const d = rl.take('POST /channels/:channel_id/messages', channelId, true);
 * if (d.limited) reply429(d.limited);
 */
export class RateLimiter {
  readonly options: Required<RateLimitOptions>;
  private readonly windows = new Map<string, Window>();
  private readonly renames = new Map<string, number[]>();
  private global: Window;
  private invalid: Window;
  private bannedUntil = 0;
  private invalidReported = false;

  constructor(
    options: RateLimitOptions = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.options = {
      ...RATE_LIMIT_DEFAULTS,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
      routes: { ...RATE_LIMIT_DEFAULTS.routes, ...(options.routes ?? {}) },
    } as Required<RateLimitOptions>;
    this.global = {
      remaining: this.options.globalPerSecond,
      resetAt: 0,
      limit: this.options.globalPerSecond,
    };
    this.invalid = {
      remaining: this.options.invalidRequests.limit,
      resetAt: 0,
      limit: this.options.invalidRequests.limit,
    };
  }

  /** The limit of a bucket. */
  limitOf(bucket: string): Limit {
    return this.options.routes[bucket] ?? this.options.defaultRoute;
  }

  /**
   * Consumes one request of the global limit (when `countsGlobal`) and of bucket `bucket` for `major`.
   */
  take(bucket: string, major: string, countsGlobal: boolean): RateLimitDecision {
    const now = this.clock();
    const limit = this.limitOf(bucket);
    const hash = bucketHash(bucket);
    const key = `${bucket}\u0000${major}`;
    let w = this.windows.get(key);
    if (!w || now >= w.resetAt) {
      w = { remaining: limit.limit, resetAt: now + limit.windowMs, limit: limit.limit };
      this.windows.set(key, w);
      if (this.windows.size > 50_000) this.sweep(now);
    }
    if (this.options.enabled && countsGlobal) {
      if (now >= this.global.resetAt) {
        this.global = {
          remaining: this.options.globalPerSecond,
          resetAt: now + 1000,
          limit: this.options.globalPerSecond,
        };
      }
      if (this.global.remaining <= 0) {
        const retryAfter = (this.global.resetAt - now) / 1000;
        return {
          headers: {},
          limited: {
            scope: 'global',
            retryAfter,
            headers: {
              'Retry-After': String(Math.max(1, Math.ceil(retryAfter))),
              'X-RateLimit-Global': 'true',
              'X-RateLimit-Scope': 'global',
            },
          },
        };
      }
      this.global.remaining -= 1;
    }
    const headersFor = (win: Window): Record<string, string> => ({
      'X-RateLimit-Limit': String(win.limit),
      'X-RateLimit-Remaining': String(Math.max(0, win.remaining)),
      'X-RateLimit-Reset': (win.resetAt / 1000).toFixed(3),
      'X-RateLimit-Reset-After': (Math.max(0, win.resetAt - now) / 1000).toFixed(3),
      'X-RateLimit-Bucket': hash,
    });
    if (this.options.enabled && w.remaining <= 0) {
      const retryAfter = (w.resetAt - now) / 1000;
      return {
        headers: headersFor(w),
        limited: {
          scope: 'user',
          retryAfter,
          headers: {
            ...headersFor(w),
            'Retry-After': String(Math.max(1, Math.ceil(retryAfter))),
            'X-RateLimit-Scope': 'user',
          },
        },
      };
    }
    w.remaining -= 1;
    return { headers: headersFor(w), limited: null };
  }

  /**
   * Per-channel name/topic edit limit ("shared": per resource, whoever edits). Returns a 429 decision with
   * the route's normal headers (which still show remaining requests, as Discord's do), or null.
   */
  takeRename(channelId: string, routeHeaders: Record<string, string>): RateLimitHit | null {
    if (!this.options.enabled) return null;
    const now = this.clock();
    const { limit, windowMs } = this.options.channelRename;
    const stamps = (this.renames.get(channelId) ?? []).filter((t) => now - t < windowMs);
    if (stamps.length >= limit) {
      const retryAfter = ((stamps[0] as number) + windowMs - now) / 1000;
      this.renames.set(channelId, stamps);
      return {
        scope: 'shared',
        retryAfter,
        headers: {
          ...routeHeaders,
          'Retry-After': String(Math.max(1, Math.ceil(retryAfter))),
          'X-RateLimit-Scope': 'shared',
        },
      };
    }
    stamps.push(now);
    this.renames.set(channelId, stamps);
    return null;
  }

  /**
   * Counts an invalid request (401, 403, non-shared 429). Returns true exactly once per window, when the
   * count passes the limit (the caller records the violation and the ban starts).
   */
  countInvalid(): boolean {
    const now = this.clock();
    if (now >= this.invalid.resetAt) {
      this.invalid = {
        remaining: this.options.invalidRequests.limit,
        resetAt: now + this.options.invalidRequests.windowMs,
        limit: this.options.invalidRequests.limit,
      };
      this.invalidReported = false;
    }
    this.invalid.remaining -= 1;
    if (this.invalid.remaining < 0 && !this.invalidReported) {
      this.invalidReported = true;
      if (this.options.banMs > 0) this.bannedUntil = now + this.options.banMs;
      return true;
    }
    return false;
  }

  /** Invalid requests counted in the current window. */
  invalidCount(): number {
    return this.clock() >= this.invalid.resetAt ? 0 : this.invalid.limit - this.invalid.remaining;
  }

  /** Whether the (simulated) Cloudflare ban is in force. */
  banned(): boolean {
    return this.clock() < this.bannedUntil;
  }

  /** Forgets every bucket, the invalid counter and any ban (scenario API / tests). */
  reset(): void {
    this.windows.clear();
    this.renames.clear();
    this.global = {
      remaining: this.options.globalPerSecond,
      resetAt: 0,
      limit: this.options.globalPerSecond,
    };
    this.invalid = {
      remaining: this.options.invalidRequests.limit,
      resetAt: 0,
      limit: this.options.invalidRequests.limit,
    };
    this.bannedUntil = 0;
    this.invalidReported = false;
  }

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (now >= w.resetAt) this.windows.delete(k);
  }
}
