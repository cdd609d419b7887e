/**
 * Interactions: creation (INTERACTION_CREATE), the one initial response per interaction (types 4–9), the
 * original response message and follow-ups behind the interaction token, and waiters so tests can await
 * what the bot answered.
 */
import { randomBytes } from 'node:crypto';
import {
  ApplicationCommandType,
  ChannelType,
  InteractionContextType,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  MessageType,
  type APIMessage,
  type APIUser,
} from 'discord-api-types/v10';
import type { MessageInput } from './state.js';
import { toApiMember } from './serialize.js';
import type { World } from './index.js';

/** The initial response the bot sent. */
export interface InteractionResponseRecord {
  readonly type: InteractionResponseType;
  readonly data: Record<string, unknown> | undefined;
  readonly at: number;
}

/** One interaction and everything the bot did with it. */
export interface InteractionRecord {
  readonly id: string;
  readonly token: string;
  readonly type: InteractionType;
  readonly guildId: string | null;
  readonly channelId: string;
  readonly userId: string;
  readonly createdAt: number;
  /** The INTERACTION_CREATE payload. */
  readonly payload: Record<string, unknown>;
  /** For components/modals from a component: the message it was on. */
  readonly sourceMessageId: string | null;
  initial: InteractionResponseRecord | null;
  /** Id of the original response message (for type 4/5, or the source message for 6/7). */
  originalMessageId: string | null;
  /**
   * Ephemeral messages (not in the channel). One map shared by all interactions of a store, so a component
   * on an ephemeral reply can update it from the next interaction.
   */
  readonly ephemeral: Map<string, APIMessage>;
  readonly followupIds: string[];
  /** Bumps on every change (waiters re-check). */
  version: number;
}

/** What a test reads back after the bot handled an interaction. */
export interface InteractionOutcome {
  readonly responseType: InteractionResponseType | null;
  readonly data: Record<string, unknown> | undefined;
  /** The current original response message (after a deferred reply, once edited). */
  readonly message: APIMessage | null;
  readonly followups: readonly APIMessage[];
}

/** What the scenario gives to create an interaction. */
export interface InteractionInit {
  type: InteractionType;
  guildId: string | null;
  channelId: string;
  userId: string;
  data?: Record<string, unknown>;
  /** Message a component was on. */
  messageId?: string;
  locale?: string;
}

const COMMAND_MESSAGE_TYPES: Partial<Record<number, MessageType>> = {
  [ApplicationCommandType.ChatInput]: MessageType.ChatInputCommand,
  [ApplicationCommandType.User]: MessageType.ContextMenuCommand,
  [ApplicationCommandType.Message]: MessageType.ContextMenuCommand,
};

/** Response types valid per interaction type. */
const ALLOWED: Record<number, readonly InteractionResponseType[]> = {
  [InteractionType.ApplicationCommand]: [
    InteractionResponseType.ChannelMessageWithSource,
    InteractionResponseType.DeferredChannelMessageWithSource,
    InteractionResponseType.Modal,
  ],
  [InteractionType.MessageComponent]: [
    InteractionResponseType.ChannelMessageWithSource,
    InteractionResponseType.DeferredChannelMessageWithSource,
    InteractionResponseType.DeferredMessageUpdate,
    InteractionResponseType.UpdateMessage,
    InteractionResponseType.Modal,
  ],
  [InteractionType.ApplicationCommandAutocomplete]: [
    InteractionResponseType.ApplicationCommandAutocompleteResult,
  ],
  [InteractionType.ModalSubmit]: [
    InteractionResponseType.ChannelMessageWithSource,
    InteractionResponseType.DeferredChannelMessageWithSource,
    InteractionResponseType.DeferredMessageUpdate,
    InteractionResponseType.UpdateMessage,
  ],
};

/**
 * An interaction-level failure with Discord's status and code.
 *
 * @example
 * throw new InteractionError(400, 40060, 'Interaction has already been acknowledged.');
 */
export class InteractionError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: unknown,
    /** A violation kind to record (a client bug worth flagging), e.g. `interaction_ack_late`. */
    readonly violation?: string,
  ) {
    super(message);
    this.name = 'InteractionError';
  }
}

/**
 * Keeps interactions for their token lifetime.
 *
 * @example
 * const rec = world.interactions.create({ type: InteractionType.ApplicationCommand, guildId, channelId, userId, data });
 * const outcome = await world.interactions.waitForReply(rec.id, 5000);
 */
export class InteractionStore {
  private readonly byId = new Map<string, InteractionRecord>();
  private readonly byToken = new Map<string, InteractionRecord>();
  private readonly waiters = new Set<() => void>();
  private readonly ephemeral = new Map<string, APIMessage>();

  constructor(
    private readonly world: World,
    private readonly ackTimeoutMs: number,
    private readonly tokenTtlMs: number,
  ) {}

  /** Creates an interaction and emits INTERACTION_CREATE (sent regardless of intents). */
  create(init: InteractionInit): InteractionRecord {
    const w = this.world;
    this.sweep();
    const id = w.ids.next();
    const token = `aW50ZXJhY3Rpb246${id}:${randomBytes(48).toString('base64url')}`;
    const channel = w.requireChannel(init.channelId);
    const g = init.guildId ? w.requireGuild(init.guildId) : undefined;
    const user = w.user(init.userId);
    if (!user) throw new InteractionError(404, 10013, 'Unknown User');
    const member = g?.members.get(init.userId);
    const bot = g?.members.get(w.botId);
    const appPermissions = g && bot ? w.permissionsIn(g, bot, channel) : 0n;
    const sourceMessage = init.messageId
      ? (channel.messages.get(init.messageId)?.message ?? this.ephemeral.get(init.messageId) ?? null)
      : null;
    const payload: Record<string, unknown> = {
      id,
      application_id: w.app.id,
      type: init.type,
      ...(init.data ? { data: init.data } : {}),
      ...(g
        ? {
            guild_id: g.id,
            guild: { id: g.id, locale: g.preferredLocale, features: [...g.features] },
            guild_locale: g.preferredLocale,
          }
        : {}),
      channel: w.apiChannel(channel),
      channel_id: channel.id,
      ...(g && member
        ? {
            member: {
              ...toApiMember(member, w.userOf),
              permissions: w.permissionsIn(g, member, channel).toString(),
            },
          }
        : { user }),
      token,
      version: 1,
      ...(sourceMessage ? { message: sourceMessage } : {}),
      app_permissions: appPermissions.toString(),
      locale: init.locale ?? 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': g ? g.id : '0' },
      context: g
        ? InteractionContextType.Guild
        : channel.type === ChannelType.DM
          ? InteractionContextType.BotDM
          : InteractionContextType.PrivateChannel,
      attachment_size_limit: 10 * 1024 * 1024,
    };
    const rec: InteractionRecord = {
      id,
      token,
      type: init.type,
      guildId: g?.id ?? null,
      channelId: channel.id,
      userId: init.userId,
      createdAt: w.clock(),
      payload,
      sourceMessageId: sourceMessage?.id ?? null,
      initial: null,
      originalMessageId: null,
      ephemeral: this.ephemeral,
      followupIds: [],
      version: 0,
    };
    this.byId.set(id, rec);
    this.byToken.set(token, rec);
    w.emit('INTERACTION_CREATE', payload, g?.id ?? null, 0);
    return rec;
  }

  /** An ephemeral message the bot sent in answer to some interaction (for components on it). */
  ephemeralMessage(messageId: string): APIMessage | undefined {
    const m = this.ephemeral.get(messageId);
    return m ? { ...m } : undefined;
  }

  get(id: string): InteractionRecord | undefined {
    return this.byId.get(id);
  }

  /** The interaction of a token: 10015 when unknown, 50027 once the token expired (15 min). */
  fromToken(token: string): InteractionRecord {
    const rec = this.byToken.get(token);
    if (!rec) throw new InteractionError(404, 10015, 'Unknown Webhook');
    if (this.world.clock() - rec.createdAt > this.tokenTtlMs)
      throw new InteractionError(401, 50027, 'Invalid Webhook Token');
    return rec;
  }

  /**
   * Applies the initial response: 10062 for unknown/expired interactions, 40060 when already acknowledged,
   * 50035 when the type does not fit the interaction.
   */
  respond(
    id: string,
    token: string,
    type: number,
    data: Record<string, unknown> | undefined,
    input: MessageInput | undefined,
  ): { message: APIMessage | null } {
    const w = this.world;
    const rec = this.byId.get(id);
    if (!rec || rec.token !== token) throw new InteractionError(404, 10062, 'Unknown interaction');
    // Two answers usually mean two processes handled the same event (e.g. overlapping deployments).
    if (rec.initial) {
      throw new InteractionError(
        400,
        40060,
        'Interaction has already been acknowledged.',
        undefined,
        'interaction_already_acknowledged',
      );
    }
    if (w.clock() - rec.createdAt > this.ackTimeoutMs) {
      throw new InteractionError(404, 10062, 'Unknown interaction', undefined, 'interaction_ack_late');
    }
    const allowed = ALLOWED[rec.type] ?? [];
    if (!allowed.includes(type as InteractionResponseType)) {
      throw new InteractionError(400, 50035, 'Invalid Form Body', {
        type: {
          _errors: [
            { code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: 'Invalid interaction response type' },
          ],
        },
      });
    }
    if (
      type === InteractionResponseType.UpdateMessage ||
      type === InteractionResponseType.DeferredMessageUpdate
    ) {
      if (!rec.sourceMessageId) {
        throw new InteractionError(400, 50035, 'Invalid Form Body', {
          type: {
            _errors: [
              {
                code: 'INTERACTION_RESPONSE_TYPE_INVALID',
                message: 'This interaction has no message to update',
              },
            ],
          },
        });
      }
    }
    let message: APIMessage | null = null;
    switch (type) {
      case InteractionResponseType.ChannelMessageWithSource:
        message = this.post(rec, input ?? {}, false);
        rec.originalMessageId = message.id;
        break;
      case InteractionResponseType.DeferredChannelMessageWithSource:
        message = this.post(
          rec,
          { content: '', flags: ((input?.flags ?? 0) & MessageFlags.Ephemeral) | MessageFlags.Loading },
          false,
        );
        rec.originalMessageId = message.id;
        break;
      case InteractionResponseType.UpdateMessage:
        rec.originalMessageId = rec.sourceMessageId;
        message = this.editMessage(rec, '@original', input ?? {});
        break;
      case InteractionResponseType.DeferredMessageUpdate:
        rec.originalMessageId = rec.sourceMessageId;
        break;
      default:
        break;
    }
    rec.initial = { type: type as InteractionResponseType, data, at: w.clock() };
    this.bump(rec);
    return { message };
  }

  /** GET @original or a follow-up (10008 when none). */
  getMessage(rec: InteractionRecord, messageId: string): APIMessage {
    const id = messageId === '@original' ? rec.originalMessageId : messageId;
    if (!id || (messageId !== '@original' && !rec.followupIds.includes(id) && id !== rec.originalMessageId)) {
      throw new InteractionError(404, 10008, 'Unknown Message');
    }
    const eph = rec.ephemeral.get(id);
    if (eph) return { ...eph };
    const r = this.world.message(rec.channelId, id);
    if (!r) throw new InteractionError(404, 10008, 'Unknown Message');
    return this.world.listMessages(rec.channelId, { around: id, limit: 1 })[0] ?? r.message;
  }

  /** PATCH @original or a follow-up. */
  editMessage(rec: InteractionRecord, messageId: string, input: MessageInput): APIMessage {
    const id = messageId === '@original' ? rec.originalMessageId : messageId;
    if (!id || (messageId !== '@original' && !rec.followupIds.includes(id) && id !== rec.originalMessageId)) {
      throw new InteractionError(404, 10008, 'Unknown Message');
    }
    const eph = rec.ephemeral.get(id);
    let out: APIMessage;
    if (eph) {
      out = {
        ...eph,
        ...(input.content !== undefined ? { content: input.content } : {}),
        ...(input.embeds !== undefined ? { embeds: input.embeds } : {}),
        ...(input.components !== undefined
          ? { components: input.components as APIMessage['components'] }
          : {}),
        ...(input.attachments !== undefined ? { attachments: input.attachments } : {}),
        flags: (eph.flags ?? 0) & ~MessageFlags.Loading,
        edited_timestamp: new Date(this.world.clock()).toISOString(),
      };
      rec.ephemeral.set(id, out);
    } else {
      out = this.world.editMessage(rec.channelId, id, input);
    }
    this.bump(rec);
    return out;
  }

  /** DELETE @original or a follow-up. */
  deleteMessage(rec: InteractionRecord, messageId: string): void {
    const id = messageId === '@original' ? rec.originalMessageId : messageId;
    if (!id) throw new InteractionError(404, 10008, 'Unknown Message');
    if (!rec.ephemeral.delete(id)) this.world.deleteMessage(rec.channelId, id);
    this.bump(rec);
  }

  /** POST a follow-up (needs an initial response first: 10015 otherwise). */
  followup(rec: InteractionRecord, input: MessageInput): APIMessage {
    if (!rec.initial) throw new InteractionError(404, 10015, 'Unknown Webhook');
    // A follow-up to a deferred reply that was never edited becomes the original response, as on Discord.
    if (
      rec.initial.type === InteractionResponseType.DeferredChannelMessageWithSource &&
      rec.originalMessageId
    ) {
      const original =
        rec.ephemeral.get(rec.originalMessageId) ??
        this.world.message(rec.channelId, rec.originalMessageId)?.message;
      if (original && (original.flags ?? 0) & MessageFlags.Loading)
        return this.editMessage(rec, '@original', input);
    }
    const msg = this.post(rec, input, true);
    rec.followupIds.push(msg.id);
    this.bump(rec);
    return msg;
  }

  /** What the bot did so far. */
  outcome(id: string): InteractionOutcome {
    const rec = this.byId.get(id);
    if (!rec) throw new InteractionError(404, 10062, 'Unknown interaction');
    let message: APIMessage | null = null;
    if (rec.originalMessageId) {
      message =
        rec.ephemeral.get(rec.originalMessageId) ??
        this.world.message(rec.channelId, rec.originalMessageId)?.message ??
        null;
    }
    const followups = rec.followupIds
      .map((fid) => rec.ephemeral.get(fid) ?? this.world.message(rec.channelId, fid)?.message)
      .filter((m): m is APIMessage => m !== undefined);
    return {
      responseType: rec.initial?.type ?? null,
      data: rec.initial?.data,
      message: message ? { ...message } : null,
      followups,
    };
  }

  /**
   * Resolves once `until(outcome)` holds (checked after every change), or rejects after `timeoutMs`.
   *
   * @example
   * await store.waitFor(id, (o) => o.responseType !== null, 2000);
   */
  waitFor(
    id: string,
    until: (o: InteractionOutcome) => boolean,
    timeoutMs: number,
  ): Promise<InteractionOutcome> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const o = this.outcome(id);
        if (until(o)) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(o);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `interaction ${id}: no matching response within ${timeoutMs} ms (got ${JSON.stringify(this.outcome(id).responseType)})`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Waits for a visible answer: a message reply (deferred ones once edited), an updated message, a modal
   * or autocomplete choices.
   */
  waitForReply(id: string, timeoutMs = 5000): Promise<InteractionOutcome> {
    return this.waitFor(
      id,
      (o) => {
        switch (o.responseType) {
          case null:
            return false;
          case InteractionResponseType.DeferredChannelMessageWithSource:
          case InteractionResponseType.DeferredMessageUpdate:
            return (o.message !== null && o.message.edited_timestamp !== null) || o.followups.length > 0;
          default:
            return true;
        }
      },
      timeoutMs,
    );
  }

  private post(rec: InteractionRecord, input: MessageInput, followup: boolean): APIMessage {
    const w = this.world;
    const data = rec.payload.data as { name?: string; type?: number } | undefined;
    const user = w.userOf(rec.userId) as APIUser;
    const extra = {
      type:
        rec.type === InteractionType.ApplicationCommand && !followup
          ? (COMMAND_MESSAGE_TYPES[data?.type ?? 1] ?? MessageType.ChatInputCommand)
          : MessageType.Default,
      webhookId: w.app.id,
      applicationId: w.app.id,
      interactionMetadata: {
        id: rec.id,
        type: rec.type,
        user,
        authorizing_integration_owners: { '0': rec.guildId ?? '0' },
        ...(followup && rec.originalMessageId ? { original_response_message_id: rec.originalMessageId } : {}),
        ...(rec.sourceMessageId ? { interacted_message_id: rec.sourceMessageId } : {}),
      } as APIMessage['interaction_metadata'],
    };
    const m = w.createMessage(rec.channelId, w.botId, input, extra);
    if ((input.flags ?? 0) & MessageFlags.Ephemeral) rec.ephemeral.set(m.id, m);
    return m;
  }

  private bump(rec: InteractionRecord): void {
    rec.version += 1;
    for (const check of [...this.waiters]) check();
  }

  private sweep(): void {
    const now = this.world.clock();
    if (this.byId.size < 1000) return;
    for (const [id, rec] of this.byId) {
      if (now - rec.createdAt > this.tokenTtlMs) {
        this.byId.delete(id);
        this.byToken.delete(rec.token);
      }
    }
    for (const [id, m] of this.ephemeral) {
      if (now - Date.parse(m.timestamp) > this.tokenTtlMs) this.ephemeral.delete(id);
    }
  }
}
