/**
 * Gateway discovery, users, DMs, the current application and linked-roles (role connection) routes.
 */
import {
  ApplicationRoleConnectionMetadataType,
  type APIApplication,
  type APIUser,
  type RESTAPIPartialCurrentUserGuild,
} from 'discord-api-types/v10';
import { z } from 'zod';
import { Errors, FormErrors, RestError } from '../errors.js';
import { parseForm, snowflake } from '../form.js';
import { boolQuery, intQuery, snowflakeQuery } from '../helpers.js';
import type { RestContext, RouteDef } from '../router.js';

/**
 * Recommended shards: Discord suggests about one shard per 1,000 guilds.
 *
 * @example
 * recommendedShards(2500); // 3
 */
export function recommendedShards(guilds: number): number {
  return Math.max(1, Math.ceil(guilds / 1000));
}

function selfUser(ctx: RestContext): APIUser {
  const w = ctx.deps.world;
  if (ctx.auth.kind === 'bearer') {
    const grant = ctx.auth.grant;
    const u = w.user(grant.userId);
    if (!u) throw Errors.unauthorized();
    const { email, verified, ...base } = u;
    return {
      ...base,
      mfa_enabled: false,
      locale: 'en-US',
      premium_type: 0,
      ...(grant.scopes.includes('email') ? { email: email ?? null, verified: verified ?? true } : {}),
    };
  }
  return { ...w.app.botUser, mfa_enabled: true, locale: 'en-US', verified: true, email: null };
}

function application(ctx: RestContext): APIApplication {
  const w = ctx.deps.world;
  return {
    id: w.app.id,
    name: w.app.botUser.username,
    icon: null,
    description: 'Simulated application',
    bot_public: true,
    bot_require_code_grant: false,
    bot: { ...w.app.botUser },
    summary: '',
    verify_key: '0'.repeat(64),
    flags: 0,
    team: null,
    approximate_guild_count: w.guildIds().length,
    redirect_uris: [...ctx.deps.oauth.redirectUris],
    owner: w.userOf(ctx.deps.oauth.ownerId),
  } as unknown as APIApplication;
}

const roleConnectionMetadataSchema = z
  .array(
    z.object({
      type: z.number().int().min(1).max(8),
      key: z.string().regex(/^[a-z0-9_]{1,50}$/, 'key'),
      name: z.string().min(1).max(100),
      name_localizations: z.record(z.string(), z.string()).optional(),
      description: z.string().min(1).max(200),
      description_localizations: z.record(z.string(), z.string()).optional(),
    }),
  )
  .max(5);

/**
 * Routes of this group.
 *
 * @example
 * new Router(userRoutes());
 */
export function userRoutes(): RouteDef[] {
  const routes: RouteDef[] = [
    {
      method: 'GET',
      path: '/gateway',
      auth: 'none',
      handler: (ctx) => ({ body: { url: ctx.deps.gatewayUrl() } }),
    },
    {
      method: 'GET',
      path: '/gateway/bot',
      auth: 'bot',
      handler: (ctx) => {
        const app = ctx.deps.world.app;
        return {
          body: {
            url: ctx.deps.gatewayUrl(),
            shards: recommendedShards(ctx.deps.world.guildIds().length),
            session_start_limit: {
              total: app.sessionStartLimit.total,
              remaining: app.sessionStartLimit.remaining,
              reset_after: app.sessionStartLimit.resetAfterMs,
              max_concurrency: app.maxConcurrency,
            },
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/users/@me',
      auth: 'bot-or-bearer',
      handler: (ctx) => {
        if (ctx.auth.kind === 'bearer' && !ctx.auth.grant.scopes.includes('identify'))
          throw Errors.unauthorized();
        return { body: selfUser(ctx) };
      },
    },
    {
      method: 'PATCH',
      path: '/users/@me',
      auth: 'bot',
      handler: (ctx) => {
        const body = parseForm(
          z.object({
            username: z.string().min(2).max(32).optional(),
            avatar: z.string().nullable().optional(),
            banner: z.string().nullable().optional(),
          }),
          ctx.body,
        );
        const w = ctx.deps.world;
        const bot = w.app.botUser as APIUser;
        if (body.username !== undefined) bot.username = body.username;
        if (body.avatar !== undefined) bot.avatar = body.avatar === null ? null : 'a'.repeat(32);
        w.emit('USER_UPDATE', { ...bot }, null, 0);
        return { body: selfUser(ctx) };
      },
    },
    {
      method: 'GET',
      path: '/users/:user_id',
      auth: 'bot',
      handler: (ctx) => {
        const u = /^\d{1,20}$/.test(ctx.params.user_id ?? '')
          ? ctx.deps.world.user(ctx.params.user_id as string)
          : undefined;
        if (!u) throw Errors.unknown('user');
        const { email: _e, verified: _v, ...pub } = u;
        return { body: pub };
      },
    },
    {
      method: 'GET',
      path: '/users/@me/guilds',
      auth: 'bot-or-bearer',
      handler: (ctx) => {
        const w = ctx.deps.world;
        if (ctx.auth.kind === 'bearer' && !ctx.auth.grant.scopes.includes('guilds'))
          throw Errors.unauthorized();
        const limit = intQuery(ctx, 'limit', 200, 1, 200);
        const before = snowflakeQuery(ctx, 'before');
        const after = snowflakeQuery(ctx, 'after');
        const counts = boolQuery(ctx, 'with_counts');
        const userId = ctx.auth.kind === 'bearer' ? ctx.auth.grant.userId : w.botId;
        // Page over ids first, then build at most `limit` entries (untouched guilds are not materialized).
        const foreign = ctx.auth.kind === 'bearer' ? (ctx.deps.oauth.foreignGuilds.get(userId) ?? []) : [];
        let ids = [
          ...(ctx.auth.kind === 'bearer' ? w.guildsOf(userId) : w.guildIds()),
          ...foreign.map((f) => f.id),
        ];
        ids.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
        if (after) ids = ids.filter((id) => BigInt(id) > BigInt(after));
        if (before) ids = ids.filter((id) => BigInt(id) < BigInt(before));
        ids = before && !after ? ids.slice(-limit) : ids.slice(0, limit);
        const page: RESTAPIPartialCurrentUserGuild[] = [];
        for (const id of ids) {
          const f = foreign.find((x) => x.id === id);
          if (f) {
            page.push(f);
            continue;
          }
          const g = w.guildSnapshot(id);
          const m = g?.members.get(userId);
          if (!g || !m) continue;
          page.push({
            id: g.id,
            name: g.name,
            icon: g.icon,
            banner: null,
            owner: g.ownerId === userId,
            features: [...g.features] as RESTAPIPartialCurrentUserGuild['features'],
            permissions: w.guildPermissions(g, m).toString(),
            ...(counts ? { approximate_member_count: g.members.size, approximate_presence_count: 0 } : {}),
          });
        }
        return { body: page };
      },
    },
    {
      method: 'GET',
      path: '/users/@me/guilds/:guild_id/member',
      auth: 'bearer',
      scopes: ['guilds.members.read'],
      handler: (ctx) => {
        if (ctx.auth.kind !== 'bearer') throw Errors.unauthorized();
        const w = ctx.deps.world;
        const g = w.guild(ctx.params.guild_id ?? '');
        const m = g?.members.get(ctx.auth.grant.userId);
        if (!g || !m) throw Errors.unknown('guild');
        return { body: w.apiMember(g.id, m) };
      },
    },
    {
      method: 'DELETE',
      path: '/users/@me/guilds/:guild_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        if (!w.hasGuild(ctx.params.guild_id ?? '')) throw Errors.unknown('guild');
        w.removeGuild(ctx.params.guild_id as string);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/users/@me/channels',
      auth: 'bot',
      handler: (ctx) => {
        const body = parseForm(z.object({ recipient_id: snowflake }), ctx.body);
        const w = ctx.deps.world;
        const u = w.user(body.recipient_id);
        if (!u) throw new RestError(400, 50033, 'Invalid Recipient(s)');
        if (u.bot || u.id === w.botId) throw Errors.cannotDm();
        const c = w.dmChannel(u.id);
        return { body: w.apiChannel(c) };
      },
    },
    {
      method: 'GET',
      path: '/users/@me/connections',
      auth: 'bearer',
      scopes: ['connections'],
      handler: () => ({ body: [] }),
    },
    {
      method: 'GET',
      path: '/users/@me/applications/:application_id/role-connection',
      auth: 'bearer',
      scopes: ['role_connections.write'],
      handler: (ctx) => {
        if (ctx.auth.kind !== 'bearer') throw Errors.unauthorized();
        if (ctx.params.application_id !== ctx.deps.world.app.id) throw Errors.unknown('application');
        const rc = ctx.deps.world.roleConnections.get(ctx.auth.grant.userId);
        return { body: rc ?? { platform_name: null, platform_username: null, metadata: {} } };
      },
    },
    {
      method: 'PUT',
      path: '/users/@me/applications/:application_id/role-connection',
      auth: 'bearer',
      scopes: ['role_connections.write'],
      handler: (ctx) => {
        if (ctx.auth.kind !== 'bearer') throw Errors.unauthorized();
        const w = ctx.deps.world;
        if (ctx.params.application_id !== w.app.id) throw Errors.unknown('application');
        const body = parseForm(
          z.object({
            platform_name: z.string().max(50).nullable().optional(),
            platform_username: z.string().max(100).nullable().optional(),
            metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
          }),
          ctx.body,
        );
        const form = new FormErrors();
        const metadata: Record<string, string> = {};
        for (const [key, value] of Object.entries(body.metadata ?? {})) {
          const def = w.roleConnectionMetadata.find((m) => m.key === key);
          if (!def) {
            form.add(
              ['metadata', key],
              'APPLICATION_ROLE_CONNECTION_METADATA_KEY_INVALID',
              `Unknown metadata key "${key}".`,
            );
            continue;
          }
          const isBool =
            def.type === ApplicationRoleConnectionMetadataType.BooleanEqual ||
            def.type === ApplicationRoleConnectionMetadataType.BooleanNotEqual;
          metadata[key] = isBool
            ? value === true || value === '1' || value === 1
              ? '1'
              : '0'
            : String(value);
        }
        form.throwIfAny();
        const rc = {
          platform_name: body.platform_name ?? null,
          platform_username: body.platform_username ?? null,
          metadata,
        };
        w.roleConnections.set(ctx.auth.grant.userId, rc);
        return { body: rc };
      },
    },
    {
      method: 'GET',
      path: '/applications/:application_id/role-connections/metadata',
      auth: 'bot',
      handler: (ctx) => {
        if (ctx.params.application_id !== ctx.deps.world.app.id) throw Errors.missingAccess();
        return { body: ctx.deps.world.roleConnectionMetadata };
      },
    },
    {
      method: 'PUT',
      path: '/applications/:application_id/role-connections/metadata',
      auth: 'bot',
      handler: (ctx) => {
        if (ctx.params.application_id !== ctx.deps.world.app.id) throw Errors.missingAccess();
        const records = parseForm(roleConnectionMetadataSchema, ctx.body);
        ctx.deps.world.roleConnectionMetadata = records as typeof ctx.deps.world.roleConnectionMetadata;
        return { body: records };
      },
    },
    { method: 'GET', path: '/applications/@me', auth: 'bot', handler: (ctx) => ({ body: application(ctx) }) },
    {
      method: 'GET',
      path: '/oauth2/applications/@me',
      auth: 'bot',
      handler: (ctx) => ({ body: application(ctx) }),
    },
    {
      method: 'GET',
      path: '/oauth2/@me',
      auth: 'bearer',
      handler: (ctx) => {
        if (ctx.auth.kind !== 'bearer') throw Errors.unauthorized();
        const g = ctx.auth.grant;
        const app = application(ctx);
        return {
          body: {
            application: {
              id: app.id,
              name: app.name,
              icon: app.icon,
              description: app.description,
              bot_public: true,
              bot_require_code_grant: false,
              verify_key: app.verify_key,
            },
            scopes: [...g.scopes],
            expires: new Date(g.expiresAt).toISOString(),
            ...(g.scopes.includes('identify') ? { user: ctx.deps.world.userOf(g.userId) } : {}),
          },
        };
      },
    },
  ];
  return routes;
}
