import {
  type APIChatInputApplicationCommandInteraction,
  type GatewayDispatchPayload,
  GatewayDispatchEvents,
  InteractionType,
} from 'discord-api-types/v10';
import { type ActivityEvent, type EventKind, eventId, eventIdForSnowflake } from '../storage/index.js';
import { snowflakeTime } from '../discord/snowflake.js';

export { snowflakeTime } from '../discord/snowflake.js';

/** Voice channel a user was in, per guild; the only state normalization needs (join vs move vs leave). */
export interface VoiceStateLookup {
  get(guildId: string, userId: string): string | null | undefined;
  set(guildId: string, userId: string, channelId: string | null): void;
}

/** A simple in-process {@link VoiceStateLookup}. */
export class VoiceStates implements VoiceStateLookup {
  private readonly byGuild = new Map<string, Map<string, string>>();
  get(guildId: string, userId: string): string | null | undefined {
    const g = this.byGuild.get(guildId);
    if (!g) return undefined;
    return g.get(userId) ?? null;
  }
  set(guildId: string, userId: string, channelId: string | null): void {
    let g = this.byGuild.get(guildId);
    if (!g) this.byGuild.set(guildId, (g = new Map()));
    if (channelId === null) g.delete(userId);
    else g.set(userId, channelId);
  }
  /** Forget a guild (left, or its shard moved away). */
  dropGuild(guildId: string): void {
    this.byGuild.delete(guildId);
  }
}

/** Snowflake-identified facts get an id from the snowflake itself; the rest a hash of their natural key. */
const TAG = { message: 1, command: 2, thread: 3 } as const;

function make(
  kind: EventKind,
  ts: number,
  naturalKey: string | { tag: number; snowflake: string },
  guildId: string,
  channelId: string | null | undefined,
  userId: string | null | undefined,
  attrs?: Record<string, unknown>,
): ActivityEvent {
  return {
    id:
      typeof naturalKey === 'string'
        ? eventId(ts, naturalKey)
        : eventIdForSnowflake(ts, naturalKey.tag, naturalKey.snowflake),
    ts,
    guildId,
    channelId: channelId ?? null,
    userId: userId ?? null,
    kind,
    ...(attrs ? { attrs } : {}),
  };
}

/**
 * Dispatch types whose activity events are stamped with the time the pod received them (the payload has
 * no time of its own), so two shard generations delivering the same dispatch during a reshard would
 * record it twice under different ids; the shard runtime claims these while a reshard runs.
 *
 * @example
 * if (RECEIPT_TIMED_DISPATCHES.has(payload.t) && resharding) await claimOnce(payload);
 */
export const RECEIPT_TIMED_DISPATCHES: ReadonlySet<string> = new Set<string>([
  GatewayDispatchEvents.MessageDelete,
  GatewayDispatchEvents.MessageReactionAdd,
  GatewayDispatchEvents.MessageReactionRemove,
  GatewayDispatchEvents.VoiceStateUpdate,
  GatewayDispatchEvents.GuildMemberAdd,
  GatewayDispatchEvents.GuildMemberRemove,
  GatewayDispatchEvents.GuildBanAdd,
  GatewayDispatchEvents.GuildBanRemove,
  GatewayDispatchEvents.AutoModerationActionExecution,
]);

/**
 * Turns one gateway dispatch into zero or more activity events for the event log. Ids are deterministic:
 * the timestamp comes from the payload (snowflake time, `joined_at`, `edited_timestamp`) wherever Discord
 * provides one, and the tail from a natural key of the fact, so two shard generations that both see an
 * event during a reshard produce the same id and the writer stores it once. Facts without a payload time
 * (reactions, voice, leaves) use `receivedAt`; the reshard cut-over claims those (see the shard runtime).
 * Bot and webhook messages are not activity and are skipped. No message content is ever recorded.
 *
 * @example
 * const events = normalizeDispatch(payload, Date.now(), voiceStates);
 */
export function normalizeDispatch(
  payload: GatewayDispatchPayload,
  receivedAt: number,
  voice: VoiceStateLookup,
): ActivityEvent[] {
  switch (payload.t) {
    case GatewayDispatchEvents.MessageCreate: {
      const m = payload.d;
      if (!m.guild_id || m.author.bot || m.webhook_id) return [];
      return [
        make(
          'message',
          snowflakeTime(m.id),
          { tag: TAG.message, snowflake: m.id },
          m.guild_id,
          m.channel_id,
          m.author.id,
          {
            length: m.content.length,
            ...(m.attachments.length > 0 ? { attachments: m.attachments.length } : {}),
            ...(m.message_reference?.message_id ? { reply: true } : {}),
          },
        ),
      ];
    }
    case GatewayDispatchEvents.MessageUpdate: {
      const m = payload.d;
      if (!m.guild_id || !m.edited_timestamp || m.author?.bot) return [];
      const ts = Date.parse(m.edited_timestamp);
      return [
        make(
          'message_edit',
          ts,
          `message_edit:${m.id}:${m.edited_timestamp}`,
          m.guild_id,
          m.channel_id,
          m.author?.id,
        ),
      ];
    }
    case GatewayDispatchEvents.MessageDelete: {
      const m = payload.d;
      if (!m.guild_id) return [];
      return [make('message_delete', receivedAt, `message_delete:${m.id}`, m.guild_id, m.channel_id, null)];
    }
    case GatewayDispatchEvents.MessageReactionAdd:
    case GatewayDispatchEvents.MessageReactionRemove: {
      const r = payload.d;
      if (!r.guild_id) return [];
      const add = payload.t === GatewayDispatchEvents.MessageReactionAdd;
      const emoji = r.emoji.id ?? r.emoji.name ?? '?';
      return [
        make(
          add ? 'reaction_add' : 'reaction_remove',
          receivedAt,
          `${add ? 'reaction_add' : 'reaction_remove'}:${r.message_id}:${r.user_id}:${emoji}:${receivedAt}`,
          r.guild_id,
          r.channel_id,
          r.user_id,
          { emoji },
        ),
      ];
    }
    case GatewayDispatchEvents.VoiceStateUpdate: {
      const v = payload.d;
      if (!v.guild_id) return [];
      const before = voice.get(v.guild_id, v.user_id) ?? null;
      const after = v.channel_id;
      voice.set(v.guild_id, v.user_id, after);
      if (before === after) return [];
      const key = `${v.guild_id}:${v.user_id}:${v.session_id}:${receivedAt}`;
      if (before === null)
        return [make('voice_join', receivedAt, `voice_join:${key}`, v.guild_id, after, v.user_id)];
      if (after === null)
        return [make('voice_leave', receivedAt, `voice_leave:${key}`, v.guild_id, before, v.user_id)];
      return [
        make('voice_move', receivedAt, `voice_move:${key}`, v.guild_id, after, v.user_id, { from: before }),
      ];
    }
    case GatewayDispatchEvents.GuildMemberAdd: {
      const m = payload.d;
      if (!m.user) return [];
      const ts = m.joined_at ? Date.parse(m.joined_at) : receivedAt;
      return [
        make(
          'member_join',
          ts,
          `member_join:${m.guild_id}:${m.user.id}:${ts}`,
          m.guild_id,
          null,
          m.user.id,
          m.user.bot ? { bot: true } : undefined,
        ),
      ];
    }
    case GatewayDispatchEvents.GuildMemberRemove: {
      const m = payload.d;
      return [
        make(
          'member_leave',
          receivedAt,
          `member_leave:${m.guild_id}:${m.user.id}:${receivedAt}`,
          m.guild_id,
          null,
          m.user.id,
        ),
      ];
    }
    case GatewayDispatchEvents.InteractionCreate: {
      const i = payload.d;
      if (i.type !== InteractionType.ApplicationCommand || !i.guild_id) return [];
      const cmd = i as APIChatInputApplicationCommandInteraction;
      return [
        make(
          'command',
          snowflakeTime(i.id),
          { tag: TAG.command, snowflake: i.id },
          i.guild_id,
          i.channel?.id,
          i.member?.user.id,
          {
            name: cmd.data.name,
          },
        ),
      ];
    }
    case GatewayDispatchEvents.GuildBanAdd: {
      const b = payload.d;
      return [
        make(
          'moderation',
          receivedAt,
          `ban:${b.guild_id}:${b.user.id}:${receivedAt}`,
          b.guild_id,
          null,
          b.user.id,
          { action: 'ban' },
        ),
      ];
    }
    case GatewayDispatchEvents.GuildBanRemove: {
      const b = payload.d;
      return [
        make(
          'moderation',
          receivedAt,
          `unban:${b.guild_id}:${b.user.id}:${receivedAt}`,
          b.guild_id,
          null,
          b.user.id,
          { action: 'unban' },
        ),
      ];
    }
    case GatewayDispatchEvents.AutoModerationActionExecution: {
      const a = payload.d;
      return [
        make(
          'automod',
          receivedAt,
          `automod:${a.rule_id}:${a.user_id}:${a.message_id ?? a.alert_system_message_id ?? receivedAt}:${a.action.type}`,
          a.guild_id,
          a.channel_id,
          a.user_id,
          {
            rule: a.rule_id,
            action: a.action.type,
          },
        ),
      ];
    }
    case GatewayDispatchEvents.ThreadCreate: {
      const t = payload.d;
      if (!t.guild_id || !('newly_created' in t) || !t.newly_created) return [];
      return [
        make(
          'thread_create',
          snowflakeTime(t.id),
          { tag: TAG.thread, snowflake: t.id },
          t.guild_id,
          t.parent_id,
          t.owner_id,
        ),
      ];
    }
    default:
      return [];
  }
}
