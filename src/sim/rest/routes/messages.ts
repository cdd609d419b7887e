/**
 * Channel messages, bulk delete, pins and reactions.
 */
import {
  AuditLogEvent,
  ChannelType,
  MessageFlags,
  MessageType,
  PermissionFlagsBits as P,
} from 'discord-api-types/v10';
import { z } from 'zod';
import { snowflakeTimestamp } from '../../world/snowflake.js';
import { Errors, RestError, fieldError } from '../errors.js';
import { parseForm } from '../form.js';
import {
  channelPerms,
  intQuery,
  messageInput,
  parseEmoji,
  requireChannelPerms,
  snowflakeQuery,
  TEXT_TYPES,
  visibleChannel,
} from '../helpers.js';
import type { RestContext, RouteDef } from '../router.js';

const REACTIONS_BUCKET = 'reactions /channels/:channel_id/messages/:message_id/reactions';
const FOURTEEN_DAYS_MS = 14 * 86_400_000;

function requireMessage(ctx: RestContext, channelId: string, messageId: string | undefined) {
  const r = /^\d{1,20}$/.test(messageId ?? '')
    ? ctx.deps.world.message(channelId, messageId as string)
    : undefined;
  if (!r) throw Errors.unknown('message');
  return r;
}

function audit(
  ctx: RestContext,
  guildId: string | null,
  entry: Parameters<RestContext['deps']['world']['addAuditLogEntry']>[1],
): void {
  if (guildId)
    ctx.deps.world.addAuditLogEntry(guildId, { ...entry, ...(ctx.reason ? { reason: ctx.reason } : {}) });
}

/**
 * Routes of this group.
 *
 * @example
 * new Router(messageRoutes());
 */
export function messageRoutes(): RouteDef[] {
  return [
    {
      method: 'GET',
      path: '/channels/:channel_id/messages',
      auth: 'bot',
      handler: (ctx) => {
        const c = visibleChannel(ctx);
        const limit = intQuery(ctx, 'limit', 50, 1, 100);
        const before = snowflakeQuery(ctx, 'before');
        const after = snowflakeQuery(ctx, 'after');
        const around = snowflakeQuery(ctx, 'around');
        if ([before, after, around].filter(Boolean).length > 1) {
          throw fieldError(
            ['around'],
            'MESSAGE_QUERY_MUTUALLY_EXCLUSIVE',
            'Only one of around, before or after may be passed.',
          );
        }
        if (!(channelPerms(ctx, c) & P.ReadMessageHistory)) return { body: [] };
        return {
          body: ctx.deps.world.listMessages(c.id, {
            limit,
            ...(before ? { before } : {}),
            ...(after ? { after } : {}),
            ...(around ? { around } : {}),
          }),
        };
      },
    },
    {
      method: 'GET',
      path: '/channels/:channel_id/messages/:message_id',
      auth: 'bot',
      handler: (ctx) => {
        const c = visibleChannel(ctx);
        requireChannelPerms(ctx, c, P.ReadMessageHistory);
        requireMessage(ctx, c.id, ctx.params.message_id);
        const msg = ctx.deps.world.listMessages(c.id, {
          around: ctx.params.message_id as string,
          limit: 1,
        })[0];
        return { body: msg };
      },
    },
    {
      method: 'POST',
      path: '/channels/:channel_id/messages',
      auth: 'bot',
      files: true,
      handler: (ctx) => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        if (!TEXT_TYPES.has(c.type)) {
          if (c.type === ChannelType.GuildForum || c.type === ChannelType.GuildMedia)
            throw Errors.forumNeedsThread();
          throw new RestError(400, 50008, 'Cannot send messages in a non-text channel');
        }
        // Bots can only DM users they share a guild with.
        if (c.type === ChannelType.DM && !c.recipients.some((u) => w.guildsOf(u).length > 0))
          throw Errors.cannotDm();
        const perms = channelPerms(ctx, c);
        const sendPerm = c.thread ? P.SendMessagesInThreads : P.SendMessages;
        if (!(perms & sendPerm)) throw Errors.missingPermissions();
        if (c.thread?.locked && !(perms & P.ManageThreads)) throw Errors.lockedThread();
        const input = messageInput(ctx, c.id);
        if (input.attachments?.length && !(perms & P.AttachFiles)) throw Errors.missingPermissions();
        if (input.tts && !(perms & P.SendTTSMessages)) input.tts = false;
        if (input.flags) input.flags &= ~MessageFlags.Ephemeral;
        if (input.messageReference) {
          if (!(perms & P.ReadMessageHistory))
            throw new RestError(400, 160002, 'Cannot reply without permission to read message history');
          const ref = input.messageReference;
          const target =
            ref.channel_id && ref.channel_id !== c.id ? undefined : w.message(c.id, ref.message_id);
          if (!target) {
            if (ref.fail_if_not_exists === false) delete input.messageReference;
            else throw fieldError(['message_reference'], 'REPLIES_UNKNOWN_MESSAGE', 'Unknown message');
          }
        }
        if (c.thread?.archived) {
          if (c.thread.locked) throw Errors.archivedThread();
          w.updateChannel(c.id, { thread: { archived: false } });
        }
        const message = w.createMessage(c.id, w.botId, input);
        return { body: message };
      },
    },
    {
      method: 'PATCH',
      path: '/channels/:channel_id/messages/:message_id',
      auth: 'bot',
      files: true,
      handler: (ctx) => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        const r = requireMessage(ctx, c.id, ctx.params.message_id);
        if (c.thread?.archived) throw Errors.archivedThread();
        const own = r.message.author.id === w.botId;
        const body = (ctx.body ?? {}) as Record<string, unknown>;
        if (!own) {
          const onlyFlags = Object.keys(body).every((k) => k === 'flags');
          if (!onlyFlags) throw Errors.notAuthor();
          requireChannelPerms(ctx, c, P.ManageMessages);
        }
        const input = messageInput(ctx, c.id, { edit: true, existing: r.message.attachments });
        if (input.attachments?.length && !(channelPerms(ctx, c) & P.AttachFiles) && ctx.files.length > 0)
          throw Errors.missingPermissions();
        return { body: w.editMessage(c.id, r.message.id, input) };
      },
    },
    {
      method: 'DELETE',
      path: '/channels/:channel_id/messages/:message_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        const r = requireMessage(ctx, c.id, ctx.params.message_id);
        const own = r.message.author.id === w.botId;
        if (!own) {
          if (!c.guildId) throw Errors.dmChannel();
          requireChannelPerms(ctx, c, P.ManageMessages);
        }
        w.deleteMessage(c.id, r.message.id);
        if (!own && r.message.type !== MessageType.UserJoin) {
          audit(ctx, c.guildId, {
            action_type: AuditLogEvent.MessageDelete,
            user_id: w.botId,
            target_id: r.message.author.id,
            options: { channel_id: c.id, count: '1' },
          } as never);
        }
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/channels/:channel_id/messages/bulk-delete',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        if (!c.guildId) throw Errors.dmChannel();
        requireChannelPerms(ctx, c, P.ManageMessages);
        const body = parseForm(z.object({ messages: z.array(z.string()) }), ctx.body);
        if (body.messages.length < 2 || body.messages.length > 100) throw Errors.bulkCount();
        body.messages.forEach((id, i) => {
          if (!/^\d{1,20}$/.test(id))
            throw fieldError(['messages', i], 'NUMBER_TYPE_COERCE', `Value "${id}" is not snowflake.`);
        });
        const now = w.clock();
        if (body.messages.some((id) => now - snowflakeTimestamp(id) > FOURTEEN_DAYS_MS))
          throw Errors.bulkTooOld();
        const deleted = w.bulkDeleteMessages(c.id, [...new Set(body.messages)]);
        if (deleted.length > 0) {
          audit(ctx, c.guildId, {
            action_type: AuditLogEvent.MessageBulkDelete,
            user_id: w.botId,
            target_id: c.id,
            options: { count: String(deleted.length) },
          } as never);
        }
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/channels/:channel_id/pins',
      auth: 'bot',
      handler: (ctx) => {
        const c = visibleChannel(ctx);
        requireChannelPerms(ctx, c, P.ReadMessageHistory);
        const msgs = [...c.pins]
          .reverse()
          .map((id) => ctx.deps.world.listMessages(c.id, { around: id, limit: 1 })[0])
          .filter(Boolean);
        return { body: msgs };
      },
    },
    ...(['PUT', 'DELETE'] as const).map((method): RouteDef => ({
      method,
      path: '/channels/:channel_id/pins/:message_id',
      auth: 'bot',
      handler: (ctx) => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        const perms = channelPerms(ctx, c);
        if (c.guildId && !(perms & (P.ManageMessages | P.PinMessages))) throw Errors.missingPermissions();
        const r = requireMessage(ctx, c.id, ctx.params.message_id);
        w.pinMessage(c.id, r.message.id, method === 'PUT');
        audit(ctx, c.guildId, {
          action_type: method === 'PUT' ? AuditLogEvent.MessagePin : AuditLogEvent.MessageUnpin,
          user_id: w.botId,
          target_id: r.message.author.id,
          options: { channel_id: c.id, message_id: r.message.id },
        } as never);
        return { status: 204 };
      },
    })),
    // Reactions (one shared bucket per channel, as on Discord).
    {
      method: 'PUT',
      path: '/channels/:channel_id/messages/:message_id/reactions/:emoji/@me',
      auth: 'bot',
      bucket: REACTIONS_BUCKET,
      handler: (ctx) => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        const r = requireMessage(ctx, c.id, ctx.params.message_id);
        const emoji = parseEmoji(ctx.params.emoji ?? '');
        const perms = channelPerms(ctx, c);
        if (!(perms & P.ReadMessageHistory)) throw Errors.missingPermissions();
        const key = emoji.id ? `${emoji.name ?? '_'}:${emoji.id}` : (emoji.name ?? '');
        const exists = r.reactions.has(key);
        if (emoji.id && !exists) throw Errors.unknown('emoji');
        if (!exists && !(perms & P.AddReactions)) throw Errors.missingPermissions();
        w.addReaction(c.id, r.message.id, w.botId, emoji);
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      path: '/channels/:channel_id/messages/:message_id/reactions/:emoji/@me',
      auth: 'bot',
      bucket: REACTIONS_BUCKET,
      handler: (ctx) => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        const r = requireMessage(ctx, c.id, ctx.params.message_id);
        w.removeReaction(c.id, r.message.id, w.botId, parseEmoji(ctx.params.emoji ?? ''));
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      path: '/channels/:channel_id/messages/:message_id/reactions/:emoji/:user_id',
      auth: 'bot',
      bucket: REACTIONS_BUCKET,
      handler: (ctx) => {
        const w = ctx.deps.world;
        const c = visibleChannel(ctx);
        const r = requireMessage(ctx, c.id, ctx.params.message_id);
        const emoji = parseEmoji(ctx.params.emoji ?? '');
        if (ctx.params.user_id !== w.botId) {
          if (!c.guildId) throw Errors.dmChannel();
          requireChannelPerms(ctx, c, P.ManageMessages);
        }
        w.removeReaction(c.id, r.message.id, ctx.params.user_id as string, emoji);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/channels/:channel_id/messages/:message_id/reactions/:emoji',
      auth: 'bot',
      bucket: REACTIONS_BUCKET,
      handler: (ctx) => {
        const c = visibleChannel(ctx);
        requireChannelPerms(ctx, c, P.ReadMessageHistory);
        const r = requireMessage(ctx, c.id, ctx.params.message_id);
        const limit = intQuery(ctx, 'limit', 25, 1, 100);
        const after = snowflakeQuery(ctx, 'after');
        return {
          body: ctx.deps.world.reactionUsers(c.id, r.message.id, parseEmoji(ctx.params.emoji ?? ''), {
            limit,
            ...(after ? { after } : {}),
          }),
        };
      },
    },
    {
      method: 'DELETE',
      path: '/channels/:channel_id/messages/:message_id/reactions',
      auth: 'bot',
      bucket: REACTIONS_BUCKET,
      handler: (ctx) => {
        const c = visibleChannel(ctx);
        if (!c.guildId) throw Errors.dmChannel();
        requireChannelPerms(ctx, c, P.ManageMessages);
        const r = requireMessage(ctx, c.id, ctx.params.message_id);
        ctx.deps.world.removeAllReactions(c.id, r.message.id);
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      path: '/channels/:channel_id/messages/:message_id/reactions/:emoji',
      auth: 'bot',
      bucket: REACTIONS_BUCKET,
      handler: (ctx) => {
        const c = visibleChannel(ctx);
        if (!c.guildId) throw Errors.dmChannel();
        requireChannelPerms(ctx, c, P.ManageMessages);
        const r = requireMessage(ctx, c.id, ctx.params.message_id);
        ctx.deps.world.removeAllReactions(c.id, r.message.id, parseEmoji(ctx.params.emoji ?? ''));
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/channels/:channel_id/typing',
      auth: 'bot',
      handler: (ctx) => {
        const c = visibleChannel(ctx);
        if (c.guildId) requireChannelPerms(ctx, c, c.thread ? P.SendMessagesInThreads : P.SendMessages);
        return { status: 204 };
      },
    },
  ];
}
