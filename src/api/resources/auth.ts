import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import { toUserDto } from '../../domain/platform-ops.js';
import { guildRoleSchema, snowflake, userSchema } from '../../domain/schemas.js';
import { authorizeBase, fetchDiscordIdentity, LOGIN_SCOPES, mapGuildRole } from '../auth/discord-oauth.js';
import { issueAccessToken } from '../auth/tokens.js';
import type { ApiDeps } from '../deps.js';
import { defineRoute } from '../http/route.js';

const STATE_COOKIE = 'gh_oauth_state';
const REFRESH_COOKIE = 'gh_refresh';
const AUTH_PATH = '/api/v1/auth';
const returnToSchema = z
  .string()
  .max(512)
  .regex(/^\/(?!\/)[^\s\\]*$/, 'a path on this site, starting with a single /');

/**
 * Access + refresh token pair.
 *
 * @example
 * tokenResponseSchema.parse(await res.json());
 */
export const tokenResponseSchema = z
  .strictObject({
    tokenType: z.literal('Bearer'),
    accessToken: z.string(),
    expiresIn: z.number().int().meta({ description: 'Access token lifetime in seconds' }),
    refreshToken: z
      .string()
      .meta({ description: 'Rotating: each use returns a new one; reuse revokes the login' }),
    refreshExpiresIn: z.number().int(),
    userId: snowflake,
  })
  .meta({ id: 'TokenResponse' });

const refreshBody = z
  .strictObject({ refreshToken: z.string().max(200).optional() })
  .optional()
  .meta({ description: 'Omit to use the refresh cookie set at login' });

function redirectUri(deps: ApiDeps, ctx: Context): string {
  const base = deps.config.api.publicUrl?.replace(/\/+$/, '') ?? `${ctx.protocol}://${ctx.host}`;
  return `${base}${AUTH_PATH}/callback`;
}

async function issueTokens(deps: ApiDeps, ctx: Context, userId: string, refreshToken: string) {
  const ttl = deps.config.api.accessTokenTtlSeconds;
  const accessToken = await issueAccessToken(deps.keys, { userId, ttlSeconds: ttl });
  const refreshTtl = deps.config.api.refreshTokenTtlSeconds;
  ctx.cookies.set(REFRESH_COOKIE, refreshToken, {
    httpOnly: true,
    sameSite: 'strict',
    path: AUTH_PATH,
    maxAge: refreshTtl * 1000,
    secure: ctx.secure,
    overwrite: true,
  });
  ctx.set('Cache-Control', 'no-store');
  return {
    tokenType: 'Bearer' as const,
    accessToken,
    expiresIn: ttl,
    refreshToken,
    refreshExpiresIn: refreshTtl,
    userId,
  };
}

function sameNonce(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Login (Discord OAuth2), callback, refresh, logout, me.
 *
 * @example
 * const routes = [...authRoutes];
 */
export const authRoutes = [
  defineRoute({
    id: 'auth.login',
    method: 'get',
    path: '/api/v1/auth/login',
    tag: 'auth',
    summary: 'Start Discord login: redirect to the OAuth2 authorize page',
    description:
      'Sets a short-lived HttpOnly cookie holding a nonce and sends a signed `state` bound to it (CSRF). `returnTo`: where the callback redirects after login (a path on this site); without it the callback answers with the tokens as JSON.',
    access: 'public',
    query: z.strictObject({ returnTo: returnToSchema.optional() }),
    raw: { status: 302, description: 'Redirect to Discord' },
    errors: { 503: 'Discord login is not configured (`oauth_not_configured`)' },
    handler: async ({ ctx, deps, query }) => {
      const clientId = deps.config.discord.applicationId;
      if (!clientId || !deps.config.discord.clientSecret) {
        throw new AppError(503, 'oauth_not_configured', 'Discord login is not configured');
      }
      const nonce = randomBytes(16).toString('base64url');
      const state = await deps.keys.sign(
        { sub: 'oauth-state', n: nonce, ...(query.returnTo ? { r: query.returnTo } : {}) },
        { audience: 'oauth-state', ttlSeconds: 600 },
      );
      ctx.cookies.set(STATE_COOKIE, nonce, {
        httpOnly: true,
        sameSite: 'lax',
        path: AUTH_PATH,
        maxAge: 600_000,
        secure: ctx.secure,
        overwrite: true,
      });
      const url = new URL(authorizeBase(deps.config));
      url.searchParams.set('client_id', clientId);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('scope', LOGIN_SCOPES.join(' '));
      url.searchParams.set('redirect_uri', redirectUri(deps, ctx));
      url.searchParams.set('state', state);
      ctx.set('Cache-Control', 'no-store');
      ctx.redirect(url.toString());
    },
  }),
  defineRoute({
    id: 'auth.callback',
    method: 'get',
    path: '/api/v1/auth/callback',
    tag: 'auth',
    summary: 'Discord OAuth2 callback: exchange the code, map guild permissions to roles, issue tokens',
    description:
      'Checks `state` (signature, expiry, and the nonce cookie), exchanges the code, reads users/@me and users/@me/guilds, maps each guild: owner → owner, ADMINISTRATOR or MANAGE_GUILD → admin, otherwise viewer when the bot is in the guild. Sets the refresh cookie; redirects to `returnTo` when the login asked for one, else returns the tokens.',
    access: 'public',
    query: z.strictObject({
      code: z.string().min(1).max(512).optional(),
      state: z.string().min(1).max(4096).optional(),
      error: z.string().max(200).optional(),
      error_description: z.string().max(1000).optional(),
      guild_id: z.string().max(20).optional(),
      permissions: z.string().max(40).optional(),
    }),
    raw: {
      status: 200,
      contentType: 'application/json',
      description: 'Tokens (or 302 to `returnTo`)',
      schema: tokenResponseSchema,
    },
    errors: { 502: 'Discord failed (`oauth_upstream_error`)', 503: 'Login not configured' },
    handler: async ({ ctx, deps, query }) => {
      if (query.error !== undefined)
        throw new AppError(400, 'oauth_denied', 'The Discord login was cancelled or refused');
      if (query.code === undefined || query.state === undefined) {
        throw new AppError(400, 'oauth_state_invalid', 'The callback needs `code` and `state`');
      }
      let claims: Awaited<ReturnType<typeof deps.keys.verify>>;
      try {
        claims = await deps.keys.verify(query.state, 'oauth-state');
      } catch {
        throw new AppError(400, 'oauth_state_invalid', 'The login state is invalid or expired; start again');
      }
      const nonce = ctx.cookies.get(STATE_COOKIE);
      if (typeof claims.n !== 'string' || nonce === undefined || !sameNonce(claims.n, nonce)) {
        throw new AppError(
          400,
          'oauth_state_mismatch',
          'The login was started in another browser; start again',
        );
      }
      const returnTo = returnToSchema.safeParse(claims.r);
      ctx.cookies.set(STATE_COOKIE, null, { path: AUTH_PATH });
      const identity = await fetchDiscordIdentity(deps.fetch, deps.config, {
        code: query.code,
        redirectUri: redirectUri(deps, ctx),
      });
      const present = new Set(
        deps.db
          .all(deps.db.q.selectFrom('guilds').select('id').where('left_at', 'is', null))
          .map((r) => r.id),
      );
      const guilds = identity.guilds.flatMap((g) => {
        const role = mapGuildRole(g, present.has(g.id));
        return role
          ? [
              {
                guildId: g.id,
                role,
                owner: g.owner,
                permissions: /^\d{1,20}$/.test(g.permissions) ? g.permissions : '0',
              },
            ]
          : [];
      });
      const u = identity.user;
      await deps.ops.call(
        'auth.syncLogin',
        {
          user: {
            id: u.id,
            username: u.username,
            globalName: u.global_name ?? null,
            avatar: u.avatar ?? null,
          },
          guilds,
        },
        { kind: 'write', actor: { type: 'user', id: u.id }, requestId: ctx.state.requestId },
      );
      const tokens = await issueTokens(deps, ctx, u.id, deps.refresh.issue(u.id));
      if (returnTo.success) {
        ctx.redirect(returnTo.data);
        return;
      }
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(tokens);
    },
  }),
  defineRoute({
    id: 'auth.refresh',
    method: 'post',
    path: '/api/v1/auth/refresh',
    tag: 'auth',
    summary: 'Exchange a refresh token for new tokens (rotation; reuse revokes the whole login)',
    access: 'public',
    body: refreshBody,
    response: tokenResponseSchema,
    handler: async ({ ctx, deps, body }) => {
      const presented = body?.refreshToken ?? ctx.cookies.get(REFRESH_COOKIE);
      if (!presented) throw new AppError(401, 'refresh_token_invalid', 'No refresh token');
      const { userId, token } = deps.refresh.rotate(presented);
      return issueTokens(deps, ctx, userId, token);
    },
  }),
  defineRoute({
    id: 'auth.logout',
    method: 'post',
    path: '/api/v1/auth/logout',
    tag: 'auth',
    summary: 'Log out: revoke the refresh token’s login (idempotent)',
    access: 'public',
    body: refreshBody,
    handler: ({ ctx, deps, body }) => {
      const presented = body?.refreshToken ?? ctx.cookies.get(REFRESH_COOKIE);
      if (presented) deps.refresh.revokeFamily(presented);
      ctx.cookies.set(REFRESH_COOKIE, null, { path: AUTH_PATH });
    },
  }),
  defineRoute({
    id: 'auth.logoutAll',
    method: 'post',
    path: '/api/v1/auth/logout-all',
    tag: 'auth',
    summary: 'Revoke every refresh token of the signed-in user',
    access: 'user',
    response: z.strictObject({ revoked: z.number().int() }),
    handler: ({ deps, principal }) => ({
      revoked: principal.kind === 'user' ? deps.refresh.revokeUser(principal.userId) : 0,
    }),
  }),
  defineRoute({
    id: 'auth.me',
    method: 'get',
    path: '/api/v1/auth/me',
    tag: 'auth',
    summary: 'The caller: principal, user, superadmin flag and guild roles',
    access: 'authenticated',
    response: z
      .strictObject({
        principal: z.strictObject({ kind: z.enum(['user', 'api_key']), id: z.string() }),
        user: userSchema.nullable(),
        superadmin: z.boolean(),
        scope: z.strictObject({ guildId: snowflake, role: guildRoleSchema }).nullable(),
        guilds: z.array(z.strictObject({ id: snowflake, name: z.string(), role: guildRoleSchema })),
      })
      .meta({ id: 'Me' }),
    handler: ({ deps, principal }) => {
      if (principal.kind === 'service') throw new AppError(403, 'forbidden', 'Not for services');
      const userId = principal.userId;
      const user = userId
        ? deps.db.first(deps.db.q.selectFrom('users').selectAll().where('id', '=', userId))
        : undefined;
      const ids = deps.rbac.accessibleGuildIds(principal);
      let q = deps.db.q.selectFrom('guilds').select(['id', 'name']).where('left_at', 'is', null);
      if (ids !== 'all') q = ids.length === 0 ? q.where('id', 'in', ['']) : q.where('id', 'in', ids);
      const guilds = deps.db.all(q.orderBy('id').limit(1000)).flatMap((g) => {
        const role = deps.rbac.guildRole(principal, g.id);
        return role ? [{ id: g.id, name: g.name, role }] : [];
      });
      return {
        principal:
          principal.kind === 'user'
            ? { kind: 'user' as const, id: principal.userId }
            : { kind: 'api_key' as const, id: principal.keyId },
        user: user ? toUserDto(user) : null,
        superadmin: deps.rbac.isSuperadmin(principal),
        scope: principal.kind === 'user' ? principal.scope : null,
        guilds,
      };
    },
  }),
];
