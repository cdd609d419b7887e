/**
 * Shared checks of the REST routes: the bot's view of guilds and channels, permission checks with
 * Discord's errors, role hierarchy, message bodies (JSON or multipart) and emoji parameters.
 */
import {
  ChannelType,
  MessageFlags,
  PermissionFlagsBits,
  type APIAttachment,
  type APIPartialEmoji,
} from 'discord-api-types/v10';
import { z } from 'zod';
import type { ChannelRecord, GuildRecord, MemberRecord, MessageInput } from '../world/index.js';
import { topRolePosition } from '../world/permissions.js';
import { Errors, FormErrors, RestError, fieldError } from './errors.js';
import { parseForm, snowflake } from './form.js';
import type { RestContext } from './router.js';

/**
 * The guild of a route, 10004 when the bot is not in it.
 *
 * @example
 * const g = guildOf(ctx); // ctx.params.guild_id or 10004
 */
export function guildOf(ctx: RestContext, id = ctx.params.guild_id ?? ''): GuildRecord {
  const g = ctx.deps.world.guild(id);
  if (!g) throw Errors.unknown('guild');
  return g;
}

/**
 * The bot's member record in a guild.
 *
 * @example
 * const bot = botMember(ctx, g);
 */
export function botMember(ctx: RestContext, g: GuildRecord): MemberRecord {
  const m = g.members.get(ctx.deps.world.botId);
  if (!m) throw Errors.unknown('guild');
  return m;
}

/**
 * Throws 50013 unless the bot has all `perms` at guild level.
 *
 * @example
 * requireGuildPerms(ctx, g, PermissionFlagsBits.BanMembers);
 */
export function requireGuildPerms(ctx: RestContext, g: GuildRecord, perms: bigint): void {
  const have = ctx.deps.world.guildPermissions(g, botMember(ctx, g));
  if ((have & perms) !== perms) throw Errors.missingPermissions();
}

/**
 * The bot's permissions in a channel (DMs: everything a DM allows).
 *
 * @example
 * const canSend = (channelPerms(ctx, c) & PermissionFlagsBits.SendMessages) !== 0n;
 */
export function channelPerms(ctx: RestContext, c: ChannelRecord): bigint {
  if (!c.guildId) {
    return (
      PermissionFlagsBits.ViewChannel |
      PermissionFlagsBits.SendMessages |
      PermissionFlagsBits.ReadMessageHistory |
      PermissionFlagsBits.AddReactions |
      PermissionFlagsBits.EmbedLinks |
      PermissionFlagsBits.AttachFiles |
      PermissionFlagsBits.UseExternalEmojis
    );
  }
  const g = ctx.deps.world.requireGuild(c.guildId);
  return ctx.deps.world.permissionsIn(g, botMember(ctx, g), c);
}

/**
 * A channel the bot can see (10003 when it does not exist, 50001 Missing Access when it cannot view it).
 *
 * @example
 * const c = visibleChannel(ctx); // ctx.params.channel_id
 */
export function visibleChannel(ctx: RestContext, id = ctx.params.channel_id ?? ''): ChannelRecord {
  const c = ctx.deps.world.channel(id);
  if (!c) throw Errors.unknown('channel');
  if (c.guildId && !(channelPerms(ctx, c) & PermissionFlagsBits.ViewChannel)) throw Errors.missingAccess();
  return c;
}

/**
 * Throws 50013 unless the bot has all `perms` in the channel.
 *
 * @example
 * requireChannelPerms(ctx, c, PermissionFlagsBits.ManageMessages);
 */
export function requireChannelPerms(ctx: RestContext, c: ChannelRecord, perms: bigint): void {
  if ((channelPerms(ctx, c) & perms) !== perms) throw Errors.missingPermissions();
}

/**
 * Whether `actorId` may act (kick, ban, timeout, rename) on `target` (owner immune, strict hierarchy).
 *
 * @example
 * if (!canActOn(ctx, g, target)) throw Errors.missingPermissions();
 */
export function canActOn(ctx: RestContext, g: GuildRecord, target: MemberRecord): boolean {
  const bot = botMember(ctx, g);
  if (target.userId === g.ownerId) return false;
  if (bot.userId === g.ownerId) return true;
  return (
    topRolePosition(ctx.deps.world.permissionGuild(g), bot) >
    topRolePosition(ctx.deps.world.permissionGuild(g), target)
  );
}

/**
 * Throws 50013 unless the bot's top role is above `position`.
 *
 * @example
 * requireAboveRole(ctx, g, role.position);
 */
export function requireAboveRole(ctx: RestContext, g: GuildRecord, position: number): void {
  const bot = botMember(ctx, g);
  if (bot.userId === g.ownerId) return;
  if (topRolePosition(ctx.deps.world.permissionGuild(g), bot) <= position) throw Errors.missingPermissions();
}

/**
 * Channel types messages can be posted in.
 *
 * @example
 * if (!TEXT_TYPES.has(c.type)) throw Errors.wrongChannelType();
 */
export const TEXT_TYPES: ReadonlySet<ChannelType> = new Set([
  ChannelType.GuildText,
  ChannelType.GuildAnnouncement,
  ChannelType.GuildVoice,
  ChannelType.GuildStageVoice,
  ChannelType.PublicThread,
  ChannelType.PrivateThread,
  ChannelType.AnnouncementThread,
  ChannelType.DM,
]);

/**
 * Whether a channel is a thread.
 *
 * @example
 * isThread(channel); // true for public, private and announcement threads
 */
export function isThread(c: ChannelRecord): boolean {
  return c.thread !== null;
}

const embedSchema = z
  .object({
    title: z.string().max(256).optional(),
    description: z.string().max(4096).optional(),
    url: z.string().optional(),
    color: z.number().int().min(0).max(0xffffff).optional().nullable(),
    timestamp: z.string().optional(),
    footer: z.object({ text: z.string().max(2048), icon_url: z.string().optional() }).optional(),
    author: z
      .object({ name: z.string().max(256), url: z.string().optional(), icon_url: z.string().optional() })
      .optional(),
    fields: z
      .array(
        z.object({
          name: z.string().min(1).max(256),
          value: z.string().min(1).max(1024),
          inline: z.boolean().optional(),
        }),
      )
      .max(25)
      .optional(),
    image: z.object({ url: z.string() }).optional(),
    thumbnail: z.object({ url: z.string() }).optional(),
  })
  .loose();

const attachmentRefSchema = z
  .object({
    id: z.union([z.string(), z.number()]),
    filename: z.string().optional(),
    description: z.string().max(1024).optional(),
  })
  .loose();

/**
 * Message create/edit body (Discord's limits).
 *
 * @example
 * parseForm(messageBodySchema, ctx.body);
 */
export const messageBodySchema = z
  .object({
    content: z.string().max(2000).optional().nullable(),
    nonce: z.union([z.string().max(25), z.number().int()]).optional(),
    tts: z.boolean().optional(),
    embeds: z.array(embedSchema).max(10).optional().nullable(),
    allowed_mentions: z
      .object({
        parse: z.array(z.enum(['roles', 'users', 'everyone'])).optional(),
        roles: z.array(snowflake).max(100).optional(),
        users: z.array(snowflake).max(100).optional(),
        replied_user: z.boolean().optional(),
      })
      .optional()
      .nullable(),
    message_reference: z
      .object({
        message_id: snowflake,
        channel_id: snowflake.optional(),
        guild_id: snowflake.optional(),
        fail_if_not_exists: z.boolean().optional(),
        type: z.number().optional(),
      })
      .optional()
      .nullable(),
    components: z
      .array(z.object({ type: z.number().int() }).loose())
      .max(40)
      .optional()
      .nullable(),
    sticker_ids: z.array(snowflake).max(3).optional(),
    attachments: z.array(attachmentRefSchema).max(10).optional().nullable(),
    flags: z.number().int().min(0).optional().nullable(),
    poll: z
      .object({
        question: z.object({ text: z.string().max(300) }).loose(),
        answers: z.array(z.unknown()).max(10),
      })
      .loose()
      .optional(),
    enforce_nonce: z.boolean().optional(),
  })
  .loose();

/** A parsed message body. */
export type MessageBody = z.infer<typeof messageBodySchema>;

/**
 * Parses a message body (JSON or multipart `payload_json` + `files[n]`), stores uploaded files and returns
 * the world's {@link MessageInput}. `existing` are the attachments an edit may keep.
 *
 * @example
 * const input = messageInput(ctx, channel.id);
 */
export function messageInput(
  ctx: RestContext,
  channelId: string,
  opts: { edit?: boolean; existing?: readonly APIAttachment[] } = {},
): MessageInput {
  const body = parseForm(messageBodySchema, ctx.body);
  const embeds = body.embeds ?? undefined;
  if (embeds) {
    const total = embeds.reduce(
      (n, e) =>
        n +
        (e.title?.length ?? 0) +
        (e.description?.length ?? 0) +
        (e.footer?.text.length ?? 0) +
        (e.author?.name.length ?? 0) +
        (e.fields ?? []).reduce((m, f) => m + f.name.length + f.value.length, 0),
      0,
    );
    if (total > 6000)
      throw fieldError(['embeds'], 'MESSAGE_EMBEDS_TOO_LARGE', 'Embed size exceeds maximum size of 6000');
  }
  const files = ctx.files;
  if (files.length > 10)
    throw new RestError(400, 30015, 'Maximum number of attachments in a message reached (10)');
  for (const f of files) {
    if (f.data.length > 10 * 1024 * 1024) throw new RestError(413, 40005, 'Request entity too large');
  }
  let attachments: APIAttachment[] | undefined;
  if (files.length > 0 || body.attachments) {
    attachments = [];
    const used = new Set<string>();
    const refs = body.attachments ?? [];
    const form = new FormErrors();
    refs.forEach((ref, i) => {
      const key = String(ref.id);
      const file = files.find((f) => f.index === key);
      if (file) {
        used.add(file.field);
        attachments?.push(
          ctx.deps.attachments.put(
            ctx.deps.baseUrl(),
            channelId,
            ctx.deps.world.ids.next(),
            ref.filename ?? file.filename,
            file.contentType,
            file.data,
            {
              ...(ref.description ? { description: ref.description } : {}),
            },
          ),
        );
        return;
      }
      const kept = opts.existing?.find((a) => a.id === key);
      if (kept)
        attachments?.push({
          ...kept,
          ...(ref.description !== undefined ? { description: ref.description } : {}),
        });
      else
        form.add(
          ['attachments', i, 'id'],
          'ATTACHMENT_NOT_FOUND',
          `Attachment ${key} was not found in the request or message.`,
        );
    });
    form.throwIfAny();
    for (const f of files) {
      if (used.has(f.field)) continue;
      attachments.push(
        ctx.deps.attachments.put(
          ctx.deps.baseUrl(),
          channelId,
          ctx.deps.world.ids.next(),
          f.filename,
          f.contentType,
          f.data,
        ),
      );
    }
  }
  const input: MessageInput = {
    ...(body.content !== undefined && body.content !== null ? { content: body.content } : {}),
    ...(embeds !== undefined ? { embeds: embeds as MessageInput['embeds'] } : {}),
    ...(body.components !== undefined && body.components !== null ? { components: body.components } : {}),
    ...(attachments !== undefined ? { attachments } : {}),
    ...(body.tts !== undefined ? { tts: body.tts } : {}),
    ...(body.flags !== undefined && body.flags !== null ? { flags: body.flags } : {}),
    ...(body.nonce !== undefined ? { nonce: body.nonce } : {}),
    ...(body.message_reference ? { messageReference: body.message_reference } : {}),
    ...(body.sticker_ids ? { stickerIds: body.sticker_ids } : {}),
    ...(body.poll ? { poll: body.poll } : {}),
    ...(body.allowed_mentions ? { allowedMentions: body.allowed_mentions } : {}),
  };
  if (!opts.edit) {
    const empty =
      !input.content &&
      !(input.embeds && input.embeds.length > 0) &&
      !(input.attachments && input.attachments.length > 0) &&
      !(input.stickerIds && input.stickerIds.length > 0) &&
      !(input.components && input.components.length > 0) &&
      !input.poll;
    if (empty) throw Errors.emptyMessage();
    const allowedFlags =
      MessageFlags.SuppressEmbeds |
      MessageFlags.SuppressNotifications |
      MessageFlags.Ephemeral |
      MessageFlags.IsComponentsV2 |
      MessageFlags.IsVoiceMessage;
    if (input.flags !== undefined && (input.flags & ~allowedFlags) !== 0) {
      throw fieldError(['flags'], 'MESSAGE_FLAGS_INVALID', 'Invalid flags');
    }
  }
  return input;
}

/**
 * Parses the `:emoji` route parameter: a unicode emoji or `name:id` (10014 when malformed).
 *
 * @example
 * parseEmoji('%F0%9F%91%8D'); // { id: null, name: '👍' }
 */
export function parseEmoji(raw: string): APIPartialEmoji {
  let s = raw;
  try {
    s = decodeURIComponent(raw);
  } catch {
    // already decoded
  }
  const custom = /^(?:a:)?([\w-]{1,32}):(\d{1,20})$/.exec(s);
  if (custom)
    return {
      id: custom[2] as string,
      name: custom[1] as string,
      ...(s.startsWith('a:') ? { animated: true } : {}),
    };
  if (
    s.length > 0 &&
    s.length <= 32 &&
    /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|[#*0-9]\uFE0F?\u20E3)/u.test(s)
  ) {
    return { id: null, name: s };
  }
  throw Errors.unknown('emoji');
}

/**
 * Integer query parameter with bounds (50035 on junk).
 *
 * @example
 * const limit = intQuery(ctx, 'limit', 50, 1, 100);
 */
export function intQuery(ctx: RestContext, name: string, def: number, min: number, max: number): number {
  const raw = ctx.query.get(name);
  if (raw === null || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw fieldError([name], 'NUMBER_TYPE_COERCE', `Value "${raw}" is not int.`);
  if (n < min)
    throw fieldError([name], 'NUMBER_TYPE_MIN', `int value should be greater than or equal to ${min}.`);
  if (n > max)
    throw fieldError([name], 'NUMBER_TYPE_MAX', `int value should be less than or equal to ${max}.`);
  return n;
}

/**
 * Snowflake query parameter (50035 on junk).
 *
 * @example
 * const before = snowflakeQuery(ctx, 'before');
 */
export function snowflakeQuery(ctx: RestContext, name: string): string | undefined {
  const raw = ctx.query.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^\d{1,20}$/.test(raw))
    throw fieldError([name], 'NUMBER_TYPE_COERCE', `Value "${raw}" is not snowflake.`);
  return raw;
}

/**
 * Boolean query parameter as Discord reads them (True/true/1).
 *
 * @example
 * boolQuery(ctx, 'with_counts');
 */
export function boolQuery(ctx: RestContext, name: string): boolean {
  const raw = ctx.query.get(name);
  return raw === 'true' || raw === 'True' || raw === '1';
}

/**
 * Throws 50035 for a path parameter that is not a snowflake (Discord answers 404 for most; we mirror 404).
 *
 * @example
 * requireSnowflakeParam(ctx.params.message_id, 'message');
 */
export function requireSnowflakeParam(
  value: string | undefined,
  kind: Parameters<typeof Errors.unknown>[0],
): string {
  if (!value || !/^\d{1,20}$/.test(value)) throw Errors.unknown(kind);
  return value;
}
