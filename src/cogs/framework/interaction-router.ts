import type { REST } from '@discordjs/rest';
import {
  type APIApplicationCommandAutocompleteInteraction,
  type APIApplicationCommandInteraction,
  type APIInteraction,
  type APIMessageComponentInteraction,
  type APIModalSubmitInteraction,
  ApplicationCommandType,
  InteractionType,
} from 'discord-api-types/v10';
import type { Logger } from '../../logging/logger.js';
import type { CogContext } from './context.js';
import { type CogCommand, matchPrefix } from './define-cog.js';
import { type CogInstance, runGuarded, shortRef } from './instance.js';
import {
  AutocompleteInteraction,
  CommandInteraction,
  ComponentInteraction,
  ModalSubmitInteraction,
} from './interaction.js';
import type { CogHostMetrics } from './metrics.js';
import { type CommandOptions, parseDeclared, readInvocation } from './options.js';
import { InteractionResponder } from './responder.js';
import type { CogClaims, CogClock } from './services.js';
import type { GuildSettings } from './settings.js';
import { type GuildSettingsCache, isCogEnabled } from './settings-cache.js';

/** What the router needs from its host. */
export interface InteractionRouterDeps {
  readonly rest: REST;
  readonly log: Logger;
  readonly clock: CogClock;
  readonly autoDeferMs: number;
  readonly claims: CogClaims | undefined;
  readonly metrics: CogHostMetrics;
  readonly settings: GuildSettingsCache;
  /** The loaded instances by cog name (a live view). */
  readonly instances: ReadonlyMap<string, CogInstance>;
}

type InteractionKind = 'command' | 'autocomplete' | 'component' | 'modal';

/** How long a claim (interaction dedupe, `ctx.claim`) holds: far longer than two generations' skew. */
export const CLAIM_TTL_MS = 60_000;

const MESSAGES = {
  error: (ref: string) => `Something went wrong (ref ${ref}).`,
  disabled: (cog: string) => `The ${cog} feature is disabled on this server.`,
  unknownCommand: 'This command is not available right now. It may have just changed; try again in a minute.',
  expiredControl: 'This control is no longer active.',
} as const;

/**
 * Routes INTERACTION_CREATE payloads to the owning cog — commands and autocomplete by `<type>:<name>`,
 * components and modal submits by custom id `<cog>:<prefix>…` — and makes sure the user always gets an
 * answer: a handler error becomes an ephemeral "Something went wrong (ref …)" (the ref is logged), a
 * handler that has not answered after `autoDeferMs` is deferred for, a disabled cog or invalid options get
 * an ephemeral explanation.
 *
 * @example
 * const router = new InteractionRouter({ rest, log, clock, autoDeferMs: 2_500, claims, metrics, settings, instances });
 * await router.route(payload.d);
 */
export class InteractionRouter {
  constructor(private readonly deps: InteractionRouterDeps) {}

  /** Handles one interaction; never rejects. */
  async route(raw: APIInteraction): Promise<void> {
    if (!(await this.claim(raw.id))) return;
    const responder = new InteractionResponder(this.deps.rest, raw.application_id, raw.id, raw.token);
    try {
      switch (raw.type) {
        case InteractionType.ApplicationCommand:
          await this.onCommand(raw, responder);
          break;
        case InteractionType.ApplicationCommandAutocomplete:
          await this.onAutocomplete(raw, responder);
          break;
        case InteractionType.MessageComponent:
          await this.onCustomId(raw, responder, 'component');
          break;
        case InteractionType.ModalSubmit:
          await this.onCustomId(raw, responder, 'modal');
          break;
        default:
          break; // PING only arrives over HTTP interactions, not the gateway
      }
    } catch (err) {
      const ref = shortRef();
      this.deps.log.error({ err, ref, interaction: raw.id }, 'interaction routing failed');
      await this.answer(
        responder,
        raw.type === InteractionType.ApplicationCommandAutocomplete,
        MESSAGES.error(ref),
      );
    }
  }

  /** True unless another pod already claimed this interaction (a claims outage does not block it). */
  private async claim(id: string): Promise<boolean> {
    const { claims, log } = this.deps;
    if (!claims) return true;
    try {
      if (await claims.claim(`interaction:${id}`, CLAIM_TTL_MS)) return true;
      log.debug({ interaction: id }, 'interaction claimed by another pod');
      return false;
    } catch (err) {
      log.warn({ err, interaction: id }, 'claiming the interaction failed; handling it anyway');
      return true;
    }
  }

  private findCommand(key: string): { inst: CogInstance; command: CogCommand } | undefined {
    for (const inst of this.deps.instances.values()) {
      const command = inst.cog.commands.find((c) => c.key === key);
      if (command) return { inst, command };
    }
    return undefined;
  }

  private async onCommand(
    raw: APIApplicationCommandInteraction,
    responder: InteractionResponder,
  ): Promise<void> {
    const found = this.findCommand(`${raw.data.type}:${raw.data.name}`);
    if (!found) {
      this.count('unknown', 'command', 'unknown');
      this.deps.log.warn(
        { command: raw.data.name, type: raw.data.type },
        'interaction for an unknown command',
      );
      await this.answer(responder, false, MESSAGES.unknownCommand);
      return;
    }
    const { inst, command } = found;
    if (!(await this.gate(inst, raw, responder, 'command'))) return;
    const invocation = readInvocation(
      raw.data.type === ApplicationCommandType.ChatInput ? raw.data.options : undefined,
    );
    const check = command.validator.validate(invocation);
    let options: unknown = check.ok ? check.values : undefined;
    let problem = check.ok ? undefined : check.message;
    if (check.ok && command.definition.options) {
      const declared = parseDeclared(command.definition.options, check.values);
      if (declared.ok) options = declared.value;
      else problem = declared.message;
    }
    if (problem !== undefined) {
      this.count(inst.cog.name, 'command', 'invalid_options');
      inst.ctx.log.info({ command: raw.data.name, problem }, 'rejected invalid options');
      await this.answer(responder, false, problem);
      return;
    }
    const i = new CommandInteraction(raw, responder, invocation, options as CommandOptions);
    const ephemeral = (command.definition.autoDefer ?? 'ephemeral') === 'ephemeral';
    await this.run(inst, 'command', `command:${raw.data.name}`, raw.guild_id ?? null, responder, {
      handler: () => command.definition.run(i, inst.ctx),
      onSlow: () => responder.defer({ kind: 'reply', ephemeral }),
    });
  }

  private async onAutocomplete(
    raw: APIApplicationCommandAutocompleteInteraction,
    responder: InteractionResponder,
  ): Promise<void> {
    const found = this.findCommand(`${raw.data.type ?? ApplicationCommandType.ChatInput}:${raw.data.name}`);
    const complete = found?.command.definition.autocomplete;
    if (!found || !complete) {
      this.count(found?.inst.cog.name ?? 'unknown', 'autocomplete', 'unknown');
      await this.answer(responder, true, '');
      return;
    }
    const { inst } = found;
    if (!(await this.gate(inst, raw, responder, 'autocomplete'))) return;
    const i = new AutocompleteInteraction(raw, responder, readInvocation(raw.data.options));
    await this.run(inst, 'autocomplete', `autocomplete:${raw.data.name}`, raw.guild_id ?? null, responder, {
      handler: async () => {
        const choices = await complete(i, inst.ctx);
        if (choices) await responder.autocomplete(choices);
      },
      onSlow: () => responder.autocomplete([]),
      onSilent: () => responder.autocomplete([]),
    });
  }

  private async onCustomId(
    raw: APIMessageComponentInteraction | APIModalSubmitInteraction,
    responder: InteractionResponder,
    kind: 'component' | 'modal',
  ): Promise<void> {
    const id = raw.data.custom_id;
    const sep = id.indexOf(':');
    const inst = this.deps.instances.get(sep === -1 ? id : id.slice(0, sep));
    const rest = sep === -1 ? '' : id.slice(sep + 1);
    const match =
      inst && matchPrefix<unknown>(kind === 'component' ? inst.cog.components : inst.cog.modals, rest);
    if (!inst || !match) {
      this.count(inst?.cog.name ?? 'unknown', kind, 'unknown');
      this.deps.log.warn({ customId: id, kind }, 'interaction for an unknown custom id');
      await this.answer(responder, false, MESSAGES.expiredControl);
      return;
    }
    if (!(await this.gate(inst, raw, responder, kind))) return;
    const fromMessage = raw.message !== undefined;
    const i =
      raw.type === InteractionType.MessageComponent
        ? new ComponentInteraction(raw, responder, match.args)
        : new ModalSubmitInteraction(raw, responder, match.args);
    const handler = match.handler as (i: unknown, ctx: CogContext<unknown>) => unknown;
    await this.run(inst, kind, `${kind}:${match.prefix}`, raw.guild_id ?? null, responder, {
      handler: () => handler(i, inst.ctx),
      onSlow: () =>
        fromMessage
          ? responder.defer({ kind: 'update' })
          : responder.defer({ kind: 'reply', ephemeral: true }),
      // Type 6 needs a message to (not) update: only components and modals opened from one may stay silent.
      onSilent: fromMessage ? () => responder.defer({ kind: 'update' }) : undefined,
    });
  }

  /** Enablement check for an interaction; answers (ephemeral) and returns false when it must stop. */
  private async gate(
    inst: CogInstance,
    raw: APIInteraction,
    responder: InteractionResponder,
    kind: InteractionKind,
  ): Promise<boolean> {
    const guildId = raw.guild_id;
    if (!guildId) return true;
    let settings: GuildSettings;
    try {
      settings = await this.deps.settings.get(guildId);
    } catch {
      const ref = shortRef();
      this.deps.metrics.settingsUnavailable.inc();
      this.count(inst.cog.name, kind, 'error');
      inst.ctx.log.error({ guildId, ref, kind }, 'guild settings unavailable; interaction refused');
      await this.answer(responder, kind === 'autocomplete', MESSAGES.error(ref));
      return false;
    }
    if (isCogEnabled(inst.cog, settings)) return true;
    this.count(inst.cog.name, kind, 'disabled');
    await this.answer(responder, kind === 'autocomplete', MESSAGES.disabled(inst.cog.name));
    return false;
  }

  /**
   * Runs an interaction handler with the auto-defer timer armed, then makes sure the interaction was
   * answered: an error → the ref message; a handler that stayed silent → `onSilent` (a silent
   * acknowledgement for components, no choices for autocomplete) or, where staying silent is not an
   * answer (commands, modals not from a message), an error — it is a bug in the cog.
   */
  private async run(
    inst: CogInstance,
    kind: InteractionKind,
    event: string,
    guildId: string | null,
    responder: InteractionResponder,
    steps: { handler: () => unknown; onSlow: () => Promise<unknown>; onSilent?: () => Promise<unknown> },
  ): Promise<void> {
    const { metrics, clock, autoDeferMs } = this.deps;
    const stop = new AbortController();
    const slow = clock.sleep(autoDeferMs, stop.signal).then(
      async () => {
        if (responder.acknowledged) return;
        metrics.autoDefers.inc({ cog: inst.cog.name });
        inst.ctx.log.warn({ event, guildId }, 'handler has not answered in time; acknowledging for it');
        await steps.onSlow().catch((err: unknown) => inst.ctx.log.warn({ err, event }, 'auto-defer failed'));
      },
      () => undefined,
    );
    let ref = await runGuarded(metrics, inst, event, guildId, steps.handler);
    stop.abort();
    await slow;
    if (ref === null && !responder.acknowledged) {
      if (steps.onSilent) {
        await steps.onSilent().catch((err: unknown) => {
          inst.ctx.log.warn({ err, event }, 'silent acknowledgement failed');
        });
      } else {
        ref = shortRef();
        metrics.handlerErrors.inc({ cog: inst.cog.name, event });
        inst.ctx.log.error({ event, guildId, ref }, 'handler finished without answering');
      }
    }
    if (ref !== null) await this.answer(responder, kind === 'autocomplete', MESSAGES.error(ref));
    this.count(inst.cog.name, kind, ref === null ? 'ok' : 'error');
  }

  /**
   * Tells the user something, whatever state the interaction is in: autocomplete gets no choices;
   * otherwise an ephemeral reply, an edit of a deferred response, or an ephemeral follow-up. Never throws.
   */
  private async answer(
    responder: InteractionResponder,
    autocomplete: boolean,
    content: string,
  ): Promise<void> {
    const state = responder.state;
    if (state === 'modal' || state === 'autocomplete' || state === 'expired') return;
    try {
      if (autocomplete) await responder.autocomplete([]);
      else await responder.reply({ content, ephemeral: true });
    } catch (err) {
      this.deps.log.error({ err, state }, 'could not answer the interaction');
    }
  }

  private count(cog: string, kind: InteractionKind, outcome: string): void {
    this.deps.metrics.interactions.inc({ cog, kind, outcome });
  }
}
