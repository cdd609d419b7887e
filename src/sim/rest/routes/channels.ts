/**
 * Channels (get, modify with the name/topic edit limit, delete, permission overwrites) and threads.
 */
import {
  AuditLogEvent,
  ChannelType,
  MessageFlags,
  OverwriteType,
  PermissionFlagsBits as P,
  ThreadAutoArchiveDuration,
  type APIAuditLogChange,
} from 'discord-api-types/v10';
import { z } from 'zod';
import { ALL_PERMISSIONS } from '../../world/permissions.js';
import type { ChannelRecord } from '../../world/index.js';
import { Errors, RestError, fieldError } from '../errors.js';
import { parseForm, snowflake } from '../form.js';
import {
  botMember,
  channelPerms,
  guildOf,
  intQuery,
  messageInput,
  requireChannelPerms,
  visibleChannel,
} from '../helpers.js';
import type { RestContext, RestReply, RouteDef } from '../router.js';
import type { RateLimiter } from '../rate-limit.js';

const archiveDuration = z.union([z.literal(60), z.literal(1440), z.literal(4320), z.literal(10080)]);
const permString = z
  .union([z.string().regex(/^\d{1,20}$/), z.number().int().min(0)])
  .transform((v) => String(v));

const overwriteSchema = z.object({
  id: snowflake,
  type: z.union([z.literal(0), z.literal(1)]),
  allow: permString.optional(),
  deny: permString.optional(),
});

const modifyChannelSchema = z
  .object({
    name: z.string().min(1).max(100).optional(),
    topic: z.string().max(4096).nullable().optional(),
    nsfw: z.boolean().nullable().optional(),
    position: z.number().int().nullable().optional(),
    rate_limit_per_user: z.number().int().min(0).max(21600).nullable().optional(),
    bitrate: z.number().int().min(8000).max(384000).nullable().optional(),
    user_limit: z.number().int().min(0).max(99).nullable().optional(),
    permission_overwrites: z.array(overwriteSchema).max(100).nullable().optional(),
    parent_id: snowflake.nullable().optional(),
    default_auto_archive_duration: archiveDuration.nullable().optional(),
    archived: z.boolean().optional(),
    auto_archive_duration: archiveDuration.optional(),
    locked: z.boolean().optional(),
    invitable: z.boolean().optional(),
    applied_tags: z.array(snowflake).max(5).optional(),
    flags: z.number().int().optional(),
  })
  .loose();

function audit(ctx: RestContext, guildId: string | null, entry: Record<string, unknown>): void {
  if (guildId)
    ctx.deps.world.addAuditLogEntry(guildId, {
      ...entry,
      ...(ctx.reason ? { reason: ctx.reason } : {}),
    } as never);
}

/** The bot may not grant permissions it does not have (unless Administrator/owner). */
function requireGrantable(ctx: RestContext, c: ChannelRecord, allow: bigint, deny: bigint): void {
  const g = guildOf(ctx, c.guildId ?? '');
  const have = ctx.deps.world.permissionsIn(g, botMember(ctx, g), c);
  if (have === ALL_PERMISSIONS) return;
  if (((allow | deny) & ~have) !== 0n) throw Errors.missingPermissions();
}

/**
 * Routes of this group; `limiter` enforces the channel name/topic edit limit.
 *
 * @example
 * new Router(channelRoutes(() => rateLimiter));
 */
export function channelRoutes(limiter: () => RateLimiter): RouteDef[] {
  return [
    {
      method: 'GET',
      path: '/channels/:channel_id',
      auth: 'bot',
      handler: (ctx) => ({ body: ctx.deps.world.apiChannel(visibleChannel(ctx)) }),
    },
    {
      method: 'PATCH',
      path: '/channels/:channel_id',
      auth: 'bot',
      handler: (ctx): RestReply => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        if (!c.guildId) throw Errors.dmChannel();
        const body = parseForm(modifyChannelSchema, ctx.body);
        const perms = channelPerms(ctx, c);
        if (c.thread) {
          const owner = c.thread.ownerId === w.botId;
          const ownerFields = [
            'name',
            'archived',
            'auto_archive_duration',
            'applied_tags',
            'rate_limit_per_user',
          ];
          const needsManage = Object.keys(body).some((k) => !ownerFields.includes(k)) || !owner;
          if (needsManage && !(perms & P.ManageThreads)) throw Errors.missingPermissions();
          if (c.thread.locked && body.archived === false && !(perms & P.ManageThreads))
            throw Errors.lockedThread();
          if (
            c.thread.archived &&
            body.archived !== false &&
            Object.keys(body).some((k) => k !== 'archived' && k !== 'locked')
          )
            throw Errors.archivedThread();
        } else {
          if (!(perms & P.ManageChannels)) throw Errors.missingPermissions();
          if (body.permission_overwrites && !(perms & P.ManageRoles)) throw Errors.missingPermissions();
          if (
            body.topic &&
            body.topic.length >
              (c.type === ChannelType.GuildForum || c.type === ChannelType.GuildMedia ? 4096 : 1024)
          ) {
            throw fieldError(['topic'], 'BASE_TYPE_MAX_LENGTH', 'Must be 1024 or fewer in length.');
          }
          if (body.parent_id) {
            const parent = w.channel(body.parent_id);
            if (!parent || parent.guildId !== c.guildId || parent.type !== ChannelType.GuildCategory) {
              throw fieldError(['parent_id'], 'CHANNEL_PARENT_INVALID', 'Category does not exist');
            }
          }
        }
        if (body.name !== undefined || body.topic !== undefined) {
          const hit = limiter().takeRename(c.id, {});
          if (hit) {
            return {
              status: 429,
              body: {
                message: 'The resource is being rate limited.',
                retry_after: Math.round(hit.retryAfter * 1000) / 1000,
                global: false,
              },
              headers: hit.headers,
            };
          }
        }
        if (body.permission_overwrites) {
          for (const o of body.permission_overwrites)
            requireGrantable(ctx, c, BigInt(o.allow ?? '0'), BigInt(o.deny ?? '0'));
        }
        const changes: APIAuditLogChange[] = [];
        const note = (key: string, oldValue: unknown, newValue: unknown): void => {
          if (newValue !== undefined && JSON.stringify(oldValue) !== JSON.stringify(newValue))
            changes.push({ key, old_value: oldValue, new_value: newValue } as APIAuditLogChange);
        };
        note('name', c.name, body.name);
        note('topic', c.topic, body.topic);
        note('rate_limit_per_user', c.rateLimitPerUser, body.rate_limit_per_user ?? undefined);
        note('nsfw', c.nsfw, body.nsfw ?? undefined);
        const updated = w.updateChannel(c.id, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.topic !== undefined ? { topic: body.topic } : {}),
          ...(body.nsfw !== undefined && body.nsfw !== null ? { nsfw: body.nsfw } : {}),
          ...(body.position !== undefined && body.position !== null ? { position: body.position } : {}),
          ...(body.rate_limit_per_user !== undefined && body.rate_limit_per_user !== null
            ? { rateLimitPerUser: body.rate_limit_per_user }
            : {}),
          ...(body.bitrate !== undefined && body.bitrate !== null ? { bitrate: body.bitrate } : {}),
          ...(body.user_limit !== undefined && body.user_limit !== null
            ? { userLimit: body.user_limit }
            : {}),
          ...(body.parent_id !== undefined ? { parentId: body.parent_id } : {}),
          ...(body.default_auto_archive_duration
            ? { defaultAutoArchiveDuration: body.default_auto_archive_duration }
            : {}),
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
          ...(c.thread
            ? {
                thread: {
                  ...(body.archived !== undefined ? { archived: body.archived } : {}),
                  ...(body.locked !== undefined ? { locked: body.locked } : {}),
                  ...(body.auto_archive_duration ? { autoArchiveDuration: body.auto_archive_duration } : {}),
                  ...(body.invitable !== undefined ? { invitable: body.invitable } : {}),
                  ...(body.applied_tags ? { appliedTags: body.applied_tags } : {}),
                },
              }
            : {}),
        });
        audit(ctx, c.guildId, {
          action_type: c.thread ? AuditLogEvent.ThreadUpdate : AuditLogEvent.ChannelUpdate,
          user_id: w.botId,
          target_id: c.id,
          changes,
        });
        return { body: w.apiChannel(updated) };
      },
    },
    {
      method: 'DELETE',
      path: '/channels/:channel_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        if (c.guildId) {
          const perms = channelPerms(ctx, c);
          if (!(perms & (c.thread ? P.ManageThreads : P.ManageChannels))) throw Errors.missingPermissions();
          const g = guildOf(ctx, c.guildId);
          if (
            g.features.includes('COMMUNITY') &&
            (g.rulesChannelId === c.id || g.publicUpdatesChannelId === c.id)
          ) {
            throw new RestError(400, 50074, 'Cannot delete a channel required for Community guilds');
          }
        }
        const payload = w.deleteChannel(c.id);
        audit(ctx, c.guildId, {
          action_type: c.thread ? AuditLogEvent.ThreadDelete : AuditLogEvent.ChannelDelete,
          user_id: w.botId,
          target_id: c.id,
          changes: [{ key: 'name', old_value: c.name }],
        });
        return { body: payload };
      },
    },
    {
      method: 'PUT',
      path: '/channels/:channel_id/permissions/:overwrite_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        if (!c.guildId || c.thread) throw Errors.wrongChannelType();
        requireChannelPerms(ctx, c, P.ManageRoles);
        const body = parseForm(
          z.object({
            type: z.union([z.literal(0), z.literal(1)]),
            allow: permString.nullable().optional(),
            deny: permString.nullable().optional(),
          }),
          ctx.body,
        );
        const id = ctx.params.overwrite_id ?? '';
        const g = guildOf(ctx, c.guildId);
        if (body.type === OverwriteType.Role && !g.roles.has(id)) throw Errors.unknown('role');
        if (body.type === OverwriteType.Member && !g.members.has(id)) throw Errors.unknown('member');
        const allow = body.allow ?? '0';
        const deny = body.deny ?? '0';
        requireGrantable(ctx, c, BigInt(allow), BigInt(deny));
        const existed = c.permissionOverwrites.some((o) => o.id === id);
        const next = c.permissionOverwrites.filter((o) => o.id !== id);
        next.push({ id, type: body.type as OverwriteType, allow, deny });
        w.updateChannel(c.id, { permissionOverwrites: next });
        audit(ctx, c.guildId, {
          action_type: existed ? AuditLogEvent.ChannelOverwriteUpdate : AuditLogEvent.ChannelOverwriteCreate,
          user_id: w.botId,
          target_id: c.id,
          options: { id, type: String(body.type) },
          changes: [
            { key: 'allow', new_value: allow },
            { key: 'deny', new_value: deny },
          ],
        });
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      path: '/channels/:channel_id/permissions/:overwrite_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        if (!c.guildId || c.thread) throw Errors.wrongChannelType();
        requireChannelPerms(ctx, c, P.ManageRoles);
        const id = ctx.params.overwrite_id ?? '';
        const existing = c.permissionOverwrites.find((o) => o.id === id);
        if (existing) {
          w.updateChannel(c.id, { permissionOverwrites: c.permissionOverwrites.filter((o) => o.id !== id) });
          audit(ctx, c.guildId, {
            action_type: AuditLogEvent.ChannelOverwriteDelete,
            user_id: w.botId,
            target_id: c.id,
            options: { id, type: String(existing.type) },
          });
        }
        return { status: 204 };
      },
    },
    // Threads
    {
      method: 'POST',
      path: '/channels/:channel_id/messages/:message_id/threads',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        if (c.type !== ChannelType.GuildText && c.type !== ChannelType.GuildAnnouncement)
          throw Errors.wrongChannelType();
        requireChannelPerms(ctx, c, P.CreatePublicThreads | P.ReadMessageHistory);
        const body = parseForm(
          z.object({
            name: z.string().min(1).max(100),
            auto_archive_duration: archiveDuration.optional(),
            rate_limit_per_user: z.number().int().min(0).max(21600).nullable().optional(),
          }),
          ctx.body,
        );
        const r = /^\d{1,20}$/.test(ctx.params.message_id ?? '')
          ? w.message(c.id, ctx.params.message_id as string)
          : undefined;
        if (!r) throw Errors.unknown('message');
        if (w.channel(r.message.id)) throw Errors.threadExists();
        const thread = w.createChannel(
          c.guildId as string,
          {
            type:
              c.type === ChannelType.GuildAnnouncement
                ? ChannelType.AnnouncementThread
                : ChannelType.PublicThread,
            name: body.name,
            parentId: c.id,
            rateLimitPerUser: body.rate_limit_per_user ?? 0,
            ...(body.auto_archive_duration
              ? { thread: { autoArchiveDuration: body.auto_archive_duration } as never }
              : {}),
          },
          { threadOwnerId: w.botId, starterMessageId: r.message.id },
        );
        r.message = {
          ...r.message,
          flags: (r.message.flags ?? 0) | MessageFlags.HasThread,
          thread: w.apiChannel(thread),
        };
        audit(ctx, c.guildId, {
          action_type: AuditLogEvent.ThreadCreate,
          user_id: w.botId,
          target_id: thread.id,
          changes: [{ key: 'name', new_value: body.name }],
        });
        return { status: 201, body: w.apiChannel(thread) };
      },
    },
    {
      method: 'POST',
      path: '/channels/:channel_id/threads',
      auth: 'bot',
      files: true,
      handler: (ctx) => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        const raw = (ctx.body ?? {}) as Record<string, unknown>;
        const body = parseForm(
          z
            .object({
              name: z.string().min(1).max(100),
              auto_archive_duration: archiveDuration.optional(),
              type: z.union([z.literal(10), z.literal(11), z.literal(12)]).optional(),
              invitable: z.boolean().optional(),
              rate_limit_per_user: z.number().int().min(0).max(21600).nullable().optional(),
              applied_tags: z.array(snowflake).max(5).optional(),
              message: z.object({}).loose().optional(),
            })
            .loose(),
          raw,
        );
        const isForum = c.type === ChannelType.GuildForum || c.type === ChannelType.GuildMedia;
        if (isForum) {
          requireChannelPerms(ctx, c, P.SendMessages);
          if (!body.message) throw fieldError(['message'], 'BASE_TYPE_REQUIRED', 'This field is required');
          const tagRequired = (c.flags & 16) !== 0;
          if (tagRequired && !(body.applied_tags && body.applied_tags.length > 0))
            throw new RestError(400, 40067, 'A tag is required to create a forum post in this channel');
          const input = messageInput({ ...ctx, body: body.message }, c.id);
          const starterId = w.ids.next();
          const thread = w.createChannel(
            c.guildId as string,
            {
              type: ChannelType.PublicThread,
              name: body.name,
              parentId: c.id,
              rateLimitPerUser: body.rate_limit_per_user ?? 0,
              thread: {
                autoArchiveDuration:
                  body.auto_archive_duration ??
                  c.defaultAutoArchiveDuration ??
                  ThreadAutoArchiveDuration.OneDay,
                appliedTags: body.applied_tags ?? [],
              } as never,
            },
            { threadOwnerId: w.botId, starterMessageId: starterId },
          );
          const message = w.createMessage(thread.id, w.botId, input, { id: starterId });
          audit(ctx, c.guildId, {
            action_type: AuditLogEvent.ThreadCreate,
            user_id: w.botId,
            target_id: thread.id,
            changes: [{ key: 'name', new_value: body.name }],
          });
          return { status: 201, body: { ...w.apiChannel(thread), message } };
        }
        if (c.type !== ChannelType.GuildText && c.type !== ChannelType.GuildAnnouncement)
          throw Errors.wrongChannelType();
        const type = body.type ?? ChannelType.PrivateThread;
        if (type === ChannelType.PrivateThread) {
          if (c.type !== ChannelType.GuildText) throw Errors.wrongChannelType();
          requireChannelPerms(ctx, c, P.CreatePrivateThreads);
        } else requireChannelPerms(ctx, c, P.CreatePublicThreads);
        const thread = w.createChannel(
          c.guildId as string,
          {
            type,
            name: body.name,
            parentId: c.id,
            rateLimitPerUser: body.rate_limit_per_user ?? 0,
            thread: {
              autoArchiveDuration: body.auto_archive_duration ?? ThreadAutoArchiveDuration.ThreeDays,
              appliedTags: [],
            } as never,
          },
          { threadOwnerId: w.botId },
        );
        if (body.invitable === false && thread.thread) thread.thread.invitable = false;
        audit(ctx, c.guildId, {
          action_type: AuditLogEvent.ThreadCreate,
          user_id: w.botId,
          target_id: thread.id,
          changes: [{ key: 'name', new_value: body.name }],
        });
        return { status: 201, body: w.apiChannel(thread) };
      },
    },
    ...(['PUT', 'DELETE'] as const).flatMap((method): RouteDef[] => [
      {
        method,
        path: '/channels/:channel_id/thread-members/@me',
        auth: 'bot',
        handler: (ctx) => {
          const w = ctx.deps.world;
          const c = visibleChannel(ctx);
          if (!c.thread) throw Errors.wrongChannelType();
          if (method === 'PUT') {
            if (c.thread.archived) throw Errors.archivedThread();
            w.joinThread(c.id, w.botId);
          } else w.leaveThread(c.id, w.botId);
          return { status: 204 };
        },
      },
      {
        method,
        path: '/channels/:channel_id/thread-members/:user_id',
        auth: 'bot',
        handler: (ctx) => {
          const w = ctx.deps.world;
          const c = visibleChannel(ctx);
          if (!c.thread) throw Errors.wrongChannelType();
          if (c.thread.archived) throw Errors.archivedThread();
          const userId = ctx.params.user_id ?? '';
          const g = guildOf(ctx, c.guildId ?? '');
          if (!g.members.has(userId)) throw Errors.unknown('member');
          const perms = channelPerms(ctx, c);
          if (method === 'DELETE' && !(perms & P.ManageThreads) && c.thread.ownerId !== w.botId)
            throw Errors.missingPermissions();
          if (method === 'PUT' && !(perms & P.SendMessagesInThreads)) throw Errors.missingPermissions();
          if (method === 'PUT') w.joinThread(c.id, userId);
          else w.leaveThread(c.id, userId);
          return { status: 204 };
        },
      },
    ]),
    {
      method: 'GET',
      path: '/channels/:channel_id/thread-members',
      auth: 'bot',
      handler: (ctx) => {
        const c = visibleChannel(ctx);
        if (!c.thread) throw Errors.wrongChannelType();
        const limit = intQuery(ctx, 'limit', 100, 1, 100);
        const ts = c.thread.createTimestamp;
        return {
          body: [...c.thread.members]
            .slice(0, limit)
            .map((userId) => ({ id: c.id, user_id: userId, join_timestamp: ts, flags: 0 })),
        };
      },
    },
    {
      method: 'GET',
      path: '/guilds/:guild_id/threads/active',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const g = guildOf(ctx);
        const bot = botMember(ctx, g);
        const threads = [...g.channels.values()].filter(
          (c) => c.thread && !c.thread.archived && w.permissionsIn(g, bot, c) & P.ViewChannel,
        );
        return {
          body: {
            threads: threads.map((t) => w.apiChannel(t)),
            members: threads
              .filter((t) => t.thread?.members.has(w.botId))
              .map((t) => ({
                id: t.id,
                user_id: w.botId,
                join_timestamp: t.thread?.createTimestamp,
                flags: 0,
              })),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/channels/:channel_id/threads/archived/public',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        requireChannelPerms(ctx, c, P.ReadMessageHistory);
        const g = guildOf(ctx, c.guildId ?? '');
        const limit = intQuery(ctx, 'limit', 50, 2, 100);
        const threads = [...g.channels.values()].filter(
          (t) => t.parentId === c.id && t.thread?.archived && t.type !== ChannelType.PrivateThread,
        );
        return {
          body: {
            threads: threads.slice(0, limit).map((t) => w.apiChannel(t)),
            members: [],
            has_more: threads.length > limit,
          },
        };
      },
    },
  ];
}
