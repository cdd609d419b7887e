import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { Histogram, type Registry } from 'prom-client';
import type { Logger } from '../../logging/logger.js';
import { metricOnce } from './metric.js';
import { principalKey, type Principal } from '../auth/principal.js';

const INCOMING_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Per-request state every middleware shares.
 *
 * @example
 * const id = (ctx.state as ApiState).requestId;
 */
export interface ApiState {
  requestId: string;
  principal?: Principal;
  /** Route template (`/api/v1/guilds/:guildId`), set once a route matched; metric label and log field. */
  route?: string;
}

/**
 * Outermost middleware: request id (`X-Request-Id` taken from the client when well-formed, else a new
 * UUID; echoed in the response), baseline security headers, one pino access-log line per request (path
 * without query string, so OAuth codes and cursors never reach the log; never headers), and the request
 * duration histogram (labelled by route template, never by ids).
 *
 * @example
 * app.use(requestContext(log.child({ module: 'http' }), registry));
 */
export function requestContext(log: Logger, registry: Registry): Middleware<ApiState> {
  const duration = metricOnce(
    registry,
    'guildhall_http_request_duration_seconds',
    () =>
      new Histogram({
        name: 'guildhall_http_request_duration_seconds',
        help: 'Admin/internal API request duration by method, route template and status.',
        labelNames: ['method', 'route', 'status'],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [registry],
      }),
  );
  return async (ctx, next) => {
    const started = performance.now();
    const incoming = ctx.get('X-Request-Id');
    const requestId = incoming && INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    try {
      await next();
    } finally {
      const ms = performance.now() - started;
      const route = ctx.state.route ?? 'unmatched';
      duration.observe({ method: ctx.method, route, status: String(ctx.status) }, ms / 1000);
      const p = ctx.state.principal;
      log.info(
        {
          requestId,
          method: ctx.method,
          path: ctx.path,
          route,
          status: ctx.status,
          ms: Math.round(ms * 100) / 100,
          ...(p ? { principal: principalKey(p) } : {}),
        },
        'request',
      );
    }
  };
}
