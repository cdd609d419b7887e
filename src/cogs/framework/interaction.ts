import type { ApplicationCommandType } from 'discord-api-types/v10';
import {
  type APIApplicationCommandAutocompleteInteraction,
  type APIApplicationCommandInteraction,
  type APIApplicationCommandInteractionDataBasicOption,
  type APIInteraction,
  type APIInteractionDataResolved,
  type APIInteractionGuildMember,
  type APIMessage,
  type APIMessageComponentInteraction,
  type APIModalInteractionResponseCallbackData,
  type APIModalSubmissionComponent,
  type APIModalSubmitInteraction,
  type APIUser,
  ComponentType,
  PermissionFlagsBits,
} from 'discord-api-types/v10';
import type { CommandOptions, Invocation, OptionValue } from './options.js';
import type {
  AutocompleteChoice,
  Encodable,
  InteractionResponder,
  MessageInput,
  ResponseState,
} from './responder.js';

/**
 * What every interaction wrapper offers: ids, the invoking user and member, permissions, and the
 * response state. Responses go through Discord REST (see {@link InteractionResponder}).
 *
 * @example
 * if (!i.hasPermission(PermissionFlagsBits.ManageGuild)) return i.reply({ content: 'No.', ephemeral: true });
 */
export abstract class BaseInteraction<Raw extends APIInteraction = APIInteraction> {
  constructor(
    /** The INTERACTION_CREATE payload as Discord sent it. */
    readonly raw: Raw,
    protected readonly responder: InteractionResponder,
  ) {}

  get id(): string {
    return this.raw.id;
  }

  get guildId(): string | null {
    return this.raw.guild_id ?? null;
  }

  get channelId(): string | null {
    return this.raw.channel?.id ?? this.raw.channel_id ?? null;
  }

  /** The invoking user (from `member.user` in guilds, `user` in DMs). */
  get user(): APIUser {
    const user = this.raw.member?.user ?? this.raw.user;
    if (!user) throw new Error('interaction without a user');
    return user;
  }

  get member(): APIInteractionGuildMember | null {
    return this.raw.member ?? null;
  }

  get locale(): string | undefined {
    return 'locale' in this.raw ? this.raw.locale : undefined;
  }

  /** The member's permissions in the channel, or null outside a guild. */
  get memberPermissions(): bigint | null {
    const p = this.raw.member?.permissions;
    return p === undefined ? null : BigInt(p);
  }

  /** True when the member has `flag` (ADMINISTRATOR implies every flag); always false outside a guild. */
  hasPermission(flag: bigint): boolean {
    const p = this.memberPermissions;
    if (p === null) return false;
    return (p & PermissionFlagsBits.Administrator) !== 0n || (p & flag) === flag;
  }

  /** Where the response stands (`none`, `deferred-reply`, `replied`, …). */
  get state(): ResponseState {
    return this.responder.state;
  }

  /** True once the interaction was acknowledged (replied, deferred, updated, modal shown). */
  get acknowledged(): boolean {
    return this.responder.acknowledged;
  }
}

/** An interaction that can be answered with messages (commands, components, modal submits). */
export abstract class RepliableInteraction<
  Raw extends APIInteraction = APIInteraction,
> extends BaseInteraction<Raw> {
  /**
   * Sends a message: the initial reply, or (after a defer, including the framework's auto-defer) the
   * edit of the deferred response, or else a follow-up. So a handler may always call `reply`.
   */
  reply(input: MessageInput): Promise<void> {
    return this.responder.reply(input);
  }

  /** Acknowledges now and shows "thinking…" (optionally only to the user); answer later with `reply`. */
  defer(opts: { ephemeral?: boolean } = {}): Promise<void> {
    return this.responder.defer({ ...opts, kind: 'reply' });
  }

  /** Sends an additional message after the initial response. */
  followUp(input: MessageInput): Promise<void> {
    return this.responder.followUp(input);
  }

  /** Edits the original response. */
  editReply(input: MessageInput): Promise<void> {
    return this.responder.editReply(input);
  }
}

/** An interaction that may open a modal (commands and components). */
abstract class ModalCapableInteraction<Raw extends APIInteraction> extends RepliableInteraction<Raw> {
  /** Opens a modal; must be the first response. Give it a custom id from `ctx.customId(...)`. */
  showModal(modal: Encodable<APIModalInteractionResponseCallbackData>): Promise<void> {
    return this.responder.showModal(modal);
  }
}

/**
 * A slash command or context menu command. `options` holds the validated option values (typed by the
 * command's declared zod schema when it has one).
 *
 * @example
 * run: async (i) => i.reply(`Hello ${i.options.name ?? i.user.username}`)
 */
export class CommandInteraction<
  O = CommandOptions,
> extends ModalCapableInteraction<APIApplicationCommandInteraction> {
  constructor(
    raw: APIApplicationCommandInteraction,
    responder: InteractionResponder,
    private readonly invocation: Invocation,
    /** Validated options. */
    readonly options: O,
  ) {
    super(raw, responder);
  }

  get commandName(): string {
    return this.raw.data.name;
  }

  get commandType(): ApplicationCommandType {
    return this.raw.data.type;
  }

  get subcommand(): string | null {
    return this.invocation.subcommand;
  }

  get subcommandGroup(): string | null {
    return this.invocation.group;
  }

  /** Users, members, roles, channels, messages and attachments referenced by the options. */
  get resolved(): APIInteractionDataResolved | undefined {
    return 'resolved' in this.raw.data
      ? (this.raw.data.resolved as APIInteractionDataResolved | undefined)
      : undefined;
  }

  /** The user or message a context menu command was used on. */
  get targetId(): string | null {
    return 'target_id' in this.raw.data ? this.raw.data.target_id : null;
  }
}

/**
 * An autocomplete request while the user types. The handler returns the choices (at most 25 are sent).
 *
 * @example
 * autocomplete: (i) => names.filter((n) => n.startsWith(String(i.focused.value))).map((n) => ({ name: n, value: n }))
 */
export class AutocompleteInteraction extends BaseInteraction<APIApplicationCommandAutocompleteInteraction> {
  constructor(
    raw: APIApplicationCommandAutocompleteInteraction,
    responder: InteractionResponder,
    private readonly invocation: Invocation,
  ) {
    super(raw, responder);
  }

  get commandName(): string {
    return this.raw.data.name;
  }

  get subcommand(): string | null {
    return this.invocation.subcommand;
  }

  get subcommandGroup(): string | null {
    return this.invocation.group;
  }

  /** The option being typed (its value is the partial input, always as Discord sent it). */
  get focused(): { name: string; value: string | number | boolean } {
    const f = this.invocation.options.find((o) => 'focused' in o && o.focused);
    return f ? { name: f.name, value: f.value } : { name: '', value: '' };
  }

  /** Other options already filled in (unvalidated: the user is still typing). */
  get options(): CommandOptions {
    return optionRecord(this.invocation.options);
  }

  /** Sends the choices now (a handler may also just return them). False if already answered. */
  autocomplete(choices: readonly AutocompleteChoice[]): Promise<boolean> {
    return this.responder.autocomplete(choices);
  }
}

/**
 * A button or select menu press. `customId` is the full id (`<cog>:<prefix>[:args…]`), `args` the parts
 * after the handler's prefix.
 *
 * @example
 * components: { confirm: (i) => i.update({ content: `Confirmed case ${i.args[0]}`, components: [] }) }
 */
export class ComponentInteraction extends ModalCapableInteraction<APIMessageComponentInteraction> {
  constructor(
    raw: APIMessageComponentInteraction,
    responder: InteractionResponder,
    /** Parts of the custom id after the matched prefix. */
    readonly args: readonly string[],
  ) {
    super(raw, responder);
  }

  get customId(): string {
    return this.raw.data.custom_id;
  }

  get componentType(): ComponentType {
    return this.raw.data.component_type;
  }

  /** Selected values of a select menu (empty for buttons). */
  get values(): readonly string[] {
    return 'values' in this.raw.data ? this.raw.data.values : [];
  }

  /** The message the component is on. */
  get message(): APIMessage {
    return this.raw.message;
  }

  /** Edits the message the component is on (type 7, or an edit after `deferUpdate`). */
  update(input: MessageInput): Promise<void> {
    return this.responder.update(input);
  }

  /** Acknowledges without changing anything visible yet (type 6). */
  deferUpdate(): Promise<void> {
    return this.responder.defer({ kind: 'update' });
  }
}

/**
 * A submitted modal. `field(customId)` reads a text input; `args` are the custom id parts after the prefix.
 *
 * @example
 * modals: { report: (i) => i.reply({ content: `Thanks: ${i.field('reason')}`, ephemeral: true }) }
 */
export class ModalSubmitInteraction extends RepliableInteraction<APIModalSubmitInteraction> {
  private readonly fields: ReadonlyMap<string, string | readonly string[] | boolean | null>;

  constructor(
    raw: APIModalSubmitInteraction,
    responder: InteractionResponder,
    readonly args: readonly string[],
  ) {
    super(raw, responder);
    this.fields = modalFields(raw.data.components);
  }

  get customId(): string {
    return this.raw.data.custom_id;
  }

  /** The value of a text input (undefined when absent). */
  field(customId: string): string | undefined {
    const v = this.fields.get(customId);
    return typeof v === 'string' ? v : undefined;
  }

  /** The selected values of a select inside the modal (empty when absent). */
  selected(customId: string): readonly string[] {
    const v = this.fields.get(customId);
    return Array.isArray(v) ? v : [];
  }

  /** The message the modal's component was on, when it came from a component. */
  get message(): APIMessage | null {
    return this.raw.message ?? null;
  }

  /** Edits the message the modal came from (only for modals opened from a component). */
  update(input: MessageInput): Promise<void> {
    return this.responder.update(input);
  }

  /** Acknowledges without a visible change (type 6). */
  deferUpdate(): Promise<void> {
    return this.responder.defer({ kind: 'update' });
  }
}

function optionRecord(options: readonly APIApplicationCommandInteractionDataBasicOption[]): CommandOptions {
  const out: Record<string, OptionValue> = {};
  for (const o of options) out[o.name] = o.value;
  return out;
}

function modalFields(
  components: readonly APIModalSubmissionComponent[],
): Map<string, string | readonly string[] | boolean | null> {
  const out = new Map<string, string | readonly string[] | boolean | null>();
  const take = (c: { custom_id: string; value?: unknown; values?: unknown }) => {
    if (Array.isArray(c.values)) out.set(c.custom_id, c.values as string[]);
    else out.set(c.custom_id, (c.value ?? null) as string | boolean | null);
  };
  for (const c of components) {
    if (c.type === ComponentType.ActionRow) c.components.forEach(take);
    else if (c.type === ComponentType.Label) take(c.component);
  }
  return out;
}
