import { randomUUID } from 'node:crypto';
import type { Middleware, ParameterizedContext } from 'koa';
import type { Registry } from 'prom-client';
import { FastHistogram } from './fast-histogram.js';
import type { Logger } from '../../logging/logger.js';
import { metricOnce } from './metric.js';
import { principalKey, type Principal } from '../auth/principal.js';

const INCOMING_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const SLOW_MS = 1000;

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
 * The per-request bookkeeping of the request context: `begin` assigns the request id (`X-Request-Id` taken
 * from the client when well-formed, else a new UUID; returned when the client sent it, on writes and on
 * every error) and sets
 * `X-Content-Type-Options: nosniff`; `end` observes the duration histogram (labelled by route template,
 * never by ids) for every request and writes the pino access-log line — for every request, or with
 * `accessLog: 'errors'` only for failures, writes and slow requests. The line holds the path without
 * query string (OAuth codes and cursors never reach the log) and never headers.
 *
 * @example
 * const rec = accessRecorder(log, registry, 'all');
 * const started = rec.begin(ctx); try { await next(); } finally { rec.end(ctx, started); }
 */
export function accessRecorder(
  parent: Logger,
  registry: Registry,
  accessLog: 'all' | 'errors' | 'off' = 'all',
): {
  begin(ctx: ParameterizedContext<ApiState>): number;
  end(ctx: ParameterizedContext<ApiState>, started: number): void;
} {
  // Access-log lines hold only the fields below (never headers, bodies or query strings), so this child
  // skips the root logger's redaction pass, which would otherwise cost more than the rest of the line.
  const log = parent.child({}, { redact: [] });
  const duration = metricOnce(
    registry,
    'guildhall_http_request_duration_seconds',
    () =>
      new FastHistogram({
        name: 'guildhall_http_request_duration_seconds',
        help: 'Admin/internal API request duration by method, route template and status.',
        labelNames: ['method', 'route', 'status'],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registry,
      }) as never,
  ) as unknown as FastHistogram;
  // Label sets repeat (method × route × status): resolve each once.
  const children = new Map<string, ReturnType<FastHistogram['series']>>();
  const child = (method: string, route: string, status: number) => {
    const key = `${method} ${status} ${route}`;
    let c = children.get(key);
    if (!c) {
      if (children.size > 5000) children.clear();
      c = duration.series({ method, route, status: String(status) });
      children.set(key, c);
    }
    return c;
  };
  return {
    begin(ctx) {
      const incoming = header(ctx, 'x-request-id');
      const echo = incoming !== '' && INCOMING_ID.test(incoming);
      const requestId = echo ? incoming : randomUUID();
      ctx.state.requestId = requestId;
      // Sent back when the client chose it, on writes (their audit rows carry it) and on every problem
      // response (see writeProblem); a successful read has nothing recorded under it.
      if (echo || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) ctx.set('X-Request-Id', requestId);
      ctx.set('X-Content-Type-Options', 'nosniff');
      return performance.now();
    },
    end(ctx, started) {
      const ms = performance.now() - started;
      const route = ctx.state.route ?? 'unmatched';
      const status = ctx.status;
      const method = ctx.method;
      child(method, route, status).observe(ms / 1000);
      if (accessLog === 'off') return;
      if (accessLog === 'errors' && status < 400 && ms < SLOW_MS && (method === 'GET' || method === 'HEAD'))
        return;
      const p = ctx.state.principal;
      log.info(
        {
          requestId: ctx.state.requestId,
          method,
          path: ctx.path,
          route,
          status,
          ms: Math.round(ms * 100) / 100,
          ...(p ? { principal: principalKey(p) } : {}),
        },
        'request',
      );
    },
  };
}

/**
 * Request context as a standalone middleware (see {@link accessRecorder}); the API app runs the same
 * bookkeeping inside its edge middleware.
 *
 * @example
 * app.use(requestContext(log.child({ module: 'http' }), registry));
 */
export function requestContext(
  parent: Logger,
  registry: Registry,
  accessLog: 'all' | 'errors' | 'off' = 'all',
): Middleware<ApiState> {
  const rec = accessRecorder(parent, registry, accessLog);
  return async (ctx, next) => {
    const started = rec.begin(ctx);
    try {
      await next();
    } finally {
      rec.end(ctx, started);
    }
  };
}

/**
 * A request header by its lower-case name, straight from Node's header map (koa's `ctx.get` lower-cases
 * the name and goes through two delegating getters on every call).
 *
 * @example
 * header(ctx, 'if-none-match'); // '' when absent
 */
export function header(
  ctx: { req: { headers: Record<string, string | string[] | undefined> } },
  name: string,
): string {
  const v = ctx.req.headers[name];
  return typeof v === 'string' ? v : v === undefined ? '' : v.join(', ');
}
