/**
 * `GET /oauth2/authorize`: validates client_id, redirect_uri (exact, registered), response_type and
 * scopes like Discord, then — instead of a consent screen — auto-approves as the scenario's test user and
 * redirects back with `code` (or, for `response_type=token`, the implicit-grant fragment) and `state`.
 * Errors before the redirect URI is trusted are shown as a page (400); later ones go back to the client
 * as `error=` parameters (RFC 6749 §4.1.2.1).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RestDeps } from '../rest/router.js';
import { KNOWN_SCOPES } from './store.js';

function page(res: ServerResponse, status: number, message: string): void {
  const body = `<!doctype html><title>Discord (simulated)</title><h1>${status}</h1><p>${message.replace(/[<>&]/g, '')}</p>`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { Location: location, 'Content-Length': '0' });
  res.end();
}

/**
 * Builds the authorize handler.
 *
 * @example
 * const authorize = authorizeHandler(deps);
 * await authorize(req, res, new URL(req.url, base));
 */
export function authorizeHandler(
  deps: RestDeps,
): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  return async (req, res, url) => {
    req.resume();
    if (req.method !== 'GET' && req.method !== 'POST') return page(res, 405, 'Method Not Allowed');
    const q = url.searchParams;
    const app = deps.world.app;
    const clientId = q.get('client_id');
    if (clientId !== app.id) return page(res, 400, 'Unknown Application');
    const redirectUri =
      q.get('redirect_uri') ??
      (deps.oauth.redirectUris.size === 1 ? [...deps.oauth.redirectUris][0] : undefined);
    if (!redirectUri || !deps.oauth.redirectUris.has(redirectUri))
      return page(res, 400, 'Invalid OAuth2 redirect_uri');
    const state = q.get('state');
    const back = (params: Record<string, string>, fragment = false): void => {
      const target = new URL(redirectUri);
      const all = { ...params, ...(state !== null ? { state } : {}) };
      if (fragment) target.hash = new URLSearchParams(all).toString();
      else for (const [k, v] of Object.entries(all)) target.searchParams.set(k, v);
      redirect(res, target.toString());
    };
    const responseType = q.get('response_type') ?? 'code';
    if (responseType !== 'code' && responseType !== 'token')
      return back({ error: 'unsupported_response_type', error_description: 'Unsupported response type' });
    const scopes = (q.get('scope') ?? '').split(/[\s+]+/).filter(Boolean);
    if (scopes.length === 0 || scopes.some((s) => !KNOWN_SCOPES.has(s))) {
      return back({
        error: 'invalid_scope',
        error_description: 'The requested scope is invalid, unknown, or malformed.',
      });
    }
    if (responseType === 'token' && scopes.includes('role_connections.write')) {
      return back({
        error: 'invalid_scope',
        error_description: 'role_connections.write cannot be used with the implicit grant.',
      });
    }
    const userId = deps.oauth.testUserId;
    if (!userId) return page(res, 401, 'No simulated user is logged in: set one with POST /__sim/oauth/user');
    const challenge = q.get('code_challenge');
    const method = q.get('code_challenge_method');
    if (challenge && method && method !== 'S256' && method !== 'plain')
      return back({ error: 'invalid_request', error_description: 'Invalid code_challenge_method' });
    if (responseType === 'token') {
      const g = deps.oauth.implicitGrant(userId, scopes);
      return back(
        {
          access_token: g.accessToken,
          token_type: 'Bearer',
          expires_in: String(Math.round((g.expiresAt - deps.world.clock()) / 1000)),
          scope: scopes.join(' '),
        },
        true,
      );
    }
    const code = deps.oauth.issueCode(userId, scopes, redirectUri, {
      challenge,
      method: challenge ? (method ?? 'plain') : null,
    });
    back({ code });
  };
}
