import type { Context, Middleware } from 'koa';
import { AppError, isAppError } from '../../errors/app-error.js';
import type { Logger } from '../../logging/logger.js';

/**
 * Problem responses use this media type (RFC 9457).
 *
 * @example
 * ctx.type = PROBLEM_JSON;
 */
export const PROBLEM_JSON = 'application/problem+json';

const STATUS_CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  411: 'length_required',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
  422: 'unprocessable_entity',
  429: 'rate_limited',
};

/**
 * Normalizes anything thrown into an {@link AppError}: AppErrors pass through; client errors raised by koa
 * or a library (`status` 4xx with `expose`) keep their status under a stable code; everything else is a
 * generic `500 internal_error` whose message never reaches the client.
 *
 * @example
 * const appErr = toAppError(err);
 */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const e = err as { status?: unknown; statusCode?: unknown; expose?: unknown; message?: unknown } | null;
  const status =
    typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500 && e?.expose !== false) {
    const code = STATUS_CODES[status] ?? 'bad_request';
    return new AppError(
      status,
      code,
      typeof e?.message === 'string' ? e.message.slice(0, 200) : code,
      undefined,
      {
        cause: err,
      },
    );
  }
  return new AppError(500, 'internal_error', 'Internal server error', undefined, { cause: err });
}

/**
 * The one error middleware, mounted first inside the request context: every error becomes an
 * `application/problem+json` body with a stable `code` and the request id. Unknown errors are logged with
 * the request id (stack included, in the log only) and answered with a generic 500.
 *
 * @example
 * app.use(errorMiddleware(log));
 */
export function errorMiddleware(log: Logger, configSecrets: readonly string[] = []): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      writeProblem(ctx, err, log, configSecrets);
    }
  };
}

/**
 * Answers with the problem document of `err` (see {@link errorMiddleware}): status, stable code, request
 * id, the matching headers (`WWW-Authenticate`, `Allow`, `Retry-After`); 5xx are logged, scrubbed.
 *
 * @example
 * try { await next(); } catch (err) { writeProblem(ctx, err, log, secrets); }
 */
export function writeProblem(
  ctx: Context,
  err: unknown,
  log: Logger,
  configSecrets: readonly string[],
): void {
  const appErr = toAppError(err);
  const requestId = (ctx.state as { requestId?: string }).requestId;
  if (appErr.status >= 500) {
    const secrets = [...configSecrets, ...requestCredentials(ctx)];
    log.error(
      { err: scrubError(isAppError(err) ? appErr : err, secrets), requestId, path: ctx.path },
      'request failed',
    );
  } else {
    log.debug({ code: appErr.code, status: appErr.status, requestId }, 'request refused');
  }
  if (ctx.headerSent || !ctx.writable) return;
  const problem = { ...appErr.toProblem(ctx.path), ...(requestId ? { requestId } : {}) };
  if (requestId) ctx.set('X-Request-Id', requestId);
  ctx.status = appErr.status;
  ctx.type = PROBLEM_JSON;
  ctx.body = JSON.stringify(problem);
  ctx.remove('ETag');
  ctx.set('Cache-Control', 'no-store');
  if (appErr.status === 401) {
    ctx.set('WWW-Authenticate', `Bearer error="invalid_token", error_description="${appErr.code}"`);
  }
  const details = appErr.details as { allow?: unknown; retryAfterSeconds?: unknown } | undefined;
  if (appErr.status === 405 && Array.isArray(details?.allow)) ctx.set('Allow', details.allow.join(', '));
  if (appErr.status === 429 && typeof details?.retryAfterSeconds === 'number') {
    ctx.set('Retry-After', String(details.retryAfterSeconds));
  }
  if (appErr.status === 413) ctx.set('Connection', 'close');
}

/**
 * Placed after the router: turns "nothing matched" into `404 route_not_found`, a path that exists with
 * another method into `405 method_not_allowed` (with `Allow`), and unknown methods likewise into 405.
 *
 * @example
 * app.use(router.routes()).use(router.allowedMethods()).use(notFoundMiddleware());
 */
export function notFoundMiddleware(): Middleware {
  return async (ctx, next) => {
    await next();
    throwIfUnmatched(ctx);
  };
}

/**
 * After routing: throws `404 route_not_found` / `405 method_not_allowed` when no route answered.
 *
 * @example
 * await next(); throwIfUnmatched(ctx);
 */
export function throwIfUnmatched(ctx: Context): void {
  if (ctx.body !== undefined && ctx.body !== null) return;
  if (ctx.status === 405 || ctx.status === 501) {
    const allow = (ctx.response.get('Allow') || '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    throw new AppError(405, 'method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`, { allow });
  }
  if (ctx.status === 404)
    throw new AppError(404, 'route_not_found', `No route for ${ctx.method} ${ctx.path}`);
}

/** The credentials a request carried (bearer token, API key, cookie values), to scrub from error logs. */
function requestCredentials(ctx: Context): string[] {
  const out: string[] = [];
  const auth = ctx.get('Authorization');
  if (auth) out.push(auth.replace(/^\S+\s+/, ''));
  const key = ctx.get('X-API-Key');
  if (key) out.push(key);
  for (const part of ctx.get('Cookie').split(';')) {
    const value = part.split('=').slice(1).join('=').trim();
    if (value) out.push(value);
  }
  return out;
}

/**
 * A loggable copy of an error with every known secret (config secrets, the request's credentials) replaced
 * by `[redacted]` in its message, stack and cause chain — a library that echoes a token into an error
 * message must not put it into the log.
 *
 * @example
 * log.error({ err: scrubError(err, [config.api.jwtSecret]) }, 'failed');
 */
export function scrubError(err: unknown, secrets: readonly string[]): unknown {
  const live = secrets.filter((s) => s.length >= 8);
  const scrub = (text: string) => live.reduce((t, s) => t.split(s).join('[redacted]'), text);
  const walk = (e: unknown, depth: number): unknown => {
    if (!(e instanceof Error) || depth > 3) return typeof e === 'string' ? scrub(e) : e;
    const copy: Record<string, unknown> = { type: e.name, message: scrub(e.message) };
    if (e.stack) copy.stack = scrub(e.stack);
    const code = (e as { code?: unknown }).code;
    if (code !== undefined) copy.code = code;
    if (e.cause !== undefined) copy.cause = walk(e.cause, depth + 1);
    return copy;
  };
  return walk(err, 0);
}
