import { randomBytes } from 'node:crypto';
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
import { Counter, type Registry } from 'prom-client';
import { AppError } from '../../errors/app-error.js';
import type { Logger } from '../../logging/logger.js';
import type { CogContext, CogDirectory, CogSummary } from './context.js';
import {
  type Cog,
  type CogCommand,
  COG_NAME,
  type CogEventName,
  type EventMeta,
  customId,
  matchPrefix,
} from './define-cog.js';
import {
  AutocompleteInteraction,
  CommandInteraction,
  ComponentInteraction,
  ModalSubmitInteraction,
} from './interaction.js';
import type { CogLoader } from './loader.js';
import { type CogHostMetrics, cogHostMetrics, reuseMetric } from './metrics.js';
import { type CommandOptions, parseDeclared, readInvocation } from './options.js';
import { InteractionResponder } from './responder.js';
import { InstanceScheduler } from './scheduler.js';
import {
  type CogCache,
  type CogClaims,
  type CogClock,
  type CogPubSub,
  type DomainCall,
  type ShardView,
  systemCogClock,
} from './services.js';
import { COG_CHANNELS, type GuildCogSettings, type GuildSettings, type SettingsChanged } from './settings.js';

/** What a {@link CogHost} cannot run without. */
export interface CogHostRequiredOptions {
  readonly log: Logger;
  readonly metrics: Registry;
  /** Discord REST; interaction callbacks and follow-ups go through it. */
  readonly rest: REST;
  readonly applicationId: string;
  readonly settings: GuildCogSettings;
  readonly shard: ShardView;
  readonly cache: CogCache;
  readonly read: DomainCall;
  readonly write: DomainCall;
}

/** Optional {@link CogHost} options; defaults in {@link COG_HOST_DEFAULTS}. */
export interface CogHostOptionalOptions {
  readonly clock: CogClock;
  /** Live settings changes and reload requests (`cogs.settings`, `cogs.reload`); none: no live updates. */
  readonly pubsub: CogPubSub | undefined;
  /**
   * Deduplicates interactions (and backs `ctx.claim`) across pods: each interaction is claimed by id
   * before routing, so when two shard generations both receive it only one pod answers. None: no dedupe.
   */
  readonly claims: CogClaims | undefined;
  /** Needed for `reload(name)` by name and for `loadAll()`. */
  readonly loader: CogLoader | undefined;
  /** When the host defers for a handler that has not answered (Discord allows 3 s). */
  readonly autoDeferMs: number;
  /** How long a guild's settings are trusted without a pub/sub invalidation (a missed message heals). */
  readonly settingsTtlMs: number;
}

/** Defaults of the optional {@link CogHost} options. */
export const COG_HOST_DEFAULTS = {
  clock: systemCogClock,
  pubsub: undefined,
  claims: undefined,
  loader: undefined,
  autoDeferMs: 2_500,
  settingsTtlMs: 60_000,
} as const satisfies CogHostOptionalOptions;

/** Options of a {@link CogHost}. */
export type CogHostOptions = CogHostRequiredOptions & Partial<CogHostOptionalOptions>;

/** The outcome of a load or reload. */
export type ReloadResult =
  | { readonly ok: true; readonly cog: string; readonly instance: number }
  | {
      readonly ok: false;
      readonly cog: string;
      /** `import`: the module failed; `invalid`: the cog conflicts; `load`: its onLoad threw. */
      readonly stage: 'import' | 'invalid' | 'load';
      readonly error: string;
      /** True when a previous instance is still serving (untouched, or re-loaded after a failed onLoad). */
      readonly previousRunning: boolean;
    };

interface CogInstance {
  readonly cog: Cog;
  readonly ctx: CogContext<unknown>;
  readonly scheduler: InstanceScheduler;
  readonly instance: number;
}

interface GuildEntry {
  value: GuildSettings | undefined;
  loadedAt: number;
  pending: Promise<GuildSettings> | undefined;
  readonly parsed: Map<string, { schema: unknown; raw: unknown; value: unknown }>;
}

/** How long a claim (interaction dedupe, `ctx.claim`) holds: far longer than two generations' skew. */
const CLAIM_TTL_MS = 60_000;

type InteractionKind = 'command' | 'autocomplete' | 'component' | 'modal';

const MESSAGES = {
  error: (ref: string) => `Something went wrong (ref ${ref}).`,
  disabled: (cog: string) => `The ${cog} feature is disabled on this server.`,
  unknownCommand: 'This command is not available right now. It may have just changed; try again in a minute.',
  expiredControl: 'This control is no longer active.',
} as const;

/**
 * Runs cogs inside a shard process: holds the loaded instances, dispatches gateway events to the cogs
 * enabled in the event's guild, routes interactions (by command name, autocomplete, custom id prefix) and
 * answers them through Discord REST, applies per-guild settings live from pub/sub, and reloads cogs
 * without touching the gateway. Nothing a cog throws reaches the caller: errors are logged with the cog
 * and guild and counted.
 *
 * @example
 * const host = new CogHost({ log, metrics, rest, applicationId, settings, shard, cache, read, write, pubsub, loader });
 * await host.start();
 * await host.loadAll();
 * manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => void host.dispatch(payload, shardId));
 * lifecycle.onShutdown('cogs', () => host.close());
 */
export class CogHost {
  private readonly opts: CogHostRequiredOptions & CogHostOptionalOptions;
  private readonly log: Logger;
  private readonly m: CogHostMetrics;
  private readonly settingsUnavailable: Counter;
  private readonly instances = new Map<string, CogInstance>();
  private readonly guilds = new Map<string, GuildEntry>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly unsubscribers: (() => Promise<void>)[] = [];
  private readonly directory: CogDirectory;
  private instanceSeq = 0;

  constructor(options: CogHostOptions) {
    this.opts = { ...COG_HOST_DEFAULTS, ...options };
    this.log = options.log.child({ module: 'cogs' });
    this.m = cogHostMetrics(options.metrics);
    this.settingsUnavailable = reuseMetric(
      options.metrics,
      'guildhall_cog_settings_unavailable_total',
      (registers) =>
        new Counter({
          name: 'guildhall_cog_settings_unavailable_total',
          help: 'Events and interactions skipped because a guild’s cog settings could not be loaded.',
          registers,
        }),
    );
    this.directory = {
      list: () => this.list(),
      isEnabled: (guildId, cog) => this.isEnabled(guildId, cog),
      setEnabled: (guildId, cog, enabled) => this.setEnabled(guildId, cog, enabled),
    };
  }

  /** Subscribes to the settings and reload channels (when a pub/sub is given). */
  async start(): Promise<void> {
    const { pubsub } = this.opts;
    if (!pubsub) return;
    this.unsubscribers.push(
      await pubsub.subscribe<SettingsChanged>(COG_CHANNELS.settings, (msg) => {
        this.invalidate(typeof msg?.guildId === 'string' ? msg.guildId : undefined);
      }),
      await pubsub.subscribe<{ cog?: unknown }>(COG_CHANNELS.reload, async (msg) => {
        if (typeof msg?.cog !== 'string') {
          this.log.warn({ msg }, 'ignoring malformed reload request');
          return;
        }
        await this.reload(msg.cog);
      }),
    );
  }

  /** Unsubscribes and unloads every cog (their timers stop). */
  async close(): Promise<void> {
    for (const off of this.unsubscribers.splice(0)) {
      await off().catch((err: unknown) => this.log.warn({ err }, 'unsubscribe failed'));
    }
    for (const name of [...this.instances.keys()]) await this.unload(name);
  }

  // ---------------------------------------------------------------- loading

  /** The loaded cogs. */
  cogs(): readonly Cog[] {
    return [...this.instances.values()].map((i) => i.cog);
  }

  /** Summaries of the loaded cogs (name, description, commands), sorted by name. */
  list(): readonly CogSummary[] {
    return [...this.instances.values()]
      .map(({ cog }) => ({
        name: cog.name,
        description: cog.description,
        canDisable: cog.canDisable,
        commands: cog.commands.map((c) => ({
          name: c.json.name,
          description: 'description' in c.json ? (c.json.description ?? '') : '',
          type: c.json.type ?? ApplicationCommandType.ChatInput,
        })),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Loads a cog (or replaces the loaded one of the same name, like {@link reload} with a given cog).
   * Never throws: the result says what happened.
   */
  load(cog: Cog): Promise<ReloadResult> {
    return this.serialized(cog.name, () => this.swap(cog.name, () => Promise.resolve(cog)));
  }

  /** Imports every cog the loader finds and loads it; a failing cog is reported and skipped. */
  async loadAll(): Promise<ReloadResult[]> {
    const loader = this.requireLoader();
    const names = await loader.discover();
    const results: ReloadResult[] = [];
    for (const name of names) results.push(await this.reload(name));
    return results;
  }

  /**
   * Reloads cog `name` from its module: import the new code → build a new instance → unload the old
   * one (onUnload, its timers cancelled) → onLoad the new one → insert it. A failed import keeps the old
   * instance untouched; a failed onLoad re-loads the old instance. Also loads a cog that was not loaded.
   * Never throws.
   */
  reload(name: string): Promise<ReloadResult> {
    const loader = this.opts.loader;
    if (!loader || !COG_NAME.test(name)) {
      const error = loader ? 'invalid cog name' : 'this CogHost has no CogLoader';
      this.log.warn({ cog: name.slice(0, 64) }, `reload refused: ${error}`);
      const previousRunning = this.instances.has(name);
      return Promise.resolve({ ok: false, cog: name, stage: 'import', error, previousRunning });
    }
    return this.serialized(name, () => this.swap(name, () => loader.import(name)));
  }

  /** Unloads cog `name` (onUnload, timers cancelled). Resolves false if it was not loaded. */
  unload(name: string): Promise<boolean> {
    return this.serialized(name, async () => {
      const inst = this.instances.get(name);
      if (!inst) return false;
      this.instances.delete(name);
      await this.teardown(inst);
      this.m.loaded.set(this.instances.size);
      this.log.info({ cog: name, instance: inst.instance }, 'cog unloaded');
      return true;
    });
  }

  private async swap(name: string, importCog: () => Promise<Cog>): Promise<ReloadResult> {
    const log = this.log.child({ cog: name });
    const old = this.instances.get(name);
    const verb = old ? 'reload' : 'load';
    const fail = (
      stage: 'import' | 'invalid' | 'load',
      err: unknown,
      previousRunning: boolean,
    ): ReloadResult => {
      this.m.reloads.inc({ cog: name, outcome: stage === 'import' ? 'import_failed' : `${stage}_failed` });
      log.error({ err, stage, previousRunning }, `${verb} failed`);
      return {
        ok: false,
        cog: name,
        stage,
        error: err instanceof Error ? err.message : String(err),
        previousRunning,
      };
    };

    log.info({ step: 'import' }, `${verb}: importing module`);
    let cog: Cog;
    try {
      cog = await importCog();
    } catch (err) {
      return fail('import', err, old !== undefined);
    }
    try {
      this.checkConflicts(cog, name);
    } catch (err) {
      return fail('invalid', err, old !== undefined);
    }

    const next = this.build(cog);
    log.info({ step: 'build', instance: next.instance }, `${verb}: built new instance`);
    if (old) {
      log.info({ step: 'unload', instance: old.instance }, `${verb}: unloading old instance`);
      await this.teardown(old);
    }
    log.info({ step: 'load', instance: next.instance }, `${verb}: loading new instance`);
    try {
      await next.cog.onLoad?.(next.ctx);
    } catch (err) {
      next.scheduler.dispose();
      let restored = false;
      if (old) {
        const again = this.build(old.cog);
        try {
          await again.cog.onLoad?.(again.ctx);
          this.instances.set(name, again);
          restored = true;
        } catch (err2) {
          again.scheduler.dispose();
          this.instances.delete(name);
          log.error({ err: err2 }, 'previous instance failed to load again; cog removed');
        }
      }
      this.m.loaded.set(this.instances.size);
      return fail('load', err, restored);
    }
    this.instances.set(name, next);
    this.m.loaded.set(this.instances.size);
    this.m.reloads.inc({ cog: name, outcome: 'ok' });
    log.info({ step: 'insert', instance: next.instance }, `${verb}: done`);
    return { ok: true, cog: name, instance: next.instance };
  }

  private checkConflicts(cog: Cog, replacing: string): void {
    if (cog.name !== replacing) throw new Error(`module defines cog '${cog.name}', expected '${replacing}'`);
    for (const other of this.instances.values()) {
      if (other.cog.name === replacing) continue;
      for (const c of cog.commands) {
        if (other.cog.commands.some((o) => o.key === c.key)) {
          throw new Error(`command '${c.json.name}' is already defined by cog '${other.cog.name}'`);
        }
      }
    }
  }

  private build(cog: Cog): CogInstance {
    const instance = ++this.instanceSeq;
    const log = this.opts.log.child({ cog: cog.name, instance });
    const scheduler = new InstanceScheduler(this.opts.clock, (err) => {
      this.m.handlerErrors.inc({ cog: cog.name, event: 'timer' });
      log.error({ err }, 'cog timer callback failed');
    });
    const { cache } = this.opts;
    const key = (k: string) => `cog:${cog.name}:${k}`;
    const holder: { inst?: CogInstance } = {};
    const ctx: CogContext<unknown> = {
      name: cog.name,
      log,
      config: (guildId) => this.configFor(holder.inst!, guildId),
      rest: this.opts.rest,
      applicationId: this.opts.applicationId,
      cache: {
        get: <T>(k: string) => cache.get<T>(key(k)),
        set: (k, value, ttlMs, tags) => cache.set(key(k), value, ttlMs, tags),
        delete: (k) => cache.delete(key(k)),
      },
      read: this.opts.read,
      write: this.opts.write,
      metrics: this.opts.metrics,
      clock: this.opts.clock,
      scheduler,
      shard: this.opts.shard,
      cogs: this.directory,
      claim: async (k, ttlMs = CLAIM_TTL_MS) => {
        const { claims } = this.opts;
        return claims ? claims.claim(key(`claim:${k}`), ttlMs) : true;
      },
      customId: (...parts) => customId(cog.name, ...parts),
    };
    holder.inst = { cog, ctx, scheduler, instance };
    return holder.inst;
  }

  private async teardown(inst: CogInstance): Promise<void> {
    try {
      await inst.cog.onUnload?.(inst.ctx);
    } catch (err) {
      this.m.handlerErrors.inc({ cog: inst.cog.name, event: 'unload' });
      inst.ctx.log.error({ err }, 'onUnload failed (timers are cancelled anyway)');
    }
    inst.scheduler.dispose();
  }

  private serialized<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(name) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(name, tail);
    void tail.then(() => {
      if (this.queues.get(name) === tail) this.queues.delete(name);
    });
    return run;
  }

  private requireLoader(): CogLoader {
    if (!this.opts.loader) throw new Error('this CogHost has no CogLoader (pass options.loader)');
    return this.opts.loader;
  }

  // --------------------------------------------------------------- settings

  /** True when cog `name` is loaded and enabled in the guild. */
  async isEnabled(guildId: string, name: string): Promise<boolean> {
    const inst = this.instances.get(name);
    if (!inst) return false;
    return this.enabledIn(inst.cog, await this.guildSettings(guildId));
  }

  /**
   * Enables or disables a cog in a guild: persists through the settings store, applies locally at once
   * and publishes the change so every shard pod re-reads.
   */
  async setEnabled(guildId: string, name: string, enabled: boolean): Promise<void> {
    const inst = this.instances.get(name);
    if (!inst) throw new AppError(404, 'unknown_cog', `There is no cog named ${name}.`);
    if (!enabled && !inst.cog.canDisable) {
      throw new AppError(409, 'cog_required', `The ${name} feature cannot be disabled.`);
    }
    await this.opts.settings.update(guildId, name, { enabled });
    await this.settingsChanged(guildId);
  }

  /** Validates and stores a guild's config for a cog (AppError 422 with the zod issues when invalid). */
  async setConfig(guildId: string, name: string, config: unknown): Promise<void> {
    const inst = this.instances.get(name);
    if (!inst) throw new AppError(404, 'unknown_cog', `There is no cog named ${name}.`);
    const parsed = inst.cog.configSchema.safeParse(config);
    if (!parsed.success) {
      throw new AppError(422, 'invalid_cog_config', `Invalid config for ${name}.`, parsed.error.issues);
    }
    await this.opts.settings.update(guildId, name, { config });
    await this.settingsChanged(guildId);
  }

  /** Forgets cached settings of one guild (or all): the next use re-reads them. */
  invalidate(guildId?: string): void {
    if (guildId === undefined) this.guilds.clear();
    else this.guilds.delete(guildId);
  }

  private async settingsChanged(guildId: string): Promise<void> {
    this.invalidate(guildId);
    try {
      await this.opts.pubsub?.publish(COG_CHANNELS.settings, { guildId } satisfies SettingsChanged);
    } catch (err) {
      this.log.warn(
        { err, guildId },
        'could not publish a settings change; other pods pick it up after the TTL',
      );
    }
  }

  private enabledIn(cog: Cog, settings: GuildSettings): boolean {
    if (!cog.canDisable) return true;
    return settings[cog.name]?.enabled ?? cog.defaultEnabled;
  }

  /** The guild's settings: cached; after the TTL served stale while a refresh runs. */
  private guildSettings(guildId: string): Promise<GuildSettings> {
    let entry = this.guilds.get(guildId);
    if (!entry) {
      entry = { value: undefined, loadedAt: 0, pending: undefined, parsed: new Map() };
      this.guilds.set(guildId, entry);
    }
    if (entry.value !== undefined && this.opts.clock.now() - entry.loadedAt < this.opts.settingsTtlMs) {
      return Promise.resolve(entry.value);
    }
    const pending = entry.pending ?? this.refresh(guildId, entry);
    return entry.value !== undefined ? Promise.resolve(entry.value) : pending;
  }

  private refresh(guildId: string, entry: GuildEntry): Promise<GuildSettings> {
    const pending = this.opts.settings.load(guildId).then(
      (value) => {
        entry.value = value;
        entry.loadedAt = this.opts.clock.now();
        entry.parsed.clear();
        entry.pending = undefined;
        return value;
      },
      (err: unknown) => {
        entry.pending = undefined;
        this.log.error({ err, guildId }, 'loading guild cog settings failed');
        throw err;
      },
    );
    entry.pending = pending;
    pending.catch(() => undefined); // a stale reader does not wait; the failure is logged above
    return pending;
  }

  private async configFor(inst: CogInstance, guildId: string | null): Promise<unknown> {
    const { cog } = inst;
    if (guildId === null) return cog.defaults;
    const settings = await this.guildSettings(guildId);
    const raw = settings[cog.name]?.config;
    const entry = this.guilds.get(guildId);
    const hit = entry?.parsed.get(cog.name);
    if (hit && hit.schema === cog.configSchema && hit.raw === raw) return hit.value;
    let value = cog.defaults;
    if (raw !== undefined) {
      const parsed = cog.configSchema.safeParse(raw);
      if (parsed.success) value = parsed.data;
      else {
        this.m.configInvalid.inc({ cog: cog.name });
        inst.ctx.log.warn(
          { guildId, issues: parsed.error.issues },
          'guild config fails the schema; using defaults',
        );
      }
    }
    if (entry?.value === settings) entry.parsed.set(cog.name, { schema: cog.configSchema, raw, value });
    return value;
  }

  // --------------------------------------------------------------- dispatch

  /**
   * Hands a gateway dispatch to the cogs. INTERACTION_CREATE is routed to the owning cog; any other
   * event goes to every cog with a handler for it that is enabled in the event's guild (events without
   * a guild go to every such cog). Resolves when all handlers settled; never rejects.
   */
  async dispatch(
    payload: { readonly t: string; readonly d: unknown },
    shardId: number | null = null,
  ): Promise<void> {
    if (payload.t === 'INTERACTION_CREATE') {
      await this.handleInteraction(payload.d as APIInteraction);
      return;
    }
    const event = payload.t as CogEventName;
    const targets = [...this.instances.values()].filter((i) => i.cog.events[event] !== undefined);
    if (targets.length > 0) {
      const guildId = guildIdOf(event, payload.d);
      let settings: GuildSettings | undefined;
      if (guildId !== null) {
        try {
          settings = await this.guildSettings(guildId);
        } catch {
          this.settingsUnavailable.inc();
          return;
        }
      }
      const meta: EventMeta = { event, guildId, shardId };
      await Promise.all(
        targets.map(async (inst) => {
          if (settings && !this.enabledIn(inst.cog, settings)) return;
          const handler = inst.cog.events[event] as (
            d: unknown,
            ctx: CogContext<unknown>,
            m: EventMeta,
          ) => unknown;
          await this.guard(inst, event, guildId, () => handler(payload.d, inst.ctx, meta));
        }),
      );
    }
    if (event === 'GUILD_DELETE') {
      const id = guildIdOf(event, payload.d);
      if (id !== null) this.invalidate(id);
    }
  }

  /** Runs `fn`; on error logs it with cog, guild and a short ref, counts it, and returns the ref. */
  private async guard(
    inst: CogInstance,
    event: string,
    guildId: string | null,
    fn: () => unknown,
  ): Promise<string | null> {
    const end = this.m.handlerDuration.startTimer({ cog: inst.cog.name, event });
    try {
      await fn();
      return null;
    } catch (err) {
      const ref = shortRef();
      this.m.handlerErrors.inc({ cog: inst.cog.name, event });
      inst.ctx.log.error({ err, guildId, event, ref }, 'cog handler failed');
      return ref;
    } finally {
      end();
    }
  }

  // ----------------------------------------------------------- interactions

  /**
   * Routes one interaction to its cog and makes sure the user always gets an answer: errors become an
   * ephemeral "Something went wrong (ref …)", a slow handler is deferred for, a disabled cog or invalid
   * options get an ephemeral explanation. Never rejects.
   */
  async handleInteraction(raw: APIInteraction): Promise<void> {
    if (!(await this.claimInteraction(raw.id))) return;
    const responder = new InteractionResponder(this.opts.rest, raw.application_id, raw.id, raw.token);
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
      this.log.error({ err, ref, interaction: raw.id }, 'interaction routing failed');
      await this.answer(
        responder,
        raw.type === InteractionType.ApplicationCommandAutocomplete,
        MESSAGES.error(ref),
      );
    }
  }

  /** True unless another pod already claimed this interaction (a claims outage does not block it). */
  private async claimInteraction(id: string): Promise<boolean> {
    const { claims } = this.opts;
    if (!claims) return true;
    try {
      if (await claims.claim(`interaction:${id}`, CLAIM_TTL_MS)) return true;
      this.log.debug({ interaction: id }, 'interaction claimed by another pod');
      return false;
    } catch (err) {
      this.log.warn({ err, interaction: id }, 'claiming the interaction failed; handling it anyway');
      return true;
    }
  }

  private findCommand(key: string): { inst: CogInstance; command: CogCommand } | undefined {
    for (const inst of this.instances.values()) {
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
      this.log.warn({ command: raw.data.name, type: raw.data.type }, 'interaction for an unknown command');
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
    });
  }

  private async onCustomId(
    raw: APIMessageComponentInteraction | APIModalSubmitInteraction,
    responder: InteractionResponder,
    kind: 'component' | 'modal',
  ): Promise<void> {
    const id = raw.data.custom_id;
    const sep = id.indexOf(':');
    const cogName = sep === -1 ? id : id.slice(0, sep);
    const rest = sep === -1 ? '' : id.slice(sep + 1);
    const inst = this.instances.get(cogName);
    const match =
      inst && matchPrefix<unknown>(kind === 'component' ? inst.cog.components : inst.cog.modals, rest);
    if (!inst || !match) {
      this.count(inst?.cog.name ?? 'unknown', kind, 'unknown');
      this.log.warn({ customId: id, kind }, 'interaction for an unknown custom id');
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
      settings = await this.guildSettings(guildId);
    } catch {
      const ref = shortRef();
      this.settingsUnavailable.inc();
      this.count(inst.cog.name, kind, 'error');
      inst.ctx.log.error({ guildId, ref, kind }, 'guild settings unavailable; interaction refused');
      await this.answer(responder, kind === 'autocomplete', MESSAGES.error(ref));
      return false;
    }
    if (this.enabledIn(inst.cog, settings)) return true;
    this.count(inst.cog.name, kind, 'disabled');
    await this.answer(responder, kind === 'autocomplete', MESSAGES.disabled(inst.cog.name));
    return false;
  }

  /**
   * Runs an interaction handler with the auto-defer timer armed, then makes sure the interaction was
   * answered: an error → the ref message; a component/modal handler that stayed silent → a silent
   * acknowledgement; a command handler that stayed silent → an error (it is a bug in the cog).
   */
  private async run(
    inst: CogInstance,
    kind: InteractionKind,
    event: string,
    guildId: string | null,
    responder: InteractionResponder,
    steps: { handler: () => unknown; onSlow: () => Promise<unknown> },
  ): Promise<void> {
    const stop = new AbortController();
    const slow = this.opts.clock.sleep(this.opts.autoDeferMs, stop.signal).then(
      async () => {
        if (responder.acknowledged) return;
        this.m.autoDefers.inc({ cog: inst.cog.name });
        inst.ctx.log.warn({ event, guildId }, 'handler has not answered in time; acknowledging for it');
        await steps.onSlow().catch((err: unknown) => inst.ctx.log.warn({ err, event }, 'auto-defer failed'));
      },
      () => undefined,
    );
    let ref = await this.guard(inst, event, guildId, steps.handler);
    stop.abort();
    await slow;
    if (ref === null && !responder.acknowledged) {
      if (kind === 'component' || kind === 'modal') {
        await responder.defer({ kind: 'update' }).catch((err: unknown) => {
          inst.ctx.log.warn({ err, event }, 'silent acknowledgement failed');
        });
      } else if (kind === 'command') {
        ref = shortRef();
        this.m.handlerErrors.inc({ cog: inst.cog.name, event });
        inst.ctx.log.error({ event, guildId, ref }, 'command handler finished without answering');
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
      this.log.error({ err, state }, 'could not answer the interaction');
    }
  }

  private count(cog: string, kind: InteractionKind, outcome: string): void {
    this.m.interactions.inc({ cog, kind, outcome });
  }
}

/** The guild an event belongs to, if any. */
function guildIdOf(event: string, d: unknown): string | null {
  if (typeof d !== 'object' || d === null) return null;
  const o = d as { guild_id?: unknown; id?: unknown };
  if (typeof o.guild_id === 'string') return o.guild_id;
  if (
    (event === 'GUILD_CREATE' || event === 'GUILD_UPDATE' || event === 'GUILD_DELETE') &&
    typeof o.id === 'string'
  ) {
    return o.id;
  }
  return null;
}

/** A short id users can quote and operators can grep for. */
function shortRef(): string {
  return randomBytes(4).toString('hex');
}
