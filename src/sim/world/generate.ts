/**
 * Deterministic generation of guilds and users from a seed. A guild is generated from its
 * {@link GuildSeed} alone, so the world can keep only seeds for untouched guilds and rebuild the same
 * guild on demand (a GUILD_CREATE for 10,000 guilds does not need 10,000 guilds in memory).
 *
 * Generated ids encode where they come from: a guild id is `(ts << 22)`; its channels, roles and other
 * children share the guild's timestamp with worker 1 (channels and threads), 2 (roles) or 3 (other), so
 * the owning guild of any generated id is `(id >> 22) << 22`. Pool users use worker 4 and encode their
 * pool index in the timestamp.
 */
import {
  ChannelType,
  type APIGuildForumTag,
  type APIRole,
  type APIUser,
  OverwriteType,
  PermissionFlagsBits,
  ThreadAutoArchiveDuration,
} from 'discord-api-types/v10';
import { mixSeed, Random } from './random.js';
import { DISCORD_EPOCH, snowflakeFrom } from './snowflake.js';
import type { ChannelRecord, GuildRecord, MemberRecord, VoiceStateRecord } from './state.js';

/**
 * Worker bits of generated ids.
 *
 * @example
 * childId(seed, IdKind.role, 0);
 */
export const IdKind = { guild: 0, channel: 1, role: 2, other: 3, user: 4 } as const;

/** Everything needed to (re)build one guild. */
export interface GuildSeed {
  readonly index: number;
  readonly id: string;
  readonly ts: number;
  readonly channels: number;
  readonly roles: number;
  readonly members: number;
  readonly name?: string;
}

/** World-level inputs of generation. */
export interface GenerationContext {
  readonly seed: number;
  readonly botUserId: string;
  readonly botPermissions: bigint;
  readonly userPoolSize: number;
  readonly userPoolBaseTs: number;
}

/**
 * Permissions of @everyone in generated guilds (Discord's defaults for a new server, roughly).
 *
 * @example
 * (EVERYONE_PERMISSIONS & PermissionFlagsBits.SendMessages) !== 0n; // true
 */
export const EVERYONE_PERMISSIONS =
  PermissionFlagsBits.CreateInstantInvite |
  PermissionFlagsBits.ChangeNickname |
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.SendMessagesInThreads |
  PermissionFlagsBits.CreatePublicThreads |
  PermissionFlagsBits.EmbedLinks |
  PermissionFlagsBits.AttachFiles |
  PermissionFlagsBits.AddReactions |
  PermissionFlagsBits.UseExternalEmojis |
  PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.UseApplicationCommands |
  PermissionFlagsBits.Connect |
  PermissionFlagsBits.Speak |
  PermissionFlagsBits.UseVAD |
  PermissionFlagsBits.Stream;

/**
 * Permissions of the bot's managed role by default: a typical moderation bot invite.
 *
 * @example
 * World.create({ botPermissions: DEFAULT_BOT_PERMISSIONS & ~PermissionFlagsBits.BanMembers });
 */
export const DEFAULT_BOT_PERMISSIONS =
  EVERYONE_PERMISSIONS |
  PermissionFlagsBits.KickMembers |
  PermissionFlagsBits.BanMembers |
  PermissionFlagsBits.ManageChannels |
  PermissionFlagsBits.ManageGuild |
  PermissionFlagsBits.ViewAuditLog |
  PermissionFlagsBits.ManageMessages |
  PermissionFlagsBits.ManageRoles |
  PermissionFlagsBits.ManageNicknames |
  PermissionFlagsBits.ManageThreads |
  PermissionFlagsBits.ManageEvents |
  PermissionFlagsBits.CreateEvents |
  PermissionFlagsBits.ModerateMembers |
  PermissionFlagsBits.MoveMembers |
  PermissionFlagsBits.MuteMembers |
  PermissionFlagsBits.MentionEveryone;

const MODERATOR_PERMISSIONS =
  EVERYONE_PERMISSIONS |
  PermissionFlagsBits.KickMembers |
  PermissionFlagsBits.BanMembers |
  PermissionFlagsBits.ManageMessages |
  PermissionFlagsBits.ModerateMembers |
  PermissionFlagsBits.ManageNicknames |
  PermissionFlagsBits.ViewAuditLog |
  PermissionFlagsBits.ManageThreads;

const ADJECTIVES = [
  'Cozy',
  'Rocket',
  'Pixel',
  'Midnight',
  'Casual',
  'Retro',
  'Lunar',
  'Chill',
  'Arcane',
  'Neon',
];
const NOUNS = [
  'Lounge',
  'League',
  'Guild',
  'Hangout',
  'Club',
  'Crew',
  'Den',
  'Collective',
  'Society',
  'Garage',
];
const FIRST = [
  'alex',
  'sam',
  'jo',
  'kai',
  'mia',
  'noa',
  'rin',
  'lee',
  'ari',
  'zoe',
  'max',
  'eli',
  'ivy',
  'leo',
];
const COSMETIC = [
  'Member',
  'Regular',
  'Veteran',
  'Artist',
  'Gamer',
  'Streamer',
  'Booster',
  'Events',
  'Music',
];
const TEXT_NAMES = [
  'chat',
  'memes',
  'media',
  'clips',
  'off-topic',
  'help',
  'lfg',
  'art',
  'music',
  'bots',
  'news',
];
const VOICE_NAMES = ['Lounge', 'Gaming', 'Music', 'AFK', 'Study', 'Squad'];
const FORUM_TAGS = ['question', 'bug', 'idea', 'solved'];

/**
 * Timestamp of guild number `index` of `count`: spread uniformly over 2016–2024 with jitter, so shard
 * routing `(id >> 22) % n` spreads guilds evenly.
 *
 * @example
 * guildTimestamp(7, 3, 1000);
 */
export function guildTimestamp(seed: number, index: number, count: number): number {
  const start = Date.UTC(2016, 0, 1);
  const span = Date.UTC(2024, 11, 31) - start;
  const slot = span / Math.max(1, count);
  const rng = new Random(mixSeed(seed, index * 2 + 1));
  return Math.floor(start + slot * index + rng.next() * (slot - 1));
}

/**
 * Id of a generated child of a guild.
 *
 * @example
 * childId(seed, IdKind.channel, 0); // the guild's first channel
 */
export function childId(seed: GuildSeed, kind: number, n: number): string {
  return snowflakeFrom(seed.ts, kind, 0, n);
}

/**
 * The guild id that generated `id`, when `id` is a generated child id (else undefined).
 *
 * @example
 * generatedOwner(channelId); // '…guild id…'
 */
export function generatedOwner(id: string): { guildId: string; kind: number } | undefined {
  let v: bigint;
  try {
    v = BigInt(id);
  } catch {
    return undefined;
  }
  const kind = Number((v >> 17n) & 31n);
  const proc = Number((v >> 12n) & 31n);
  if (proc !== 0 || kind < 1 || kind > 3) return undefined;
  return { guildId: ((v >> 22n) << 22n).toString(), kind };
}

/**
 * The pool user with index `index`.
 *
 * @example
 * poolUser(ctx, 0).username; // 'alex0'
 */
export function poolUser(ctx: GenerationContext, index: number): APIUser {
  const rng = new Random(mixSeed(ctx.seed ^ 0x5bd1e995, index));
  const first = rng.pick(FIRST);
  const bot = rng.chance(0.02);
  return {
    id: snowflakeFrom(ctx.userPoolBaseTs + index * 7, IdKind.user, 0, 0),
    username: `${first}${index}`,
    discriminator: '0',
    global_name: bot ? null : `${first[0]?.toUpperCase()}${first.slice(1)} ${index}`,
    avatar: rng.chance(0.7)
      ? rng
          .int(0, 2 ** 31)
          .toString(16)
          .padStart(32, 'a')
      : null,
    ...(bot ? { bot: true } : {}),
  };
}

/**
 * Pool index of a generated user id, or undefined.
 *
 * @example
 * poolIndex(ctx, poolUser(ctx, 5).id); // 5
 */
export function poolIndex(ctx: GenerationContext, id: string): number | undefined {
  let v: bigint;
  try {
    v = BigInt(id);
  } catch {
    return undefined;
  }
  if (Number((v >> 17n) & 31n) !== IdKind.user || Number((v >> 12n) & 31n) !== 0) return undefined;
  const offset = Number(v >> 22n) + DISCORD_EPOCH - ctx.userPoolBaseTs;
  if (offset < 0 || offset % 7 !== 0) return undefined;
  const index = offset / 7;
  return index < ctx.userPoolSize ? index : undefined;
}

/**
 * Whether pool user `index` is a generated member of the guild of `seed` (without generating the guild).
 *
 * @example
 * isPoolMember(ctx, seed, poolIndex(ctx, userId) ?? -1);
 */
export function isPoolMember(ctx: GenerationContext, seed: GuildSeed, index: number): boolean {
  const n = Math.min(seed.members, ctx.userPoolSize);
  const start = (seed.index * 7919 * Math.max(1, n)) % ctx.userPoolSize;
  return index >= 0 && (index - start + ctx.userPoolSize) % ctx.userPoolSize < n;
}

/**
 * Pool indexes of the members of a guild (the first one owns it).
 *
 * @example
 * memberIndexes(ctx, seed).map((i) => poolUser(ctx, i));
 */
export function memberIndexes(ctx: GenerationContext, seed: GuildSeed): number[] {
  const n = Math.min(seed.members, ctx.userPoolSize);
  const start = (seed.index * 7919 * Math.max(1, n)) % ctx.userPoolSize;
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push((start + k) % ctx.userPoolSize);
  return out;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function role(
  id: string,
  name: string,
  position: number,
  permissions: bigint,
  extra: Partial<APIRole> = {},
): APIRole {
  return {
    id,
    name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position,
    permissions: permissions.toString(),
    managed: false,
    mentionable: false,
    flags: 0 as APIRole['flags'],
    ...extra,
  };
}

/**
 * An empty channel record with Discord's defaults.
 *
 * @example
 * const c = newChannel({ id, type: ChannelType.GuildText, guildId, name: 'general' });
 */
export function newChannel(
  init: Pick<ChannelRecord, 'id' | 'type' | 'guildId'> &
    Partial<Omit<ChannelRecord, 'id' | 'type' | 'guildId'>>,
): ChannelRecord {
  return {
    name: null,
    position: 0,
    parentId: null,
    topic: null,
    nsfw: false,
    rateLimitPerUser: 0,
    bitrate: null,
    userLimit: null,
    permissionOverwrites: [],
    lastMessageId: null,
    lastPinTimestamp: null,
    recipients: [],
    thread: null,
    availableTags: [],
    defaultAutoArchiveDuration: null,
    messages: new Map(),
    pins: [],
    flags: 0,
    ...init,
  };
}

/**
 * An empty guild record (no roles, channels or members yet).
 *
 * @example
 * const g = emptyGuild(id, 'My guild', ownerId, new Date().toISOString());
 */
export function emptyGuild(id: string, name: string, ownerId: string, joinedAt: string): GuildRecord {
  return {
    id,
    name,
    icon: null,
    description: null,
    ownerId,
    preferredLocale: 'en-US',
    features: [],
    systemChannelId: null,
    rulesChannelId: null,
    publicUpdatesChannelId: null,
    afkChannelId: null,
    afkTimeout: 300,
    verificationLevel: 1,
    defaultMessageNotifications: 1,
    explicitContentFilter: 2,
    mfaLevel: 0,
    nsfwLevel: 0,
    premiumTier: 0,
    premiumSubscriptionCount: 0,
    joinedAt,
    roles: new Map(),
    channels: new Map(),
    members: new Map(),
    bans: new Map(),
    voiceStates: new Map(),
    scheduledEvents: new Map(),
    scheduledEventUsers: new Map(),
    autoModerationRules: new Map(),
    auditLog: [],
    commands: new Map(),
  };
}

/**
 * Builds the full guild of a seed (same seed → same guild).
 *
 * @example
 * const guild = generateGuild(ctx, seed);
 */
export function generateGuild(ctx: GenerationContext, seed: GuildSeed): GuildRecord {
  const rng = new Random(mixSeed(ctx.seed, seed.index * 2 + 2));
  const memberIdx = memberIndexes(ctx, seed);
  const ownerId = memberIdx.length > 0 ? poolUser(ctx, memberIdx[0] as number).id : ctx.botUserId;
  const name = seed.name ?? `${rng.pick(ADJECTIVES)} ${rng.pick(NOUNS)} ${seed.index}`;
  const joinedMs = seed.ts + rng.int(60_000, 90 * 86_400_000);
  const g = emptyGuild(seed.id, name, ownerId, iso(Math.min(joinedMs, Date.now())));
  g.features = seed.members >= 1000 ? ['COMMUNITY', 'NEWS'] : [];

  // Roles: @everyone, cosmetics, the bot's managed role, Moderator, Admin (top).
  const totalRoles = Math.max(2, seed.roles);
  const extra = Math.max(0, totalRoles - 2);
  const hasAdmin = extra >= 1;
  const hasMod = extra >= 2;
  const cosmetic = extra - (hasAdmin ? 1 : 0) - (hasMod ? 1 : 0);
  let roleN = 0;
  g.roles.set(seed.id, role(seed.id, '@everyone', 0, EVERYONE_PERMISSIONS));
  const cosmeticIds: string[] = [];
  for (let i = 0; i < cosmetic; i++) {
    const id = childId(seed, IdKind.role, roleN++);
    cosmeticIds.push(id);
    g.roles.set(
      id,
      role(id, `${COSMETIC[i % COSMETIC.length]}${i >= COSMETIC.length ? ` ${i}` : ''}`, i + 1, 0n, {
        color: rng.int(0, 0xffffff),
        hoist: rng.chance(0.3),
        mentionable: rng.chance(0.3),
      }),
    );
  }
  const botRoleId = childId(seed, IdKind.role, roleN++);
  g.roles.set(
    botRoleId,
    role(botRoleId, 'guildhall', cosmetic + 1, ctx.botPermissions, {
      managed: true,
      tags: { bot_id: ctx.botUserId },
    }),
  );
  const modRoleId = hasMod ? childId(seed, IdKind.role, roleN++) : undefined;
  if (modRoleId)
    g.roles.set(
      modRoleId,
      role(modRoleId, 'Moderator', cosmetic + 2, MODERATOR_PERMISSIONS, { hoist: true, color: 0x3498db }),
    );
  const adminRoleId = hasAdmin ? childId(seed, IdKind.role, roleN++) : undefined;
  if (adminRoleId) {
    g.roles.set(
      adminRoleId,
      role(adminRoleId, 'Admin', cosmetic + (hasMod ? 3 : 2), PermissionFlagsBits.Administrator, {
        hoist: true,
        color: 0xe74c3c,
      }),
    );
  }

  // Members: the bot, then pool users (the first is the owner).
  g.members.set(ctx.botUserId, {
    userId: ctx.botUserId,
    nick: null,
    roles: [botRoleId],
    joinedAt: g.joinedAt,
    premiumSince: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communicationDisabledUntil: null,
    avatar: null,
  });
  memberIdx.forEach((poolIdx, k) => {
    const user = poolUser(ctx, poolIdx);
    const roles: string[] = [];
    for (const id of cosmeticIds) if (rng.chance(0.15)) roles.push(id);
    if (k > 0 && modRoleId && rng.chance(0.04)) roles.push(modRoleId);
    if (k > 0 && adminRoleId && rng.chance(0.01)) roles.push(adminRoleId);
    const member: MemberRecord = {
      userId: user.id,
      nick: rng.chance(0.2) ? `${user.username}_nick` : null,
      roles,
      joinedAt: iso(seed.ts + (k === 0 ? 0 : rng.int(1000, 300 * 86_400_000))),
      premiumSince: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communicationDisabledUntil: null,
      avatar: null,
    };
    g.members.set(user.id, member);
  });

  // Channels: categories, then general/rules/mod-log and a mix of text, voice, forum and announcement.
  const total = Math.max(1, seed.channels);
  const nCategories = total >= 4 ? Math.max(1, Math.floor(total / 8)) : 0;
  let chN = 0;
  const categories: string[] = [];
  for (let i = 0; i < nCategories; i++) {
    const id = childId(seed, IdKind.channel, chN++);
    categories.push(id);
    g.channels.set(
      id,
      newChannel({
        id,
        type: ChannelType.GuildCategory,
        guildId: seed.id,
        name: ['Text Channels', 'Voice Channels', 'Community', 'Staff'][i % 4] ?? `Category ${i}`,
        position: i,
      }),
    );
  }
  const positions = new Map<number, number>();
  const nextPos = (type: number): number => {
    const p = positions.get(type) ?? 0;
    positions.set(type, p + 1);
    return p;
  };
  const textIds: string[] = [];
  const forumIds: string[] = [];
  const voiceIds: string[] = [];
  const rest = total - nCategories;
  for (let i = 0; i < rest; i++) {
    const id = childId(seed, IdKind.channel, chN++);
    const parentId = categories.length > 0 ? (categories[i % categories.length] as string) : null;
    let type: ChannelType;
    let name: string;
    if (i === 0) [type, name] = [ChannelType.GuildText, 'general'];
    else if (i === 1) [type, name] = [ChannelType.GuildText, 'rules'];
    else if (i === 2) [type, name] = [ChannelType.GuildText, 'mod-log'];
    else {
      const r = rng.next();
      if (r < 0.25) [type, name] = [ChannelType.GuildVoice, `${rng.pick(VOICE_NAMES)} ${i}`];
      else if (r < 0.33) [type, name] = [ChannelType.GuildForum, `forum-${i}`];
      else if (r < 0.38) [type, name] = [ChannelType.GuildAnnouncement, `announcements-${i}`];
      else [type, name] = [ChannelType.GuildText, `${rng.pick(TEXT_NAMES)}-${i}`];
    }
    const ch = newChannel({
      id,
      type,
      guildId: seed.id,
      name,
      parentId,
      position: nextPos(type === ChannelType.GuildVoice ? 2 : 0),
    });
    if (type === ChannelType.GuildVoice) {
      ch.bitrate = 64_000;
      ch.userLimit = rng.chance(0.3) ? rng.int(2, 20) : 0;
      voiceIds.push(id);
    } else if (type === ChannelType.GuildForum) {
      ch.availableTags = FORUM_TAGS.map((t, n): APIGuildForumTag => ({
        id: childId(seed, IdKind.other, 1000 + i * 8 + n),
        name: t,
        moderated: t === 'solved',
        emoji_id: null,
        emoji_name: null,
      }));
      ch.defaultAutoArchiveDuration = ThreadAutoArchiveDuration.OneDay;
      forumIds.push(id);
    } else {
      ch.topic = rng.chance(0.5) ? `Talk about ${name}` : null;
      ch.rateLimitPerUser = rng.chance(0.1) ? 5 : 0;
      textIds.push(id);
    }
    if (name === 'mod-log') {
      ch.permissionOverwrites = [
        {
          id: seed.id,
          type: OverwriteType.Role,
          allow: '0',
          deny: PermissionFlagsBits.ViewChannel.toString(),
        },
      ];
      if (modRoleId)
        ch.permissionOverwrites.push({
          id: modRoleId,
          type: OverwriteType.Role,
          allow: PermissionFlagsBits.ViewChannel.toString(),
          deny: '0',
        });
      ch.permissionOverwrites.push({
        id: botRoleId,
        type: OverwriteType.Role,
        allow: PermissionFlagsBits.ViewChannel.toString(),
        deny: '0',
      });
    }
    if (name === 'general') g.systemChannelId = id;
    if (name === 'rules') g.rulesChannelId = id;
    g.channels.set(id, ch);
  }

  // Active threads: about one per ten channels, in text channels and forums.
  const parents = [...textIds.slice(3), ...forumIds];
  const nThreads = parents.length > 0 ? Math.floor(total / 10) : 0;
  const memberIds = [...g.members.keys()].filter((id) => id !== ctx.botUserId);
  for (let i = 0; i < nThreads; i++) {
    const parentId = rng.pick(parents);
    const parent = g.channels.get(parentId) as ChannelRecord;
    const id = childId(seed, IdKind.channel, chN++);
    const ownerIdT = memberIds.length > 0 ? rng.pick(memberIds) : ctx.botUserId;
    const created = seed.ts + rng.int(86_400_000, 200 * 86_400_000);
    const messages = rng.int(1, 200);
    g.channels.set(
      id,
      newChannel({
        id,
        type: ChannelType.PublicThread,
        guildId: seed.id,
        name: parent.type === ChannelType.GuildForum ? `Post ${i}` : `thread-${i}`,
        parentId,
        rateLimitPerUser: 0,
        thread: {
          ownerId: ownerIdT,
          archived: false,
          locked: false,
          invitable: true,
          autoArchiveDuration: ThreadAutoArchiveDuration.OneWeek,
          archiveTimestamp: iso(Math.min(created, Date.now())),
          createTimestamp: iso(Math.min(created, Date.now())),
          messageCount: messages,
          totalMessageSent: messages,
          appliedTags:
            parent.availableTags.length > 0 ? [(parent.availableTags[0] as APIGuildForumTag).id] : [],
          members: new Set([ownerIdT]),
        },
      }),
    );
  }

  // A few members in voice.
  const inVoice = voiceIds.length > 0 ? Math.min(memberIds.length, Math.floor(memberIds.length / 25)) : 0;
  for (let i = 0; i < inVoice; i++) {
    const userId = memberIds[(i * 13) % memberIds.length] as string;
    if (g.voiceStates.has(userId)) continue;
    const vs: VoiceStateRecord = {
      userId,
      channelId: rng.pick(voiceIds),
      sessionId: rng
        .int(0, 2 ** 31)
        .toString(16)
        .padStart(32, '0'),
      selfMute: rng.chance(0.3),
      selfDeaf: rng.chance(0.1),
      selfVideo: false,
      selfStream: false,
      suppress: false,
      requestToSpeakTimestamp: null,
    };
    g.voiceStates.set(userId, vs);
  }
  return g;
}
