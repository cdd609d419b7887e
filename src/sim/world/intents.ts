/**
 * Which gateway intent a dispatch needs (https://discord.com/developers/docs/events/gateway#list-of-intents).
 * Events not listed are always sent (0).
 */
import { GatewayIntentBits } from 'discord-api-types/v10';

const I = GatewayIntentBits;

const GUILD_ONLY: Record<string, number> = {
  GUILD_CREATE: I.Guilds,
  GUILD_UPDATE: I.Guilds,
  GUILD_DELETE: I.Guilds,
  GUILD_ROLE_CREATE: I.Guilds,
  GUILD_ROLE_UPDATE: I.Guilds,
  GUILD_ROLE_DELETE: I.Guilds,
  CHANNEL_CREATE: I.Guilds,
  CHANNEL_UPDATE: I.Guilds,
  CHANNEL_DELETE: I.Guilds,
  THREAD_CREATE: I.Guilds,
  THREAD_UPDATE: I.Guilds,
  THREAD_DELETE: I.Guilds,
  THREAD_LIST_SYNC: I.Guilds,
  THREAD_MEMBER_UPDATE: I.Guilds,
  THREAD_MEMBERS_UPDATE: I.Guilds | I.GuildMembers,
  STAGE_INSTANCE_CREATE: I.Guilds,
  STAGE_INSTANCE_UPDATE: I.Guilds,
  STAGE_INSTANCE_DELETE: I.Guilds,
  GUILD_MEMBER_ADD: I.GuildMembers,
  GUILD_MEMBER_UPDATE: I.GuildMembers,
  GUILD_MEMBER_REMOVE: I.GuildMembers,
  GUILD_AUDIT_LOG_ENTRY_CREATE: I.GuildModeration,
  GUILD_BAN_ADD: I.GuildModeration,
  GUILD_BAN_REMOVE: I.GuildModeration,
  GUILD_EMOJIS_UPDATE: I.GuildExpressions,
  GUILD_STICKERS_UPDATE: I.GuildExpressions,
  GUILD_INTEGRATIONS_UPDATE: I.GuildIntegrations,
  WEBHOOKS_UPDATE: I.GuildWebhooks,
  INVITE_CREATE: I.GuildInvites,
  INVITE_DELETE: I.GuildInvites,
  VOICE_STATE_UPDATE: I.GuildVoiceStates,
  PRESENCE_UPDATE: I.GuildPresences,
  GUILD_SCHEDULED_EVENT_CREATE: I.GuildScheduledEvents,
  GUILD_SCHEDULED_EVENT_UPDATE: I.GuildScheduledEvents,
  GUILD_SCHEDULED_EVENT_DELETE: I.GuildScheduledEvents,
  GUILD_SCHEDULED_EVENT_USER_ADD: I.GuildScheduledEvents,
  GUILD_SCHEDULED_EVENT_USER_REMOVE: I.GuildScheduledEvents,
  AUTO_MODERATION_RULE_CREATE: I.AutoModerationConfiguration,
  AUTO_MODERATION_RULE_UPDATE: I.AutoModerationConfiguration,
  AUTO_MODERATION_RULE_DELETE: I.AutoModerationConfiguration,
  AUTO_MODERATION_ACTION_EXECUTION: I.AutoModerationExecution,
};

const GUILD_OR_DM: Record<string, readonly [number, number]> = {
  MESSAGE_CREATE: [I.GuildMessages, I.DirectMessages],
  MESSAGE_UPDATE: [I.GuildMessages, I.DirectMessages],
  MESSAGE_DELETE: [I.GuildMessages, I.DirectMessages],
  MESSAGE_DELETE_BULK: [I.GuildMessages, I.GuildMessages],
  CHANNEL_PINS_UPDATE: [I.Guilds, I.DirectMessages],
  MESSAGE_REACTION_ADD: [I.GuildMessageReactions, I.DirectMessageReactions],
  MESSAGE_REACTION_REMOVE: [I.GuildMessageReactions, I.DirectMessageReactions],
  MESSAGE_REACTION_REMOVE_ALL: [I.GuildMessageReactions, I.DirectMessageReactions],
  MESSAGE_REACTION_REMOVE_EMOJI: [I.GuildMessageReactions, I.DirectMessageReactions],
  TYPING_START: [I.GuildMessageTyping, I.DirectMessageTyping],
  MESSAGE_POLL_VOTE_ADD: [I.GuildMessagePolls, I.DirectMessagePolls],
  MESSAGE_POLL_VOTE_REMOVE: [I.GuildMessagePolls, I.DirectMessagePolls],
};

/**
 * Intent bits a session needs to receive event `t` (0 = always sent).
 *
 * @example
 * intentsFor('MESSAGE_CREATE', true);  // GUILD_MESSAGES
 * intentsFor('MESSAGE_CREATE', false); // DIRECT_MESSAGES
 * intentsFor('INTERACTION_CREATE', true); // 0
 */
export function intentsFor(t: string, inGuild: boolean): number {
  const pair = GUILD_OR_DM[t];
  if (pair) return inGuild ? pair[0] : pair[1];
  return GUILD_ONLY[t] ?? 0;
}

/**
 * Events whose payload carries message content fields (emptied without MESSAGE_CONTENT).
 *
 * @example
 * MESSAGE_CONTENT_EVENTS.has('MESSAGE_CREATE'); // true
 */
export const MESSAGE_CONTENT_EVENTS: ReadonlySet<string> = new Set(['MESSAGE_CREATE', 'MESSAGE_UPDATE']);
