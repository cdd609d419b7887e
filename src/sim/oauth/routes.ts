/**
 * OAuth2 token endpoints under the API prefix: `POST /oauth2/token` (authorization_code, refresh_token,
 * client_credentials; form-encoded only; client auth by HTTP Basic or body) and `POST /oauth2/token/revoke`.
 * Errors follow RFC 6749 (`{ error, error_description }`), as Discord's do.
 */
import type { RestContext, RestReply, RouteDef } from '../rest/router.js';
import { KNOWN_SCOPES, type AccessGrant } from './store.js';

function oauthError(status: number, error: string, description?: string): RestReply {
  return { status, body: { error, ...(description ? { error_description: description } : {}) } };
}

/** Client credentials from `Authorization: Basic` or the form body; null when missing or wrong. */
function clientAuth(ctx: RestContext, form: Record<string, string>): boolean {
  const app = ctx.deps.world.app;
  const header = ctx.req.headers.authorization ?? '';
  let id = form.client_id;
  let secret = form.client_secret;
  if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i >= 0) {
      id = decodeURIComponent(decoded.slice(0, i));
      secret = decodeURIComponent(decoded.slice(i + 1));
    }
  }
  return id === app.id && secret === app.clientSecret;
}

function tokenResponse(g: AccessGrant, ttlSeconds: number): RestReply {
  return {
    body: {
      access_token: g.accessToken,
      token_type: 'Bearer',
      expires_in: ttlSeconds,
      ...(g.refreshToken ? { refresh_token: g.refreshToken } : {}),
      scope: g.scopes.join(' '),
    },
    headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' },
  };
}

function formOf(ctx: RestContext): Record<string, string> | null {
  const ct = (ctx.req.headers['content-type'] ?? '').toLowerCase();
  if (!ct.startsWith('application/x-www-form-urlencoded')) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((ctx.body ?? {}) as Record<string, unknown>))
    if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Routes of this group.
 *
 * @example
 * new Router([...allRoutes(() => limiter), ...oauthRoutes()]);
 */
export function oauthRoutes(): RouteDef[] {
  return [
    {
      method: 'POST',
      path: '/oauth2/token',
      auth: 'none',
      handler: (ctx) => {
        const form = formOf(ctx);
        if (!form) return oauthError(400, 'unsupported_grant_type', 'Invalid "grant_type" in request.');
        const oauth = ctx.deps.oauth;
        const grantType = form.grant_type;
        if (
          grantType !== 'authorization_code' &&
          grantType !== 'refresh_token' &&
          grantType !== 'client_credentials'
        ) {
          return oauthError(400, 'unsupported_grant_type', 'Invalid "grant_type" in request.');
        }
        const pkcePublic =
          grantType === 'authorization_code' &&
          form.code_verifier !== undefined &&
          form.client_secret === undefined &&
          !(ctx.req.headers.authorization ?? '').startsWith('Basic ');
        if (!pkcePublic && !clientAuth(ctx, form)) return oauthError(401, 'invalid_client');
        if (pkcePublic && form.client_id !== ctx.deps.world.app.id) return oauthError(401, 'invalid_client');
        const ttl = Math.round(604_800);
        if (grantType === 'authorization_code') {
          if (!form.code) return oauthError(400, 'invalid_request', 'Missing "code" in request.');
          const g = oauth.redeemCode(form.code, form.redirect_uri, form.code_verifier);
          if (g === 'invalid_grant') return oauthError(400, 'invalid_grant', 'Invalid "code" in request.');
          return tokenResponse(g, Math.round((g.expiresAt - ctx.deps.world.clock()) / 1000) || ttl);
        }
        if (grantType === 'refresh_token') {
          if (!form.refresh_token)
            return oauthError(400, 'invalid_request', 'Missing "refresh_token" in request.');
          const g = oauth.redeemRefresh(form.refresh_token);
          if (g === 'invalid_grant')
            return oauthError(400, 'invalid_grant', 'Invalid "refresh_token" in request.');
          return tokenResponse(g, Math.round((g.expiresAt - ctx.deps.world.clock()) / 1000) || ttl);
        }
        const scopes = (form.scope ?? '').split(/[\s+]+/).filter(Boolean);
        if (scopes.length === 0 || scopes.some((s) => !KNOWN_SCOPES.has(s) || s === 'bot'))
          return oauthError(400, 'invalid_scope', 'The requested scope is invalid, unknown, or malformed.');
        const g = oauth.clientCredentials(scopes);
        return tokenResponse(g, Math.round((g.expiresAt - ctx.deps.world.clock()) / 1000) || ttl);
      },
    },
    {
      method: 'POST',
      path: '/oauth2/token/revoke',
      auth: 'none',
      handler: (ctx) => {
        const form = formOf(ctx);
        if (!form)
          return oauthError(
            400,
            'invalid_request',
            'Content-Type must be application/x-www-form-urlencoded.',
          );
        if (!clientAuth(ctx, form)) return oauthError(401, 'invalid_client');
        if (!form.token) return oauthError(400, 'invalid_request', 'Missing "token" in request.');
        ctx.deps.oauth.revoke(form.token);
        return { status: 200, body: {} };
      },
    },
  ];
}
