/**
 * The world's internal records. They hold what Discord stores; the `serialize.ts` functions turn them into
 * the exact v10 payloads. Records are mutable and owned by {@link World}; nothing outside the simulator
 * should keep references to them across awaits.
 */
import type {
  APIApplicationCommand,
  APIAttachment,
  APIAuditLogEntry,
  APIAutoModerationRule,
  APIEmbed,
  APIGuildForumTag,
  APIGuildScheduledEvent,
  APIMessage,
  APIOverwrite,
  APIPartialEmoji,
  APIRole,
  ChannelType,
  ThreadAutoArchiveDuration,
} from 'discord-api-types/v10';

/** A guild member (the user object lives in the world's user table). */
export interface MemberRecord {
  readonly userId: string;
  nick: string | null;
  roles: string[];
  joinedAt: string;
  premiumSince: string | null;
  deaf: boolean;
  mute: boolean;
  flags: number;
  pending: boolean;
  communicationDisabledUntil: string | null;
  avatar: string | null;
}

/** Thread-only state. */
export interface ThreadRecord {
  ownerId: string;
  archived: boolean;
  locked: boolean;
  invitable: boolean;
  autoArchiveDuration: ThreadAutoArchiveDuration;
  archiveTimestamp: string;
  createTimestamp: string;
  messageCount: number;
  totalMessageSent: number;
  appliedTags: string[];
  /** User ids that joined the thread. */
  members: Set<string>;
}

/** A stored reaction on a message: one emoji, the users that reacted. */
export interface ReactionRecord {
  readonly emoji: APIPartialEmoji;
  readonly users: Set<string>;
}

/** A stored message; reactions are kept apart and rendered per viewer (`me`). */
export interface MessageRecord {
  message: APIMessage;
  readonly reactions: Map<string, ReactionRecord>;
}

/** Any channel: guild text/voice/category/forum/announcement, thread, or DM. */
export interface ChannelRecord {
  readonly id: string;
  readonly type: ChannelType;
  readonly guildId: string | null;
  name: string | null;
  position: number;
  parentId: string | null;
  topic: string | null;
  nsfw: boolean;
  rateLimitPerUser: number;
  bitrate: number | null;
  userLimit: number | null;
  permissionOverwrites: APIOverwrite[];
  lastMessageId: string | null;
  lastPinTimestamp: string | null;
  /** DM: the recipient user ids (not the bot). */
  recipients: string[];
  thread: ThreadRecord | null;
  availableTags: APIGuildForumTag[];
  defaultAutoArchiveDuration: ThreadAutoArchiveDuration | null;
  /** Oldest first; bounded by the world's `maxMessagesPerChannel`. */
  readonly messages: Map<string, MessageRecord>;
  pins: string[];
  flags: number;
}

/** A member's voice connection. */
export interface VoiceStateRecord {
  readonly userId: string;
  channelId: string;
  sessionId: string;
  selfMute: boolean;
  selfDeaf: boolean;
  selfVideo: boolean;
  selfStream: boolean;
  suppress: boolean;
  requestToSpeakTimestamp: string | null;
}

/** A guild and everything in it. */
export interface GuildRecord {
  readonly id: string;
  name: string;
  icon: string | null;
  description: string | null;
  ownerId: string;
  preferredLocale: string;
  features: string[];
  systemChannelId: string | null;
  rulesChannelId: string | null;
  publicUpdatesChannelId: string | null;
  afkChannelId: string | null;
  afkTimeout: 60 | 300 | 900 | 1800 | 3600;
  verificationLevel: number;
  defaultMessageNotifications: number;
  explicitContentFilter: number;
  mfaLevel: number;
  nsfwLevel: number;
  premiumTier: number;
  premiumSubscriptionCount: number;
  /** When the bot joined. */
  joinedAt: string;
  readonly roles: Map<string, APIRole>;
  /** Guild channels and threads. */
  readonly channels: Map<string, ChannelRecord>;
  readonly members: Map<string, MemberRecord>;
  readonly bans: Map<string, { reason: string | null }>;
  readonly voiceStates: Map<string, VoiceStateRecord>;
  readonly scheduledEvents: Map<string, APIGuildScheduledEvent>;
  readonly scheduledEventUsers: Map<string, Set<string>>;
  readonly autoModerationRules: Map<string, APIAutoModerationRule>;
  /** Newest last; bounded. */
  readonly auditLog: APIAuditLogEntry[];
  /** Guild application commands of the simulated app. */
  readonly commands: Map<string, APIApplicationCommand>;
}

/** Message fields a writer supplies (REST body, scenario action, interaction response). */
export interface MessageInput {
  content?: string;
  embeds?: APIEmbed[];
  components?: unknown[];
  attachments?: APIAttachment[];
  tts?: boolean;
  flags?: number;
  nonce?: string | number;
  messageReference?: {
    message_id: string;
    channel_id?: string;
    guild_id?: string;
    fail_if_not_exists?: boolean;
  };
  stickerIds?: string[];
  poll?: unknown;
  /** Which mentions turn into pings (Discord `allowed_mentions`); undefined = parse all. */
  allowedMentions?: { parse?: string[]; users?: string[]; roles?: string[]; replied_user?: boolean };
}
