import { DiscordAPIError, type REST } from '@discordjs/rest';
import {
  type APIActionRowComponent,
  type APIAllowedMentions,
  type APIApplicationCommandOptionChoice,
  type APIEmbed,
  type APIInteractionResponseCallbackData,
  type APIMessageTopLevelComponent,
  type APIModalInteractionResponseCallbackData,
  type APIComponentInMessageActionRow,
  InteractionResponseType,
  MessageFlags,
  Routes,
} from 'discord-api-types/v10';

/** Anything with a `toJSON()` (discord.js builders: EmbedBuilder, ActionRowBuilder, ModalBuilder, …). */
export interface JSONEncodable<T> {
  toJSON(): T;
}

/** A raw API object or a builder producing it. */
export type Encodable<T> = T | JSONEncodable<T>;

/**
 * A message to send in answer to an interaction. A string is the content. `ephemeral` sets the
 * EPHEMERAL flag (only on the first response; Discord cannot change it later). Mentions are off unless
 * `allowed_mentions` says otherwise, so echoing user text can never ping `@everyone`.
 *
 * @example
 * await i.reply({ content: 'Saved.', ephemeral: true });
 * await i.reply({ embeds: [new EmbedBuilder().setTitle('Status')] });
 */
export type MessageInput =
  | string
  | {
      content?: string;
      embeds?: readonly Encodable<APIEmbed>[];
      components?: readonly Encodable<
        APIMessageTopLevelComponent | APIActionRowComponent<APIComponentInMessageActionRow>
      >[];
      allowed_mentions?: APIAllowedMentions;
      ephemeral?: boolean;
      flags?: number;
      tts?: boolean;
    };

/** One autocomplete suggestion. */
export type AutocompleteChoice = APIApplicationCommandOptionChoice;

/** Where an interaction stands with Discord. Exactly one initial response is allowed. */
export type ResponseState =
  | 'none'
  | 'deferred-reply'
  | 'deferred-update'
  | 'replied'
  | 'updated'
  | 'modal'
  | 'autocomplete'
  | 'expired';

/**
 * Thrown when a response is not possible in the interaction's current state (e.g. `showModal` after a
 * reply, `editReply` before any response).
 *
 * @example
 * if (err instanceof InteractionStateError) log.warn({ state: err.state }, err.message);
 */
export class InteractionStateError extends Error {
  constructor(
    readonly state: ResponseState,
    message: string,
  ) {
    super(message);
    this.name = 'InteractionStateError';
  }
}

/** Discord's "Unknown interaction" (the token expired or was never valid). */
const UNKNOWN_INTERACTION = 10062;
/** Discord's "Interaction has already been acknowledged". */
const ALREADY_ACKNOWLEDGED = 40060;

/** The keys of a message body we forward (everything else in the input is ignored). */
function messageBody(input: MessageInput, forEdit: boolean): APIInteractionResponseCallbackData {
  const m = typeof input === 'string' ? { content: input } : input;
  const body: APIInteractionResponseCallbackData = {
    allowed_mentions: m.allowed_mentions ?? { parse: [] },
  };
  if (m.content !== undefined) body.content = m.content;
  if (m.embeds !== undefined) body.embeds = m.embeds.map(encode);
  if (m.components !== undefined) body.components = m.components.map(encode) as APIMessageTopLevelComponent[];
  if (!forEdit) {
    if (m.tts !== undefined) body.tts = m.tts;
    const flags = (m.flags ?? 0) | (m.ephemeral ? MessageFlags.Ephemeral : 0);
    if (flags !== 0) body.flags = flags;
  } else if (m.flags !== undefined) {
    // Only non-ephemeral flags (e.g. SUPPRESS_EMBEDS, IS_COMPONENTS_V2) can change on an edit.
    body.flags = m.flags & ~MessageFlags.Ephemeral;
  }
  return body;
}

function encode<T>(value: Encodable<T>): T {
  return typeof value === 'object' &&
    value !== null &&
    'toJSON' in value &&
    typeof value.toJSON === 'function'
    ? (value as JSONEncodable<T>).toJSON()
    : (value as T);
}

/**
 * Sends the responses of one interaction through Discord REST and tracks its state: the initial
 * callback (`POST /interactions/{id}/{token}/callback`), then the original response and follow-ups behind
 * the interaction token (`/webhooks/{application_id}/{token}…`). State changes are synchronous, so the
 * auto-defer timer and a handler racing it never both send an initial response; later calls wait for the
 * initial callback to finish.
 *
 * @example
 * const r = new InteractionResponder(rest, raw.application_id, raw.id, raw.token);
 * await r.reply('pong');
 */
export class InteractionResponder {
  private current: ResponseState = 'none';
  private ack: Promise<void> = Promise.resolve();

  constructor(
    private readonly rest: REST,
    private readonly applicationId: string,
    private readonly interactionId: string,
    private readonly token: string,
  ) {}

  get state(): ResponseState {
    return this.current;
  }

  /** True once an initial response was sent (or is being sent). */
  get acknowledged(): boolean {
    return this.current !== 'none';
  }

  /**
   * Sends a message. Before any response: the initial reply (type 4). After a deferred reply: edits the
   * original response (the "thinking…" message). After a reply or an update: a follow-up message.
   */
  async reply(input: MessageInput): Promise<void> {
    if (this.current === 'none') {
      await this.callback(
        'replied',
        InteractionResponseType.ChannelMessageWithSource,
        messageBody(input, false),
      );
      return;
    }
    if (this.current === 'deferred-reply') {
      await this.editReply(input);
      this.current = 'replied';
      return;
    }
    await this.followUp(input);
  }

  /**
   * Acknowledges now and answers later. `kind: 'reply'` shows "thinking…" (type 5, optionally ephemeral);
   * `kind: 'update'` acknowledges a component without a visible change (type 6). A no-op when the
   * interaction was already acknowledged.
   */
  async defer(opts: { ephemeral?: boolean; kind: 'reply' | 'update' }): Promise<void> {
    if (this.current !== 'none') return;
    if (opts.kind === 'update') {
      await this.callback('deferred-update', InteractionResponseType.DeferredMessageUpdate, undefined);
    } else {
      await this.callback(
        'deferred-reply',
        InteractionResponseType.DeferredChannelMessageWithSource,
        opts.ephemeral ? { flags: MessageFlags.Ephemeral } : undefined,
      );
    }
  }

  /** Edits the message a component is on: type 7 first, or an edit of it after a deferred update. */
  async update(input: MessageInput): Promise<void> {
    if (this.current === 'none') {
      await this.callback('updated', InteractionResponseType.UpdateMessage, messageBody(input, true));
      return;
    }
    if (this.current === 'deferred-update' || this.current === 'updated') {
      await this.editReply(input);
      this.current = 'updated';
      return;
    }
    throw new InteractionStateError(this.current, `cannot update the message after '${this.current}'`);
  }

  /** Opens a modal (type 9); only as the first response. */
  async showModal(modal: Encodable<APIModalInteractionResponseCallbackData>): Promise<void> {
    if (this.current !== 'none') {
      throw new InteractionStateError(
        this.current,
        `a modal must be the first response (state '${this.current}')`,
      );
    }
    await this.callback('modal', InteractionResponseType.Modal, encode(modal));
  }

  /** Answers an autocomplete interaction (type 8) with at most 25 choices; false if already answered. */
  async autocomplete(choices: readonly AutocompleteChoice[]): Promise<boolean> {
    if (this.current !== 'none') return false;
    await this.callback('autocomplete', InteractionResponseType.ApplicationCommandAutocompleteResult, {
      choices: choices.slice(0, 25),
    });
    return true;
  }

  /** Sends another message after the initial response (`POST /webhooks/{app}/{token}`). */
  async followUp(input: MessageInput): Promise<void> {
    if (this.current === 'none') {
      await this.reply(input);
      return;
    }
    await this.ack;
    await this.rest.post(Routes.webhook(this.applicationId, this.token), {
      body: messageBody(input, false),
      auth: false,
    });
  }

  /** Edits the original response (`PATCH /webhooks/{app}/{token}/messages/@original`). */
  async editReply(input: MessageInput): Promise<void> {
    if (this.current === 'none' || this.current === 'modal' || this.current === 'autocomplete') {
      throw new InteractionStateError(
        this.current,
        `there is no original response to edit (state '${this.current}')`,
      );
    }
    await this.ack;
    await this.rest.patch(Routes.webhookMessage(this.applicationId, this.token, '@original'), {
      body: messageBody(input, true),
      auth: false,
    });
  }

  private callback(next: ResponseState, type: InteractionResponseType, data: unknown): Promise<void> {
    if (this.current === 'expired') {
      return Promise.reject(new InteractionStateError('expired', 'the interaction token has expired'));
    }
    this.current = next;
    const sent = this.rest
      .post(Routes.interactionCallback(this.interactionId, this.token), {
        body: data === undefined ? { type } : { type, data },
        auth: false,
      })
      .then(
        () => undefined,
        (err: unknown) => {
          if (err instanceof DiscordAPIError && err.code === UNKNOWN_INTERACTION) this.current = 'expired';
          else if (!(err instanceof DiscordAPIError && err.code === ALREADY_ACKNOWLEDGED))
            this.current = 'none';
          throw err;
        },
      );
    // Later calls wait for the initial callback but must not re-throw its failure.
    this.ack = sent.catch(() => undefined);
    return sent;
  }
}
