/**
 * Records → Discord v10 payloads. Every function returns a fresh object (callers may hand it to JSON or to
 * the gateway without aliasing world state).
 */
import {
  ChannelType,
  type APIChannel,
  type APIGuild,
  type APIGuildMember,
  type APIMessage,
  type APIReaction,
  type APIThreadMember,
  type APIUser,
  type APIVoiceState,
  type GuildFeature,
  type Locale,
} from 'discord-api-types/v10';
import type { ChannelRecord, GuildRecord, MemberRecord, MessageRecord, VoiceStateRecord } from './state.js';

/** Looks users up by id (the world's user table). */
export type UserLookup = (id: string) => APIUser;

/**
 * A guild member payload (with its user).
 *
 * @example
 * toApiMember(member, users); // { user: {...}, roles: [...], joined_at: '…', … }
 */
export function toApiMember(m: MemberRecord, users: UserLookup, withUser = true): APIGuildMember {
  const out: APIGuildMember = {
    user: users(m.userId),
    nick: m.nick,
    avatar: m.avatar,
    banner: null,
    roles: [...m.roles],
    joined_at: m.joinedAt,
    premium_since: m.premiumSince,
    deaf: m.deaf,
    mute: m.mute,
    flags: m.flags,
    pending: m.pending,
    communication_disabled_until: m.communicationDisabledUntil,
  };
  if (!withUser) delete (out as Partial<APIGuildMember>).user;
  return out;
}

/**
 * A channel payload (guild channel, thread or DM).
 *
 * @example
 * toApiChannel(channel, users);
 */
export function toApiChannel(c: ChannelRecord, users: UserLookup): APIChannel {
  if (c.type === ChannelType.DM) {
    return {
      id: c.id,
      type: ChannelType.DM,
      last_message_id: c.lastMessageId,
      recipients: c.recipients.map((id) => users(id)),
      flags: c.flags,
    } as APIChannel;
  }
  const out: Record<string, unknown> = {
    id: c.id,
    type: c.type,
    guild_id: c.guildId,
    name: c.name,
    parent_id: c.parentId,
    flags: c.flags,
  };
  if (c.thread) {
    const t = c.thread;
    Object.assign(out, {
      owner_id: t.ownerId,
      last_message_id: c.lastMessageId,
      rate_limit_per_user: c.rateLimitPerUser,
      message_count: t.messageCount,
      member_count: Math.min(50, t.members.size),
      total_message_sent: t.totalMessageSent,
      thread_metadata: {
        archived: t.archived,
        auto_archive_duration: t.autoArchiveDuration,
        archive_timestamp: t.archiveTimestamp,
        locked: t.locked,
        ...(c.type === ChannelType.PrivateThread ? { invitable: t.invitable } : {}),
        create_timestamp: t.createTimestamp,
      },
      applied_tags: [...t.appliedTags],
    });
    return out as unknown as APIChannel;
  }
  Object.assign(out, {
    position: c.position,
    permission_overwrites: c.permissionOverwrites.map((o) => ({ ...o })),
    nsfw: c.nsfw,
  });
  switch (c.type) {
    case ChannelType.GuildCategory:
      break;
    case ChannelType.GuildVoice:
    case ChannelType.GuildStageVoice:
      Object.assign(out, {
        bitrate: c.bitrate ?? 64_000,
        user_limit: c.userLimit ?? 0,
        rtc_region: null,
        last_message_id: c.lastMessageId,
        rate_limit_per_user: c.rateLimitPerUser,
      });
      break;
    case ChannelType.GuildForum:
    case ChannelType.GuildMedia:
      Object.assign(out, {
        topic: c.topic,
        rate_limit_per_user: c.rateLimitPerUser,
        last_message_id: c.lastMessageId,
        available_tags: c.availableTags.map((t) => ({ ...t })),
        default_auto_archive_duration: c.defaultAutoArchiveDuration,
        default_reaction_emoji: null,
        default_thread_rate_limit_per_user: 0,
        default_sort_order: null,
        default_forum_layout: 0,
      });
      break;
    default:
      Object.assign(out, {
        topic: c.topic,
        rate_limit_per_user: c.rateLimitPerUser,
        last_message_id: c.lastMessageId,
        last_pin_timestamp: c.lastPinTimestamp,
        ...(c.defaultAutoArchiveDuration
          ? { default_auto_archive_duration: c.defaultAutoArchiveDuration }
          : {}),
      });
  }
  return out as unknown as APIChannel;
}

/**
 * A thread member payload.
 *
 * @example
 * toApiThreadMember(thread, userId, joinedAt);
 */
export function toApiThreadMember(threadId: string, userId: string, joinTimestamp: string): APIThreadMember {
  return {
    id: threadId,
    user_id: userId,
    join_timestamp: joinTimestamp,
    flags: 0 as APIThreadMember['flags'],
  };
}

/**
 * A message payload as seen by `viewerId` (sets `reactions[].me`).
 *
 * @example
 * toApiMessage(record, botUserId);
 */
export function toApiMessage(r: MessageRecord, viewerId: string): APIMessage {
  const msg: APIMessage = { ...r.message };
  if (r.reactions.size > 0) {
    msg.reactions = [...r.reactions.values()].map((x): APIReaction => ({
      count: x.users.size,
      count_details: { burst: 0, normal: x.users.size },
      me: x.users.has(viewerId),
      me_burst: false,
      emoji: { ...x.emoji },
      burst_colors: [],
    }));
  }
  return msg;
}

/**
 * A voice state payload (with member when given).
 *
 * @example
 * toApiVoiceState(guild, vs, users);
 */
export function toApiVoiceState(
  guildId: string | null,
  vs: VoiceStateRecord | { userId: string; channelId: null; sessionId: string },
  member: APIGuildMember | undefined,
): APIVoiceState {
  const full = 'selfMute' in vs ? vs : undefined;
  return {
    ...(guildId ? { guild_id: guildId } : {}),
    channel_id: vs.channelId,
    user_id: vs.userId,
    ...(member ? { member } : {}),
    session_id: vs.sessionId,
    deaf: member?.deaf ?? false,
    mute: member?.mute ?? false,
    self_deaf: full?.selfDeaf ?? false,
    self_mute: full?.selfMute ?? false,
    self_stream: full?.selfStream ?? false,
    self_video: full?.selfVideo ?? false,
    suppress: full?.suppress ?? false,
    request_to_speak_timestamp: full?.requestToSpeakTimestamp ?? null,
  };
}

/**
 * The guild object (without the GUILD_CREATE extra fields).
 *
 * @example
 * toApiGuild(guild, botUserId);
 */
export function toApiGuild(g: GuildRecord, applicationId: string | null = null): APIGuild {
  return {
    id: g.id,
    name: g.name,
    icon: g.icon,
    icon_hash: g.icon,
    splash: null,
    discovery_splash: null,
    owner_id: g.ownerId,
    afk_channel_id: g.afkChannelId,
    afk_timeout: g.afkTimeout,
    widget_enabled: false,
    widget_channel_id: null,
    verification_level: g.verificationLevel,
    default_message_notifications: g.defaultMessageNotifications,
    explicit_content_filter: g.explicitContentFilter,
    roles: [...g.roles.values()].map((r) => ({ ...r })),
    emojis: [],
    features: [...g.features] as GuildFeature[],
    mfa_level: g.mfaLevel,
    application_id: applicationId,
    system_channel_id: g.systemChannelId,
    system_channel_flags: 0,
    rules_channel_id: g.rulesChannelId,
    max_presences: null,
    max_members: 500_000,
    vanity_url_code: null,
    description: g.description,
    banner: null,
    premium_tier: g.premiumTier,
    premium_subscription_count: g.premiumSubscriptionCount,
    preferred_locale: g.preferredLocale as Locale,
    public_updates_channel_id: g.publicUpdatesChannelId,
    max_video_channel_users: 25,
    max_stage_video_channel_users: 50,
    nsfw_level: g.nsfwLevel,
    stickers: [],
    premium_progress_bar_enabled: false,
    hub_type: null,
    safety_alerts_channel_id: null,
    incidents_data: null,
  } as unknown as APIGuild;
}
