/**
 * The scenario API: what tests and demos do to the simulated Discord besides being the bot — users post,
 * react, join voice and guilds, run slash commands and click components, trigger AutoMod; the test then
 * reads the bot's interaction replies, the violations log, and drives the gateway (disconnect, reconnect,
 * invalidate). The same operations are served over HTTP under `/__sim/` (see `http.ts`).
 */
import {
  ApplicationCommandOptionType as O,
  ApplicationCommandType,
  ComponentType,
  InteractionType,
  type APIApplicationCommand,
  type APIApplicationCommandOption,
  type APIMessage,
  type APIPartialEmoji,
  type APIUser,
  type RESTAPIPartialCurrentUserGuild,
} from 'discord-api-types/v10';
import type { GatewayControl, SessionSummary, Violation, ViolationLog } from '../contracts.js';
import { oauthFor, type OAuthStore } from '../oauth/store.js';
import type { GuildInit, MessageInput, UserInit, World } from '../world/index.js';
import type { InteractionOutcome, InteractionRecord } from '../world/interactions.js';

/** What a {@link Scenario} drives. */
export interface ScenarioDeps {
  readonly world: World;
  readonly gateway: GatewayControl;
  readonly violations: ViolationLog;
}

/** A user's message, and what AutoMod did about it. */
export interface PostResult {
  /** The created message, or null when AutoMod blocked it. */
  readonly message: APIMessage | null;
  /** Rules that matched (their actions ran). */
  readonly autoModeration: readonly { ruleId: string; keyword: string }[];
}

/** A slash/context command invocation. */
export interface CommandInvocation {
  readonly channelId: string;
  readonly userId: string;
  readonly name: string;
  /** Guild of the channel when omitted. */
  readonly guildId?: string | null;
  /** Option values by name (users/channels/roles by id). */
  readonly options?: Readonly<Record<string, unknown>>;
  readonly subcommand?: string;
  readonly group?: string;
  /** 1 chat input (default), 2 user, 3 message. */
  readonly type?: 1 | 2 | 3;
  /** User or message id for context menu commands. */
  readonly targetId?: string;
  readonly locale?: string;
}

/** Resolved data of an interaction. */
interface Resolved {
  users?: Record<string, APIUser>;
  members?: Record<string, unknown>;
  roles?: Record<string, unknown>;
  channels?: Record<string, unknown>;
  messages?: Record<string, APIMessage>;
  attachments?: Record<string, unknown>;
}

/**
 * Plays everyone who is not the bot.
 *
 * @example
 * const scenario = new Scenario({ world, gateway, violations });
 * const alice = scenario.createUser({ username: 'alice' });
 * scenario.joinGuild(guildId, alice.id);
 * const rec = scenario.slashCommand({ channelId, userId: alice.id, name: 'ping' });
 * const reply = await scenario.awaitReply(rec.id);
 */
export class Scenario {
  readonly world: World;
  readonly oauth: OAuthStore;

  constructor(private readonly deps: ScenarioDeps) {
    this.world = deps.world;
    this.oauth = oauthFor(deps.world);
  }

  // Guilds and users ---------------------------------------------------------------------------------------

  /** Adds `count` generated guilds the bot joins (GUILD_CREATE each). */
  createGuilds(count: number, init: GuildInit = {}): string[] {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(this.world.addGuild(init));
    return ids;
  }

  /** Removes the bot from a guild (GUILD_DELETE). */
  removeGuild(guildId: string): void {
    this.world.removeGuild(guildId);
  }

  createUser(init: UserInit = {}): APIUser {
    return this.world.createUser(init);
  }

  /** A user joins a guild (GUILD_MEMBER_ADD). */
  joinGuild(guildId: string, userId: string): void {
    this.world.addMember(guildId, userId);
  }

  /** A user leaves a guild (GUILD_MEMBER_REMOVE). */
  leaveGuild(guildId: string, userId: string): void {
    this.world.removeMember(guildId, userId);
  }

  /** A user starts typing (TYPING_START). */
  typing(channelId: string, userId: string): void {
    const c = this.world.requireChannel(channelId);
    const g = c.guildId ? this.world.guild(c.guildId) : undefined;
    const m = g?.members.get(userId);
    this.world.emit(
      'TYPING_START',
      {
        channel_id: channelId,
        ...(g ? { guild_id: g.id } : {}),
        user_id: userId,
        timestamp: Math.floor(this.world.clock() / 1000),
        ...(m ? { member: this.world.apiMember(g?.id as string, m) } : {}),
      },
      c.guildId,
    );
  }

  // Messages -----------------------------------------------------------------------------------------------

  /**
   * A user posts a message. Enabled keyword AutoMod rules run first: a BLOCK_MESSAGE action stops the
   * message; every matched rule's actions emit AUTO_MODERATION_ACTION_EXECUTION.
   */
  postMessage(p: {
    channelId: string;
    userId: string;
    content?: string;
    embeds?: MessageInput['embeds'];
    replyTo?: string;
    timestampMs?: number;
    attachments?: MessageInput['attachments'];
  }): PostResult {
    const w = this.world;
    const c = w.requireChannel(p.channelId);
    if (c.guildId && !w.member(c.guildId, p.userId))
      throw new Error(`user ${p.userId} is not a member of guild ${c.guildId}`);
    const content = p.content ?? '';
    const matches = c.guildId && content ? w.matchAutoMod(c.guildId, p.userId, c.id, content) : [];
    let blocked = false;
    for (const m of matches) {
      if (m.rule.actions.some((a) => a.type === 1)) blocked = true;
    }
    const message = blocked
      ? null
      : w.createMessage(
          c.id,
          p.userId,
          {
            content,
            ...(p.embeds ? { embeds: p.embeds } : {}),
            ...(p.attachments ? { attachments: p.attachments } : {}),
            ...(p.replyTo ? { messageReference: { message_id: p.replyTo } } : {}),
          },
          p.timestampMs !== undefined ? { timestampMs: p.timestampMs } : {},
        );
    for (const m of matches) {
      w.executeAutoMod(c.guildId as string, m.rule.id, {
        userId: p.userId,
        channelId: c.id,
        content,
        matchedKeyword: m.keyword,
        messageId: message?.id ?? null,
      });
    }
    return { message, autoModeration: matches.map((m) => ({ ruleId: m.rule.id, keyword: m.keyword })) };
  }

  /** A user edits their message (MESSAGE_UPDATE). */
  editMessage(channelId: string, messageId: string, content: string): APIMessage {
    return this.world.editMessage(channelId, messageId, { content });
  }

  /** A user deletes a message (MESSAGE_DELETE). */
  deleteMessage(channelId: string, messageId: string): void {
    this.world.deleteMessage(channelId, messageId);
  }

  /** A user sends the bot a DM (MESSAGE_CREATE with DIRECT_MESSAGES). */
  directMessage(userId: string, content: string): APIMessage {
    const c = this.world.dmChannel(userId);
    return this.world.createMessage(c.id, userId, { content });
  }

  react(channelId: string, messageId: string, userId: string, emoji: string | APIPartialEmoji): boolean {
    return this.world.addReaction(
      channelId,
      messageId,
      userId,
      typeof emoji === 'string' ? { id: null, name: emoji } : emoji,
    );
  }

  unreact(channelId: string, messageId: string, userId: string, emoji: string | APIPartialEmoji): boolean {
    return this.world.removeReaction(
      channelId,
      messageId,
      userId,
      typeof emoji === 'string' ? { id: null, name: emoji } : emoji,
    );
  }

  // Voice and events ---------------------------------------------------------------------------------------

  joinVoice(
    guildId: string,
    userId: string,
    channelId: string,
    flags: { selfMute?: boolean; selfDeaf?: boolean } = {},
  ): void {
    this.world.setVoiceState(guildId, userId, channelId, flags);
  }

  leaveVoice(guildId: string, userId: string): void {
    this.world.setVoiceState(guildId, userId, null);
  }

  /** A user marks interest in a scheduled event. */
  eventInterest(guildId: string, eventId: string, userId: string, interested = true): void {
    this.world.setScheduledEventInterest(guildId, eventId, userId, interested);
  }

  /** Runs an AutoMod rule's actions against content. */
  triggerAutoMod(p: {
    guildId: string;
    ruleId: string;
    userId: string;
    channelId?: string;
    content: string;
    matchedKeyword?: string;
  }): { blocked: boolean } {
    return this.world.executeAutoMod(p.guildId, p.ruleId, {
      userId: p.userId,
      content: p.content,
      ...(p.channelId ? { channelId: p.channelId } : {}),
      ...(p.matchedKeyword ? { matchedKeyword: p.matchedKeyword } : {}),
    });
  }

  // Interactions -------------------------------------------------------------------------------------------

  /** A registered command by name and type (guild commands of the channel's guild first, then global). */
  findCommand(name: string, type: number, guildId: string | null): APIApplicationCommand {
    const w = this.world;
    const guildCmds = guildId ? [...(w.guild(guildId)?.commands.values() ?? [])] : [];
    const cmd = [...guildCmds, ...w.globalCommands.values()].find(
      (c) => c.name === name && (c.type ?? 1) === type,
    );
    if (!cmd) throw new Error(`command ${name} (type ${type}) is not registered`);
    return cmd;
  }

  /** A user runs a slash (or context menu) command: INTERACTION_CREATE with typed options and resolved data. */
  slashCommand(inv: CommandInvocation): InteractionRecord {
    return this.commandInteraction(inv, InteractionType.ApplicationCommand, null);
  }

  /** A user types into an autocomplete option: APPLICATION_COMMAND_AUTOCOMPLETE with `focused` set. */
  autocomplete(inv: CommandInvocation & { focused: string }): InteractionRecord {
    return this.commandInteraction(inv, InteractionType.ApplicationCommandAutocomplete, inv.focused);
  }

  /** A user clicks a button on a message. */
  clickButton(p: {
    channelId: string;
    messageId: string;
    userId: string;
    customId: string;
  }): InteractionRecord {
    const comp = this.findComponent(p.channelId, p.messageId, p.customId);
    if (comp.type !== ComponentType.Button) throw new Error(`component ${p.customId} is not a button`);
    if (comp.disabled) throw new Error(`button ${p.customId} is disabled`);
    return this.componentInteraction(p, { custom_id: p.customId, component_type: ComponentType.Button });
  }

  /** A user picks values in a select menu (string, user, role, mentionable or channel select). */
  selectMenu(p: {
    channelId: string;
    messageId: string;
    userId: string;
    customId: string;
    values: string[];
  }): InteractionRecord {
    const comp = this.findComponent(p.channelId, p.messageId, p.customId);
    const selectTypes = [
      ComponentType.StringSelect,
      ComponentType.UserSelect,
      ComponentType.RoleSelect,
      ComponentType.MentionableSelect,
      ComponentType.ChannelSelect,
    ];
    if (!selectTypes.includes(comp.type)) throw new Error(`component ${p.customId} is not a select menu`);
    if (comp.type === ComponentType.StringSelect) {
      const allowed = new Set((comp.options ?? []).map((o) => o.value));
      for (const v of p.values)
        if (!allowed.has(v)) throw new Error(`value ${v} is not an option of ${p.customId}`);
    }
    const min = comp.min_values ?? 1;
    const max = comp.max_values ?? 1;
    if (p.values.length < min || p.values.length > max)
      throw new Error(`select ${p.customId} takes ${min}..${max} values`);
    const resolved =
      comp.type === ComponentType.StringSelect
        ? undefined
        : this.resolveIds(p.values, this.world.requireChannel(p.channelId).guildId);
    return this.componentInteraction(p, {
      custom_id: p.customId,
      component_type: comp.type,
      values: p.values,
      ...(resolved ? { resolved } : {}),
    });
  }

  /**
   * A user submits the modal the bot showed in response to `fromInteractionId` (values by text input
   * custom_id). Fails when the bot did not answer with a modal.
   */
  submitModal(p: { fromInteractionId: string; fields: Readonly<Record<string, string>> }): InteractionRecord {
    const w = this.world;
    const from = w.interactions.get(p.fromInteractionId);
    if (!from) throw new Error(`unknown interaction ${p.fromInteractionId}`);
    const outcome = w.interactions.outcome(from.id);
    if (outcome.responseType !== 9 || !outcome.data)
      throw new Error(`interaction ${from.id} was not answered with a modal`);
    const modal = outcome.data as {
      custom_id: string;
      components: {
        type: number;
        components?: { type: number; custom_id?: string; required?: boolean }[];
        component?: { type: number; custom_id?: string; required?: boolean };
      }[];
    };
    const inputs = modal.components
      .flatMap((row) => row.components ?? (row.component ? [row.component] : []))
      .filter((c) => c.type === ComponentType.TextInput);
    for (const input of inputs) {
      if (input.required !== false && !(input.custom_id && p.fields[input.custom_id]))
        throw new Error(`modal field ${input.custom_id} is required`);
    }
    const components = inputs.map((input) => ({
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.TextInput,
          custom_id: input.custom_id,
          value: p.fields[input.custom_id ?? ''] ?? '',
        },
      ],
    }));
    return w.interactions.create({
      type: InteractionType.ModalSubmit,
      guildId: from.guildId,
      channelId: from.channelId,
      userId: from.userId,
      data: { custom_id: modal.custom_id, components },
      ...(from.sourceMessageId ? { messageId: from.sourceMessageId } : {}),
    });
  }

  /** What the bot answered so far. */
  interactionOutcome(interactionId: string): InteractionOutcome {
    return this.world.interactions.outcome(interactionId);
  }

  /** Waits for the bot's visible answer (a deferred reply counts once edited or followed up). */
  awaitReply(interactionId: string, timeoutMs = 5000): Promise<InteractionOutcome> {
    return this.world.interactions.waitForReply(interactionId, timeoutMs);
  }

  // OAuth2 -------------------------------------------------------------------------------------------------

  /** The user `/oauth2/authorize` logs in as (auto-approving). */
  setOAuthUser(userId: string | null): void {
    this.oauth.setTestUser(userId);
  }

  /** Registers redirect URIs of the OAuth2 application. */
  addRedirectUris(uris: readonly string[]): void {
    for (const u of uris) this.oauth.redirectUris.add(u);
  }

  /** Guilds the user is in without the bot (listed by /users/@me/guilds). */
  setForeignGuilds(userId: string, guilds: RESTAPIPartialCurrentUserGuild[]): void {
    this.oauth.foreignGuilds.set(userId, guilds);
  }

  // Gateway and violations -------------------------------------------------------------------------------

  sessions(): readonly SessionSummary[] {
    return this.deps.gateway.sessions();
  }

  forceDisconnect(filter: { shardId?: number; sessionId?: string } = {}, closeCode?: number): number {
    return this.deps.gateway.forceDisconnect(filter, closeCode);
  }

  requestReconnect(filter: { shardId?: number; sessionId?: string } = {}): number {
    return this.deps.gateway.requestReconnect(filter);
  }

  invalidateSession(filter: { shardId?: number; sessionId?: string } = {}, resumable = false): number {
    return this.deps.gateway.invalidateSession(filter, resumable);
  }

  violations(kind?: string): readonly Violation[] {
    return this.deps.violations.list(kind);
  }

  violationCounts(): Record<string, number> {
    return this.deps.violations.counts();
  }

  clearViolations(): void {
    this.deps.violations.clear();
  }

  // internals ----------------------------------------------------------------------------------------------

  private commandInteraction(
    inv: CommandInvocation,
    type: InteractionType,
    focused: string | null,
  ): InteractionRecord {
    const w = this.world;
    const channel = w.requireChannel(inv.channelId);
    const guildId = inv.guildId === undefined ? channel.guildId : inv.guildId;
    const cmdType = inv.type ?? ApplicationCommandType.ChatInput;
    const cmd = this.findCommand(inv.name, cmdType, guildId);
    if (guildId && !w.member(guildId, inv.userId))
      throw new Error(`user ${inv.userId} is not a member of guild ${guildId}`);
    const resolved: Resolved = {};
    const data: Record<string, unknown> = {
      id: cmd.id,
      name: cmd.name,
      type: cmdType,
      ...(cmd.guild_id ? { guild_id: cmd.guild_id } : {}),
    };
    if (cmdType === ApplicationCommandType.ChatInput) {
      let defs: readonly APIApplicationCommandOption[] = cmd.options ?? [];
      let wrap = (opts: unknown[]): unknown[] => opts;
      if (inv.group) {
        const group = defs.find((o) => o.type === O.SubcommandGroup && o.name === inv.group);
        if (!group || group.type !== O.SubcommandGroup)
          throw new Error(`no subcommand group ${inv.group} in /${cmd.name}`);
        const sub = (group.options ?? []).find((o) => o.name === inv.subcommand);
        if (!sub) throw new Error(`no subcommand ${inv.subcommand} in /${cmd.name} ${inv.group}`);
        defs = sub.options ?? [];
        wrap = (opts) => [
          {
            type: O.SubcommandGroup,
            name: group.name,
            options: [{ type: O.Subcommand, name: sub.name, options: opts }],
          },
        ];
      } else if (inv.subcommand) {
        const sub = defs.find((o) => o.type === O.Subcommand && o.name === inv.subcommand);
        if (!sub || sub.type !== O.Subcommand)
          throw new Error(`no subcommand ${inv.subcommand} in /${cmd.name}`);
        defs = sub.options ?? [];
        wrap = (opts) => [{ type: O.Subcommand, name: sub.name, options: opts }];
      } else if (defs.some((o) => o.type === O.Subcommand || o.type === O.SubcommandGroup)) {
        throw new Error(`/${cmd.name} needs a subcommand`);
      }
      const options = this.typedOptions(cmd.name, defs, inv.options ?? {}, guildId, resolved, focused);
      data.options = wrap(options);
    } else {
      if (!inv.targetId) throw new Error('context menu commands need targetId');
      data.target_id = inv.targetId;
      if (cmdType === ApplicationCommandType.User) this.resolveUser(inv.targetId, guildId, resolved);
      else {
        const msg = channel.messages.get(inv.targetId);
        if (!msg) throw new Error(`unknown message ${inv.targetId}`);
        resolved.messages = { [inv.targetId]: { ...msg.message } };
      }
    }
    if (Object.keys(resolved).length > 0) data.resolved = resolved;
    return w.interactions.create({
      type,
      guildId,
      channelId: channel.id,
      userId: inv.userId,
      data,
      ...(inv.locale ? { locale: inv.locale } : {}),
    });
  }

  private typedOptions(
    cmdName: string,
    defs: readonly APIApplicationCommandOption[],
    values: Readonly<Record<string, unknown>>,
    guildId: string | null,
    resolved: Resolved,
    focused: string | null,
  ): unknown[] {
    for (const name of Object.keys(values)) {
      if (!defs.some((d) => d.name === name)) throw new Error(`/${cmdName} has no option ${name}`);
    }
    const out: unknown[] = [];
    for (const def of defs) {
      const raw = values[def.name];
      const isFocused = focused === def.name;
      if (raw === undefined) {
        if ('required' in def && def.required && focused === null)
          throw new Error(`/${cmdName}: option ${def.name} is required`);
        continue;
      }
      let value: unknown = raw;
      if (isFocused) {
        out.push({ type: def.type, name: def.name, value: String(raw), focused: true });
        continue;
      }
      switch (def.type) {
        case O.String:
          value = String(raw);
          break;
        case O.Integer:
          value = Number(raw);
          if (!Number.isInteger(value)) throw new Error(`/${cmdName}: option ${def.name} must be an integer`);
          break;
        case O.Number:
          value = Number(raw);
          if (Number.isNaN(value)) throw new Error(`/${cmdName}: option ${def.name} must be a number`);
          break;
        case O.Boolean:
          value = raw === true || raw === 'true';
          break;
        case O.User:
          this.resolveUser(String(raw), guildId, resolved);
          value = String(raw);
          break;
        case O.Channel:
          this.resolveChannel(String(raw), resolved);
          value = String(raw);
          break;
        case O.Role:
          this.resolveRole(String(raw), guildId, resolved);
          value = String(raw);
          break;
        case O.Mentionable:
          if (this.world.user(String(raw))) this.resolveUser(String(raw), guildId, resolved);
          else this.resolveRole(String(raw), guildId, resolved);
          value = String(raw);
          break;
        case O.Attachment: {
          const att = raw as { filename?: string; url?: string; size?: number; content_type?: string };
          const id = this.world.ids.next();
          resolved.attachments = {
            ...(resolved.attachments ?? {}),
            [id]: {
              id,
              filename: att.filename ?? 'file.bin',
              size: att.size ?? 0,
              url: att.url ?? `https://cdn.sim.invalid/${id}`,
              proxy_url: att.url ?? `https://cdn.sim.invalid/${id}`,
              ...(att.content_type ? { content_type: att.content_type } : {}),
            },
          };
          value = id;
          break;
        }
        default:
          throw new Error(`/${cmdName}: option ${def.name} has unsupported type ${def.type}`);
      }
      if (
        'choices' in def &&
        def.choices &&
        def.choices.length > 0 &&
        !def.choices.some((c) => c.value === value)
      ) {
        throw new Error(`/${cmdName}: ${JSON.stringify(value)} is not a choice of ${def.name}`);
      }
      out.push({ type: def.type, name: def.name, value });
    }
    return out;
  }

  private resolveUser(id: string, guildId: string | null, resolved: Resolved): void {
    const u = this.world.user(id);
    if (!u) throw new Error(`unknown user ${id}`);
    const { email: _e, verified: _v, ...pub } = u;
    resolved.users = { ...(resolved.users ?? {}), [id]: pub };
    const g = guildId ? this.world.guild(guildId) : undefined;
    const m = g?.members.get(id);
    if (g && m) {
      const { user: _u, ...member } = this.world.apiMember(g.id, m);
      const channel = [...g.channels.values()][0];
      resolved.members = {
        ...(resolved.members ?? {}),
        [id]: { ...member, permissions: channel ? this.world.permissionsIn(g, m, channel).toString() : '0' },
      };
    }
  }

  private resolveChannel(id: string, resolved: Resolved): void {
    const c = this.world.channel(id);
    if (!c) throw new Error(`unknown channel ${id}`);
    const g = c.guildId ? this.world.guild(c.guildId) : undefined;
    const bot = g?.members.get(this.world.botId);
    resolved.channels = {
      ...(resolved.channels ?? {}),
      [id]: {
        id,
        name: c.name,
        type: c.type,
        permissions: g && bot ? this.world.permissionsIn(g, bot, c).toString() : '0',
        ...(c.parentId ? { parent_id: c.parentId } : {}),
        ...(c.thread
          ? {
              thread_metadata: {
                archived: c.thread.archived,
                auto_archive_duration: c.thread.autoArchiveDuration,
                archive_timestamp: c.thread.archiveTimestamp,
                locked: c.thread.locked,
              },
            }
          : {}),
      },
    };
  }

  private resolveRole(id: string, guildId: string | null, resolved: Resolved): void {
    const role = guildId ? this.world.guild(guildId)?.roles.get(id) : undefined;
    if (!role) throw new Error(`unknown role ${id}`);
    resolved.roles = { ...(resolved.roles ?? {}), [id]: { ...role } };
  }

  private resolveIds(ids: readonly string[], guildId: string | null): Resolved {
    const resolved: Resolved = {};
    for (const id of ids) {
      if (this.world.user(id)) this.resolveUser(id, guildId, resolved);
      else if (guildId && this.world.guild(guildId)?.roles.has(id)) this.resolveRole(id, guildId, resolved);
      else if (this.world.channel(id)) this.resolveChannel(id, resolved);
      else throw new Error(`cannot resolve ${id}`);
    }
    return resolved;
  }

  private findComponent(
    channelId: string,
    messageId: string,
    customId: string,
  ): {
    type: number;
    disabled?: boolean;
    options?: { value: string }[];
    min_values?: number;
    max_values?: number;
  } {
    const msg =
      this.world.message(channelId, messageId)?.message ??
      this.world.interactions.ephemeralMessage(messageId);
    if (!msg) throw new Error(`unknown message ${messageId}`);
    const stack: unknown[] = [...(msg.components ?? [])];
    while (stack.length > 0) {
      const c = stack.pop() as {
        type: number;
        custom_id?: string;
        components?: unknown[];
        accessory?: unknown;
      };
      if (c.custom_id === customId) return c as ReturnType<Scenario['findComponent']>;
      if (c.components) stack.push(...c.components);
      if (c.accessory) stack.push(c.accessory);
    }
    throw new Error(`message ${messageId} has no component ${customId}`);
  }

  private componentInteraction(
    p: { channelId: string; messageId: string; userId: string },
    data: Record<string, unknown>,
  ): InteractionRecord {
    const c = this.world.requireChannel(p.channelId);
    if (c.guildId && !this.world.member(c.guildId, p.userId))
      throw new Error(`user ${p.userId} is not a member of guild ${c.guildId}`);
    return this.world.interactions.create({
      type: InteractionType.MessageComponent,
      guildId: c.guildId,
      channelId: c.id,
      userId: p.userId,
      data,
      messageId: p.messageId,
    });
  }
}
