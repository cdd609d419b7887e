import type { Middleware } from 'koa';
import type { ApiDeps } from '../deps.js';
import { type ApiState, header } from '../http/request-context.js';
import { authenticateApiKey, looksLikeApiKey } from './api-keys.js';
import { unauthorized } from './keys.js';

/**
 * Resolves the caller on `/api/*` and `/internal/*` from `Authorization: Bearer <jwt | API key>` or
 * `X-API-Key`, and stores it as `ctx.state.principal`. No credentials → anonymous (routes decide).
 * Presented-but-bad credentials → `401` with a distinct code, on every route. On `/internal/*` only
 * service tokens (audience `internal`) are accepted; on `/api/*` only admin tokens and API keys.
 *
 * @example
 * app.use(authenticate(deps));
 */
export function authenticate(deps: ApiDeps): Middleware<ApiState> {
  const slow = async (
    ctx: Parameters<Middleware<ApiState>>[0],
    next: () => Promise<unknown>,
    token: string,
    internal: boolean,
  ) => {
    ctx.state.principal = internal ? await deps.tokens.service(token) : await deps.tokens.user(token);
    return next();
  };
  return (ctx, next) => {
    const path = ctx.path;
    const internal = path.startsWith('/internal/');
    if (!internal && !path.startsWith('/api/')) return next();
    const authorization = header(ctx, 'authorization');
    const apiKey = header(ctx, 'x-api-key');
    let credential: string | undefined;
    if (apiKey !== '') credential = apiKey;
    else if (authorization !== '') credential = bearerToken(authorization);
    if (credential === undefined) return next();
    if (credential.length > 4096) throw unauthorized('token_malformed', 'The credential is too long');
    if (looksLikeApiKey(credential)) {
      if (internal) throw unauthorized('api_key_not_allowed', 'API keys cannot call the internal API');
      ctx.state.principal = authenticateApiKey(deps.db, credential, deps.now());
      return next();
    }
    if (apiKey !== '') throw unauthorized('api_key_invalid', 'The API key is not valid');
    // Tokens seen before resolve synchronously; only a first sighting verifies the signature.
    const known = internal ? deps.tokens.cachedService(credential) : deps.tokens.cachedUser(credential);
    if (known) {
      ctx.state.principal = known;
      return next();
    }
    return slow(ctx, next, credential, internal);
  };
}

/** The token of `Bearer <token>` (scheme case-insensitive, one token, no whitespace inside); 401 otherwise. */
function bearerToken(value: string): string {
  if (
    value.startsWith('Bearer ') &&
    value.indexOf(' ', 7) === -1 &&
    value.indexOf('\t') === -1 &&
    value.length > 7
  ) {
    return value.slice(7);
  }
  if (value.length > 7 && value.slice(0, 7).toLowerCase() === 'bearer ') {
    const token = value.slice(7).trimStart();
    if (token !== '' && !/\s/.test(token)) return token;
  }
  throw unauthorized('unsupported_auth_scheme', 'Use Authorization: Bearer <token>');
}
