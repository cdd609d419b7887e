import type { Middleware } from 'koa';
import { Counter, type Registry } from 'prom-client';
import { AppError } from '../../errors/app-error.js';
import { principalKey } from '../auth/principal.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import { metricOnce } from './metric.js';
import type { ApiState } from './request-context.js';

/**
 * Per-principal rate limiting on `/api/*`: the key is the authenticated principal, or the client address
 * for anonymous calls. Service tokens (shard pods on /internal) are not limited here. Every response
 * carries `RateLimit-Limit/Remaining/Reset`; over the limit → `429 rate_limited` with `Retry-After`.
 *
 * @example
 * app.use(rateLimit(memoryRateLimiter({ limit: 600 }), registry));
 */
export function rateLimit(limiter: RateLimiter, registry: Registry): Middleware<ApiState> {
  const limited = metricOnce(
    registry,
    'guildhall_api_rate_limited_total',
    () =>
      new Counter({
        name: 'guildhall_api_rate_limited_total',
        help: 'Requests refused with 429 by the per-principal rate limit.',
        labelNames: ['principal_kind'],
        registers: [registry],
      }),
  );
  return async (ctx, next) => {
    const p = ctx.state.principal;
    if (p?.kind === 'service' || !ctx.path.startsWith('/api/')) return next();
    const key = p ? principalKey(p) : `ip:${ctx.ip}`;
    const d = await limiter.consume(key);
    ctx.set('RateLimit-Limit', String(d.limit));
    if (d.remaining !== undefined) ctx.set('RateLimit-Remaining', String(d.remaining));
    if (d.resetMs !== undefined) ctx.set('RateLimit-Reset', String(Math.ceil(d.resetMs / 1000)));
    if (!d.allowed) {
      limited.inc({ principal_kind: p?.kind ?? 'anonymous' });
      const retryAfterSeconds = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
      throw new AppError(429, 'rate_limited', 'Too many requests; slow down', { retryAfterSeconds });
    }
    return next();
  };
}
