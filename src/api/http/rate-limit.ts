import type { Middleware, Next, ParameterizedContext } from 'koa';
import { Counter, type Registry } from 'prom-client';
import { AppError } from '../../errors/app-error.js';
import { principalKey } from '../auth/principal.js';
import type { RateDecision, RateLimiter } from '../ports/rate-limiter.js';
import { metricOnce } from './metric.js';
import type { ApiState } from './request-context.js';

/**
 * Per-principal rate limiting on `/api/*`: the key is the authenticated principal, or the client address
 * for anonymous calls. Service tokens (shard pods on /internal) are not limited here. Once half the
 * budget is used, responses carry `RateLimit-Limit/Remaining/Reset`; over the limit → `429 rate_limited`
 * with `Retry-After`.
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
  const apply = (ctx: ParameterizedContext<ApiState>, next: Next, d: RateDecision) => {
    // The headers are sent once half the budget is used (and on every 429): far from the limit they are
    // noise on every response.
    if (!d.allowed || d.remaining === undefined || d.remaining < d.limit / 2) {
      ctx.set('RateLimit-Limit', String(d.limit));
      if (d.remaining !== undefined) ctx.set('RateLimit-Remaining', String(d.remaining));
      if (d.resetMs !== undefined) ctx.set('RateLimit-Reset', String(Math.ceil(d.resetMs / 1000)));
    }
    if (!d.allowed) {
      limited.inc({ principal_kind: ctx.state.principal?.kind ?? 'anonymous' });
      const retryAfterSeconds = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
      throw new AppError(429, 'rate_limited', 'Too many requests; slow down', { retryAfterSeconds });
    }
    return next();
  };
  return (ctx, next) => {
    const p = ctx.state.principal;
    if (p?.kind === 'service' || !ctx.path.startsWith('/api/')) return next();
    const d = limiter.consume(p ? principalKey(p) : `ip:${ctx.ip}`);
    // A synchronous limiter (memory) costs no extra promise on the hot path.
    return d instanceof Promise ? d.then((x) => apply(ctx, next, x)) : apply(ctx, next, d);
  };
}
