/**
 * Guilds: the guild itself, its channels, members (timeouts, nicknames, roles, kicks), bans, roles, voice
 * states and the audit log — with Discord's permission and role-hierarchy checks.
 */
import type { OverwriteType } from 'discord-api-types/v10';
import {
  AuditLogEvent,
  ChannelType,
  GatewayIntentBits,
  PermissionFlagsBits as P,
  type APIAuditLogChange,
  type APIRole,
} from 'discord-api-types/v10';
import { z } from 'zod';
import type { GuildRecord, MemberRecord } from '../../world/index.js';
import { ALL_PERMISSIONS, topRolePosition } from '../../world/permissions.js';
import { Errors, FormErrors, RestError, fieldError } from '../errors.js';
import { parseForm, snowflake } from '../form.js';
import {
  boolQuery,
  botMember,
  canActOn,
  guildOf,
  intQuery,
  requireAboveRole,
  requireGuildPerms,
  snowflakeQuery,
} from '../helpers.js';
import type { RestContext, RouteDef } from '../router.js';

const MAX_TIMEOUT_MS = 28 * 86_400_000;

function audit(ctx: RestContext, guildId: string, entry: Record<string, unknown>): void {
  ctx.deps.world.addAuditLogEntry(guildId, {
    ...entry,
    ...(ctx.reason ? { reason: ctx.reason } : {}),
  } as never);
}

function memberOf(ctx: RestContext, g: GuildRecord, userId = ctx.params.user_id ?? ''): MemberRecord {
  const m = /^\d{1,20}$/.test(userId) ? g.members.get(userId) : undefined;
  if (!m) throw Errors.unknown('member');
  return m;
}

function roleOf(g: GuildRecord, roleId: string | undefined): APIRole {
  const r = roleId && /^\d{1,20}$/.test(roleId) ? g.roles.get(roleId) : undefined;
  if (!r) throw Errors.unknown('role');
  return r;
}

function botTop(ctx: RestContext, g: GuildRecord): number {
  const bot = botMember(ctx, g);
  return bot.userId === g.ownerId
    ? Number.POSITIVE_INFINITY
    : topRolePosition(ctx.deps.world.permissionGuild(g), bot);
}

/** The bot may only grant permissions it has (unless Administrator). */
function requireGrantablePerms(ctx: RestContext, g: GuildRecord, perms: bigint): void {
  const have = ctx.deps.world.guildPermissions(g, botMember(ctx, g));
  if (have !== ALL_PERMISSIONS && (perms & ~have) !== 0n) throw Errors.missingPermissions();
}

const permString = z
  .union([z.string().regex(/^\d{1,20}$/), z.number().int().min(0)])
  .transform((v) => String(v));
const color = z.number().int().min(0).max(0xffffff);

const memberPatchSchema = z.object({
  nick: z.string().max(32).nullable().optional(),
  roles: z.array(snowflake).max(250).nullable().optional(),
  mute: z.boolean().nullable().optional(),
  deaf: z.boolean().nullable().optional(),
  channel_id: snowflake.nullable().optional(),
  communication_disabled_until: z.string().nullable().optional(),
  flags: z.number().int().nullable().optional(),
});

const roleSchema = z.object({
  name: z.string().max(100).nullable().optional(),
  permissions: permString.nullable().optional(),
  color: color.nullable().optional(),
  colors: z
    .object({
      primary_color: color,
      secondary_color: color.nullable().optional(),
      tertiary_color: color.nullable().optional(),
    })
    .nullable()
    .optional(),
  hoist: z.boolean().nullable().optional(),
  icon: z.string().nullable().optional(),
  unicode_emoji: z.string().nullable().optional(),
  mentionable: z.boolean().nullable().optional(),
});

const createChannelSchema = z.object({
  name: z.string().min(1).max(100),
  type: z.number().int().optional().nullable(),
  topic: z.string().max(1024).nullable().optional(),
  bitrate: z.number().int().min(8000).max(384000).nullable().optional(),
  user_limit: z.number().int().min(0).max(99).nullable().optional(),
  rate_limit_per_user: z.number().int().min(0).max(21600).nullable().optional(),
  position: z.number().int().nullable().optional(),
  permission_overwrites: z
    .array(
      z.object({
        id: snowflake,
        type: z.union([z.literal(0), z.literal(1)]),
        allow: permString.optional(),
        deny: permString.optional(),
      }),
    )
    .nullable()
    .optional(),
  parent_id: snowflake.nullable().optional(),
  nsfw: z.boolean().nullable().optional(),
});

/**
 * Routes of this group.
 *
 * @example
 * new Router(guildRoutes());
 */
export function guildRoutes(): RouteDef[] {
  return [
    {
      method: 'GET',
      path: '/guilds/:guild_id',
      auth: 'bot',
      handler: (ctx) => {
        const g = guildOf(ctx);
        const guild = ctx.deps.world.guildCreate(g.id, 0);
        const {
          joined_at: _j,
          large: _l,
          unavailable: _u,
          member_count: _m,
          voice_states: _v,
          members: _ms,
          channels: _c,
          threads: _t,
          presences: _p,
          stage_instances: _s,
          guild_scheduled_events: _e,
          soundboard_sounds: _ss,
          ...base
        } = guild;
        return {
          body: {
            ...base,
            ...(boolQuery(ctx, 'with_counts')
              ? { approximate_member_count: g.members.size, approximate_presence_count: 0 }
              : {}),
          },
        };
      },
    },
    {
      method: 'PATCH',
      path: '/guilds/:guild_id',
      auth: 'bot',
      handler: (ctx) => {
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.ManageGuild);
        const body = parseForm(
          z.object({
            name: z.string().min(2).max(100).optional(),
            description: z.string().max(120).nullable().optional(),
            system_channel_id: snowflake.nullable().optional(),
            afk_channel_id: snowflake.nullable().optional(),
            preferred_locale: z.string().nullable().optional(),
            verification_level: z.number().int().min(0).max(4).nullable().optional(),
          }),
          ctx.body,
        );
        const changes: APIAuditLogChange[] = [];
        if (body.name !== undefined && body.name !== g.name)
          changes.push({ key: 'name', old_value: g.name, new_value: body.name } as APIAuditLogChange);
        ctx.deps.world.updateGuild(g.id, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.system_channel_id !== undefined ? { systemChannelId: body.system_channel_id } : {}),
          ...(body.afk_channel_id !== undefined ? { afkChannelId: body.afk_channel_id } : {}),
          ...(body.preferred_locale ? { preferredLocale: body.preferred_locale } : {}),
          ...(body.verification_level !== undefined && body.verification_level !== null
            ? { verificationLevel: body.verification_level }
            : {}),
        });
        audit(ctx, g.id, {
          action_type: AuditLogEvent.GuildUpdate,
          user_id: ctx.deps.world.botId,
          target_id: g.id,
          changes,
        });
        const guild = ctx.deps.world.guildCreate(g.id, 0);
        return {
          body: {
            ...guild,
            members: undefined,
            channels: undefined,
            threads: undefined,
            voice_states: undefined,
            presences: undefined,
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/guilds/:guild_id/channels',
      auth: 'bot',
      handler: (ctx) => {
        const g = guildOf(ctx);
        return {
          body: [...g.channels.values()].filter((c) => !c.thread).map((c) => ctx.deps.world.apiChannel(c)),
        };
      },
    },
    {
      method: 'POST',
      path: '/guilds/:guild_id/channels',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.ManageChannels);
        const body = parseForm(createChannelSchema, ctx.body);
        const type = (body.type ?? ChannelType.GuildText) as ChannelType;
        const allowed = [
          ChannelType.GuildText,
          ChannelType.GuildVoice,
          ChannelType.GuildCategory,
          ChannelType.GuildAnnouncement,
          ChannelType.GuildStageVoice,
          ChannelType.GuildForum,
          ChannelType.GuildMedia,
        ];
        if (!allowed.includes(type))
          throw fieldError(['type'], 'BASE_TYPE_CHOICES', `Value must be one of {${allowed.join(', ')}}.`);
        if ([...g.channels.values()].filter((c) => !c.thread).length >= 500)
          throw new RestError(400, 30013, 'Maximum number of guild channels reached (500)');
        if (body.parent_id) {
          const parent = g.channels.get(body.parent_id);
          if (!parent || parent.type !== ChannelType.GuildCategory)
            throw fieldError(['parent_id'], 'CHANNEL_PARENT_INVALID', 'Category does not exist');
        }
        if (body.permission_overwrites) {
          if (!(w.guildPermissions(g, botMember(ctx, g)) & P.ManageRoles)) throw Errors.missingPermissions();
          for (const o of body.permission_overwrites)
            requireGrantablePerms(ctx, g, BigInt(o.allow ?? '0') | BigInt(o.deny ?? '0'));
        }
        const name =
          type === ChannelType.GuildText ||
          type === ChannelType.GuildAnnouncement ||
          type === ChannelType.GuildForum
            ? body.name.toLowerCase().replace(/\s+/g, '-')
            : body.name;
        const c = w.createChannel(g.id, {
          type,
          name,
          ...(body.topic !== undefined ? { topic: body.topic } : {}),
          ...(body.bitrate ? { bitrate: body.bitrate } : {}),
          ...(body.user_limit !== undefined && body.user_limit !== null
            ? { userLimit: body.user_limit }
            : {}),
          ...(body.rate_limit_per_user ? { rateLimitPerUser: body.rate_limit_per_user } : {}),
          ...(body.position !== undefined && body.position !== null ? { position: body.position } : {}),
          ...(body.parent_id ? { parentId: body.parent_id } : {}),
          ...(body.nsfw ? { nsfw: body.nsfw } : {}),
          ...(body.permission_overwrites
            ? {
                permissionOverwrites: body.permission_overwrites.map((o) => ({
                  id: o.id,
                  type: o.type as OverwriteType,
                  allow: o.allow ?? '0',
                  deny: o.deny ?? '0',
                })),
              }
            : {}),
        });
        audit(ctx, g.id, {
          action_type: AuditLogEvent.ChannelCreate,
          user_id: w.botId,
          target_id: c.id,
          changes: [
            { key: 'name', new_value: name },
            { key: 'type', new_value: type },
          ],
        });
        return { status: 201, body: w.apiChannel(c) };
      },
    },
    // Members
    {
      method: 'GET',
      path: '/guilds/:guild_id/members/:user_id',
      auth: 'bot',
      handler: (ctx) => {
        const g = guildOf(ctx);
        return { body: ctx.deps.world.apiMember(g.id, memberOf(ctx, g)) };
      },
    },
    {
      method: 'GET',
      path: '/guilds/:guild_id/members',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        if (!(w.app.privilegedIntents & GatewayIntentBits.GuildMembers)) throw Errors.missingAccess();
        const limit = intQuery(ctx, 'limit', 1, 1, 1000);
        const after = BigInt(snowflakeQuery(ctx, 'after') ?? '0');
        const list = [...g.members.values()]
          .filter((m) => BigInt(m.userId) > after)
          .sort((a, b) => (BigInt(a.userId) < BigInt(b.userId) ? -1 : 1))
          .slice(0, limit)
          .map((m) => w.apiMember(g.id, m));
        return { body: list };
      },
    },
    {
      method: 'GET',
      path: '/guilds/:guild_id/members/search',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        const query = (ctx.query.get('query') ?? '').toLowerCase();
        if (!ctx.query.has('query'))
          throw fieldError(['query'], 'BASE_TYPE_REQUIRED', 'This field is required');
        const limit = intQuery(ctx, 'limit', 1, 1, 1000);
        const out = [];
        for (const m of g.members.values()) {
          const u = w.userOf(m.userId);
          if (
            u.username.toLowerCase().startsWith(query) ||
            (u.global_name ?? '').toLowerCase().startsWith(query) ||
            (m.nick ?? '').toLowerCase().startsWith(query)
          ) {
            out.push(w.apiMember(g.id, m));
            if (out.length >= limit) break;
          }
        }
        return { body: out };
      },
    },
    {
      method: 'PATCH',
      path: '/guilds/:guild_id/members/@me',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        const body = parseForm(z.object({ nick: z.string().max(32).nullable().optional() }), ctx.body);
        const perms = w.guildPermissions(g, botMember(ctx, g));
        if (body.nick !== undefined && !(perms & (P.ChangeNickname | P.ManageNicknames)))
          throw Errors.missingPermissions();
        const m = w.updateMember(g.id, w.botId, {
          ...(body.nick !== undefined ? { nick: body.nick || null } : {}),
        });
        return { body: w.apiMember(g.id, m) };
      },
    },
    {
      method: 'PATCH',
      path: '/guilds/:guild_id/members/:user_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        const target = memberOf(ctx, g);
        const body = parseForm(memberPatchSchema, ctx.body);
        const perms = w.guildPermissions(g, botMember(ctx, g));
        const self = target.userId === w.botId;
        const changes: APIAuditLogChange[] = [];
        const patch: Parameters<typeof w.updateMember>[2] = {};
        if (body.nick !== undefined) {
          if (
            self
              ? !(perms & (P.ChangeNickname | P.ManageNicknames))
              : !(perms & P.ManageNicknames) || !canActOn(ctx, g, target)
          )
            throw Errors.missingPermissions();
          patch.nick = body.nick || null;
          changes.push({
            key: 'nick',
            old_value: target.nick ?? undefined,
            new_value: patch.nick ?? undefined,
          } as APIAuditLogChange);
        }
        if (body.roles !== undefined && body.roles !== null) {
          if (!(perms & P.ManageRoles)) throw Errors.missingPermissions();
          const next = new Set(body.roles.filter((r) => r !== g.id));
          const form = new FormErrors();
          body.roles.forEach((r, i) => {
            if (r !== g.id && !g.roles.has(r)) form.add(['roles', i], 'UNKNOWN_ROLE', 'Unknown role');
          });
          form.throwIfAny();
          const top = botTop(ctx, g);
          const added = [...next].filter((r) => !target.roles.includes(r));
          const removed = target.roles.filter((r) => !next.has(r));
          for (const r of [...added, ...removed]) {
            const role = g.roles.get(r) as APIRole;
            if (role.position >= top || role.managed) throw Errors.missingPermissions();
          }
          patch.roles = [...next];
          if (added.length)
            changes.push({
              key: '$add',
              new_value: added.map((id) => ({ id, name: g.roles.get(id)?.name ?? '' })),
            } as APIAuditLogChange);
          if (removed.length)
            changes.push({
              key: '$remove',
              new_value: removed.map((id) => ({ id, name: g.roles.get(id)?.name ?? '' })),
            } as APIAuditLogChange);
        }
        if (body.communication_disabled_until !== undefined) {
          if (!(perms & P.ModerateMembers)) throw Errors.missingPermissions();
          if (self || !canActOn(ctx, g, target)) throw Errors.missingPermissions();
          if (w.guildPermissions(g, target) & P.Administrator) throw Errors.missingPermissions();
          if (body.communication_disabled_until !== null) {
            const until = Date.parse(body.communication_disabled_until);
            if (Number.isNaN(until) || until - w.clock() > MAX_TIMEOUT_MS) {
              throw fieldError(
                ['communication_disabled_until'],
                'INVALID_COMMUNICATION_DISABLED_TIMESTAMP',
                'Invalid communication disabled timestamp',
              );
            }
          }
          patch.communicationDisabledUntil =
            body.communication_disabled_until === null
              ? null
              : new Date(Date.parse(body.communication_disabled_until)).toISOString();
          changes.push({
            key: 'communication_disabled_until',
            old_value: target.communicationDisabledUntil ?? undefined,
            new_value: patch.communicationDisabledUntil ?? undefined,
          } as APIAuditLogChange);
        }
        if (body.mute !== undefined && body.mute !== null) {
          if (!(perms & P.MuteMembers)) throw Errors.missingPermissions();
          patch.mute = body.mute;
        }
        if (body.deaf !== undefined && body.deaf !== null) {
          if (!(perms & P.DeafenMembers)) throw Errors.missingPermissions();
          patch.deaf = body.deaf;
        }
        if (body.flags !== undefined && body.flags !== null) patch.flags = body.flags;
        if (body.channel_id !== undefined) {
          if (!(perms & P.MoveMembers)) throw Errors.missingPermissions();
          if (!g.voiceStates.has(target.userId))
            throw new RestError(400, 40032, 'Target user is not connected to voice.');
          w.setVoiceState(g.id, target.userId, body.channel_id);
          audit(ctx, g.id, {
            action_type: body.channel_id ? AuditLogEvent.MemberMove : AuditLogEvent.MemberDisconnect,
            user_id: w.botId,
            target_id: null,
            options: { count: '1', ...(body.channel_id ? { channel_id: body.channel_id } : {}) },
          });
        }
        const m = Object.keys(patch).length > 0 ? w.updateMember(g.id, target.userId, patch) : target;
        if (patch.roles)
          audit(ctx, g.id, {
            action_type: AuditLogEvent.MemberRoleUpdate,
            user_id: w.botId,
            target_id: target.userId,
            changes: changes.filter((c) => c.key === '$add' || c.key === '$remove'),
          });
        const other = changes.filter((c) => c.key !== '$add' && c.key !== '$remove');
        if (other.length)
          audit(ctx, g.id, {
            action_type: AuditLogEvent.MemberUpdate,
            user_id: w.botId,
            target_id: target.userId,
            changes: other,
          });
        return { body: w.apiMember(g.id, m) };
      },
    },
    ...(['PUT', 'DELETE'] as const).map((method): RouteDef => ({
      method,
      path: '/guilds/:guild_id/members/:user_id/roles/:role_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        const target = memberOf(ctx, g);
        const role = roleOf(g, ctx.params.role_id);
        requireGuildPerms(ctx, g, P.ManageRoles);
        if (role.id === g.id || role.managed || role.position >= botTop(ctx, g))
          throw Errors.missingPermissions();
        const has = target.roles.includes(role.id);
        if (method === 'PUT' && !has)
          w.updateMember(g.id, target.userId, { roles: [...target.roles, role.id] });
        if (method === 'DELETE' && has)
          w.updateMember(g.id, target.userId, { roles: target.roles.filter((r) => r !== role.id) });
        if ((method === 'PUT') !== has) {
          audit(ctx, g.id, {
            action_type: AuditLogEvent.MemberRoleUpdate,
            user_id: w.botId,
            target_id: target.userId,
            changes: [
              { key: method === 'PUT' ? '$add' : '$remove', new_value: [{ id: role.id, name: role.name }] },
            ],
          });
        }
        return { status: 204 };
      },
    })),
    {
      method: 'DELETE',
      path: '/guilds/:guild_id/members/:user_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        const target = memberOf(ctx, g);
        requireGuildPerms(ctx, g, P.KickMembers);
        if (target.userId === w.botId || !canActOn(ctx, g, target)) throw Errors.missingPermissions();
        w.removeMember(g.id, target.userId);
        audit(ctx, g.id, {
          action_type: AuditLogEvent.MemberKick,
          user_id: w.botId,
          target_id: target.userId,
        });
        return { status: 204 };
      },
    },
    {
      method: 'PUT',
      path: '/guilds/:guild_id/members/:user_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        const body = parseForm(
          z.object({
            access_token: z.string(),
            nick: z.string().max(32).optional(),
            roles: z.array(snowflake).optional(),
            mute: z.boolean().optional(),
            deaf: z.boolean().optional(),
          }),
          ctx.body,
        );
        const grant = ctx.deps.oauth.lookup(body.access_token);
        if (!grant || !grant.scopes.includes('guilds.join') || grant.userId !== ctx.params.user_id)
          throw Errors.missingAccess();
        requireGuildPerms(ctx, g, P.CreateInstantInvite);
        if (g.members.has(grant.userId)) return { status: 204 };
        const m = w.addMember(g.id, grant.userId, {
          ...(body.nick ? { nick: body.nick } : {}),
          ...(body.roles ? { roles: body.roles.filter((r) => g.roles.has(r)) } : {}),
        });
        return { status: 201, body: w.apiMember(g.id, m) };
      },
    },
    // Bans
    {
      method: 'GET',
      path: '/guilds/:guild_id/bans',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.BanMembers);
        const limit = intQuery(ctx, 'limit', 1000, 1, 1000);
        const before = snowflakeQuery(ctx, 'before');
        const after = snowflakeQuery(ctx, 'after');
        let list = [...g.bans.entries()].sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : 1));
        if (after) list = list.filter(([id]) => BigInt(id) > BigInt(after));
        if (before) list = list.filter(([id]) => BigInt(id) < BigInt(before));
        const page = before && !after ? list.slice(-limit) : list.slice(0, limit);
        return { body: page.map(([id, b]) => ({ reason: b.reason, user: w.userOf(id) })) };
      },
    },
    {
      method: 'GET',
      path: '/guilds/:guild_id/bans/:user_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.BanMembers);
        const ban = g.bans.get(ctx.params.user_id ?? '');
        if (!ban) throw Errors.unknown('ban');
        return { body: { reason: ban.reason, user: w.userOf(ctx.params.user_id as string) } };
      },
    },
    {
      method: 'PUT',
      path: '/guilds/:guild_id/bans/:user_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.BanMembers);
        const body = parseForm(
          z.object({
            delete_message_seconds: z.number().int().min(0).max(604800).optional(),
            delete_message_days: z.number().int().min(0).max(7).optional(),
          }),
          ctx.body,
        );
        const userId = ctx.params.user_id ?? '';
        if (!/^\d{1,20}$/.test(userId) || !w.user(userId)) throw Errors.unknown('user');
        const target = g.members.get(userId);
        if (userId === w.botId || userId === g.ownerId || (target && !canActOn(ctx, g, target)))
          throw Errors.missingPermissions();
        w.ban(
          g.id,
          userId,
          ctx.reason,
          body.delete_message_seconds ?? (body.delete_message_days ?? 0) * 86400,
        );
        audit(ctx, g.id, { action_type: AuditLogEvent.MemberBanAdd, user_id: w.botId, target_id: userId });
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      path: '/guilds/:guild_id/bans/:user_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.BanMembers);
        const userId = ctx.params.user_id ?? '';
        if (!g.bans.has(userId)) throw Errors.unknown('ban');
        w.unban(g.id, userId);
        audit(ctx, g.id, { action_type: AuditLogEvent.MemberBanRemove, user_id: w.botId, target_id: userId });
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/guilds/:guild_id/bulk-ban',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.BanMembers | P.ManageGuild);
        const body = parseForm(
          z.object({
            user_ids: z.array(snowflake).min(1).max(200),
            delete_message_seconds: z.number().int().min(0).max(604800).optional(),
          }),
          ctx.body,
        );
        const banned: string[] = [];
        const failed: string[] = [];
        for (const id of body.user_ids) {
          const target = g.members.get(id);
          if (
            !w.user(id) ||
            id === w.botId ||
            id === g.ownerId ||
            (target && !canActOn(ctx, g, target)) ||
            g.bans.has(id)
          ) {
            failed.push(id);
            continue;
          }
          w.ban(g.id, id, ctx.reason, body.delete_message_seconds ?? 0);
          audit(ctx, g.id, { action_type: AuditLogEvent.MemberBanAdd, user_id: w.botId, target_id: id });
          banned.push(id);
        }
        if (banned.length === 0) throw new RestError(500, 500000, 'Failed to ban users');
        return { body: { banned_users: banned, failed_users: failed } };
      },
    },
    // Roles
    {
      method: 'GET',
      path: '/guilds/:guild_id/roles',
      auth: 'bot',
      handler: (ctx) => ({ body: [...guildOf(ctx).roles.values()].map((r) => ({ ...r })) }),
    },
    {
      method: 'GET',
      path: '/guilds/:guild_id/roles/:role_id',
      auth: 'bot',
      handler: (ctx) => ({ body: { ...roleOf(guildOf(ctx), ctx.params.role_id) } }),
    },
    {
      method: 'POST',
      path: '/guilds/:guild_id/roles',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.ManageRoles);
        const body = parseForm(roleSchema, ctx.body);
        const perms = body.permissions
          ? BigInt(body.permissions)
          : BigInt(g.roles.get(g.id)?.permissions ?? '0');
        if (body.permissions) requireGrantablePerms(ctx, g, perms);
        const role = w.createRole(g.id, {
          name: body.name ?? 'new role',
          permissions: perms.toString(),
          ...(body.color !== undefined && body.color !== null ? { color: body.color } : {}),
          ...(body.hoist !== undefined && body.hoist !== null ? { hoist: body.hoist } : {}),
          ...(body.mentionable !== undefined && body.mentionable !== null
            ? { mentionable: body.mentionable }
            : {}),
          ...(body.unicode_emoji !== undefined ? { unicode_emoji: body.unicode_emoji } : {}),
        });
        audit(ctx, g.id, {
          action_type: AuditLogEvent.RoleCreate,
          user_id: w.botId,
          target_id: role.id,
          changes: [
            { key: 'name', new_value: role.name },
            { key: 'permissions', new_value: role.permissions },
          ],
        });
        return { body: { ...role } };
      },
    },
    {
      method: 'PATCH',
      path: '/guilds/:guild_id/roles',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.ManageRoles);
        const body = parseForm(
          z.array(z.object({ id: snowflake, position: z.number().int().min(1).nullable().optional() })),
          ctx.body,
        );
        const top = botTop(ctx, g);
        for (const { id, position } of body) {
          const role = roleOf(g, id);
          if (role.id === g.id) continue;
          if (role.position >= top || (position ?? 0) >= top) throw Errors.missingPermissions();
        }
        for (const { id, position } of body) {
          const role = g.roles.get(id);
          if (
            role &&
            role.id !== g.id &&
            position !== undefined &&
            position !== null &&
            role.position !== position
          )
            w.updateRole(g.id, id, { position });
        }
        return { body: [...g.roles.values()].map((r) => ({ ...r })) };
      },
    },
    {
      method: 'PATCH',
      path: '/guilds/:guild_id/roles/:role_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.ManageRoles);
        const role = roleOf(g, ctx.params.role_id);
        const body = parseForm(roleSchema, ctx.body);
        if (role.id !== g.id) requireAboveRole(ctx, g, role.position);
        if (body.permissions) requireGrantablePerms(ctx, g, BigInt(body.permissions));
        if (role.id === g.id && body.name !== undefined)
          throw fieldError(['name'], 'ROLE_NAME_EVERYONE', 'Cannot rename @everyone');
        const changes: APIAuditLogChange[] = [];
        if (body.name && body.name !== role.name)
          changes.push({ key: 'name', old_value: role.name, new_value: body.name } as APIAuditLogChange);
        if (body.permissions && body.permissions !== role.permissions)
          changes.push({
            key: 'permissions',
            old_value: role.permissions,
            new_value: body.permissions,
          } as APIAuditLogChange);
        const updated = w.updateRole(g.id, role.id, {
          ...(body.name !== undefined && body.name !== null ? { name: body.name } : {}),
          ...(body.permissions ? { permissions: body.permissions } : {}),
          ...(body.color !== undefined && body.color !== null ? { color: body.color } : {}),
          ...(body.hoist !== undefined && body.hoist !== null ? { hoist: body.hoist } : {}),
          ...(body.mentionable !== undefined && body.mentionable !== null
            ? { mentionable: body.mentionable }
            : {}),
          ...(body.unicode_emoji !== undefined ? { unicode_emoji: body.unicode_emoji } : {}),
        });
        audit(ctx, g.id, {
          action_type: AuditLogEvent.RoleUpdate,
          user_id: w.botId,
          target_id: role.id,
          changes,
        });
        return { body: { ...updated } };
      },
    },
    {
      method: 'DELETE',
      path: '/guilds/:guild_id/roles/:role_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.ManageRoles);
        const role = roleOf(g, ctx.params.role_id);
        if (role.id === g.id) throw new RestError(400, 50028, 'Invalid Role');
        if (role.managed) throw new RestError(400, 50028, 'Invalid Role');
        requireAboveRole(ctx, g, role.position);
        w.deleteRole(g.id, role.id);
        audit(ctx, g.id, {
          action_type: AuditLogEvent.RoleDelete,
          user_id: w.botId,
          target_id: role.id,
          changes: [{ key: 'name', old_value: role.name }],
        });
        return { status: 204 };
      },
    },
    // Voice states
    {
      method: 'GET',
      path: '/guilds/:guild_id/voice-states/:user_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        const userId = ctx.params.user_id === '@me' ? w.botId : (ctx.params.user_id ?? '');
        const vs = g.voiceStates.get(userId);
        if (!vs) throw new RestError(404, 10065, 'Unknown Voice State');
        const m = g.members.get(userId);
        return {
          body: {
            guild_id: g.id,
            channel_id: vs.channelId,
            user_id: userId,
            ...(m ? { member: w.apiMember(g.id, m) } : {}),
            session_id: vs.sessionId,
            deaf: m?.deaf ?? false,
            mute: m?.mute ?? false,
            self_deaf: vs.selfDeaf,
            self_mute: vs.selfMute,
            self_video: vs.selfVideo,
            suppress: vs.suppress,
            request_to_speak_timestamp: vs.requestToSpeakTimestamp,
          },
        };
      },
    },
    // Audit log
    {
      method: 'GET',
      path: '/guilds/:guild_id/audit-logs',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        requireGuildPerms(ctx, g, P.ViewAuditLog);
        const limit = intQuery(ctx, 'limit', 50, 1, 100);
        const userId = snowflakeQuery(ctx, 'user_id');
        const before = snowflakeQuery(ctx, 'before');
        const after = snowflakeQuery(ctx, 'after');
        const actionRaw = ctx.query.get('action_type');
        const actionType = actionRaw ? Number(actionRaw) : undefined;
        if (actionType !== undefined && !Number.isInteger(actionType))
          throw fieldError(['action_type'], 'NUMBER_TYPE_COERCE', `Value "${actionRaw}" is not int.`);
        const entries = w.auditLog(g.id, {
          limit,
          ...(userId ? { userId } : {}),
          ...(before ? { before } : {}),
          ...(after ? { after } : {}),
          ...(actionType !== undefined ? { actionType: actionType as AuditLogEvent } : {}),
        });
        const userIds = new Set<string>();
        for (const e of entries) {
          if (e.user_id) userIds.add(e.user_id);
          if (e.target_id && w.user(e.target_id)) userIds.add(e.target_id);
        }
        return {
          body: {
            audit_log_entries: entries,
            users: [...userIds].map((id) => w.userOf(id)),
            integrations: [],
            webhooks: [],
            guild_scheduled_events: [...g.scheduledEvents.values()],
            threads: [],
            application_commands: [],
            auto_moderation_rules: [...g.autoModerationRules.values()],
          },
        };
      },
    },
  ];
}
