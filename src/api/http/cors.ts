import type { Middleware } from 'koa';
import { AppError } from '../../errors/app-error.js';
import { header } from './request-context.js';

const ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
const ALLOW_HEADERS = 'Authorization, Content-Type, If-None-Match, X-Request-Id, X-API-Key';
const EXPOSE_HEADERS =
  'X-Request-Id, ETag, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset';

/**
 * CORS for an allowlist of exact origins (config `CORS_ORIGINS`). Allowed origins get credentialed CORS
 * headers; a preflight from any other origin is refused with `403 cors_origin_denied`; other requests
 * from unknown origins are served without CORS headers (the browser then hides the response).
 *
 * @example
 * app.use(cors(['https://admin.example.org']));
 */
export function cors(allowlist: readonly string[]): Middleware {
  const allowed = new Set(allowlist);
  return (ctx, next) => {
    const origin = header(ctx, 'origin');
    if (!origin) return next();
    ctx.vary('Origin');
    const ok = allowed.has(origin);
    const preflight = ctx.method === 'OPTIONS' && ctx.get('Access-Control-Request-Method') !== '';
    if (preflight) {
      if (!ok) throw new AppError(403, 'cors_origin_denied', 'This origin may not call the API');
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Access-Control-Allow-Credentials', 'true');
      ctx.set('Access-Control-Allow-Methods', ALLOW_METHODS);
      ctx.set('Access-Control-Allow-Headers', ALLOW_HEADERS);
      ctx.set('Access-Control-Max-Age', '600');
      ctx.status = 204;
      return;
    }
    if (ok) {
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Access-Control-Allow-Credentials', 'true');
      ctx.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    }
    return next();
  };
}
