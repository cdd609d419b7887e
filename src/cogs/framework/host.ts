import type { REST } from '@discordjs/rest';
import { type APIInteraction, ApplicationCommandType } from 'discord-api-types/v10';
import type { Registry } from 'prom-client';
import { AppError } from '../../errors/app-error.js';
import type { Logger } from '../../logging/logger.js';
import type { CogContext, CogDirectory, CogSummary } from './context.js';
import { COG_NAME, type Cog, type CogEventName, type EventMeta, customId } from './define-cog.js';
import { type CogInstance, runGuarded } from './instance.js';
import { CLAIM_TTL_MS, InteractionRouter } from './interaction-router.js';
import type { CogLoader } from './loader.js';
import { type CogHostMetrics, cogHostMetrics } from './metrics.js';
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
import { GuildSettingsCache, isCogEnabled } from './settings-cache.js';
import { dispatchGuildId } from '../../discord/dispatch.js';

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
  private readonly instances = new Map<string, CogInstance>();
  private readonly guilds: GuildSettingsCache;
  private readonly router: InteractionRouter;
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly unsubscribers: (() => Promise<void>)[] = [];
  private readonly directory: CogDirectory;
  private instanceSeq = 0;

  constructor(options: CogHostOptions) {
    this.opts = { ...COG_HOST_DEFAULTS, ...options };
    this.log = options.log.child({ module: 'cogs' });
    this.m = cogHostMetrics(options.metrics);
    this.guilds = new GuildSettingsCache(
      this.opts.settings,
      this.opts.clock,
      this.opts.settingsTtlMs,
      this.log,
      (cog, guildId, issues) => {
        this.m.configInvalid.inc({ cog: cog.name });
        this.log.warn({ cog: cog.name, guildId, issues }, 'guild config fails the schema; using defaults');
      },
    );
    this.router = new InteractionRouter({
      rest: this.opts.rest,
      log: this.log,
      clock: this.opts.clock,
      autoDeferMs: this.opts.autoDeferMs,
      claims: this.opts.claims,
      metrics: this.m,
      settings: this.guilds,
      instances: this.instances,
    });
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
      this.m.reloads.inc({ cog: name, outcome: `${stage}_failed` });
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
    const ctx: CogContext<unknown> = {
      name: cog.name,
      log,
      config: async (guildId) => (guildId === null ? cog.defaults : this.guilds.config(cog, guildId)),
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
    return { cog, ctx, scheduler, instance };
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
    return isCogEnabled(inst.cog, await this.guilds.get(guildId));
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
    this.guilds.invalidate(guildId);
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

  // --------------------------------------------------------------- dispatch

  /** True when some loaded cog handles this gateway event (interactions always are). */
  handles(event: string): boolean {
    if (event === 'INTERACTION_CREATE') return true;
    for (const inst of this.instances.values()) {
      if (inst.cog.events[event as CogEventName] !== undefined) return true;
    }
    return false;
  }

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
      const guildId = dispatchGuildId(event, payload.d);
      let settings: GuildSettings | undefined;
      if (guildId !== null) {
        try {
          settings = await this.guilds.get(guildId);
        } catch {
          this.m.settingsUnavailable.inc();
          return;
        }
      }
      const meta: EventMeta = { event, guildId, shardId };
      await Promise.all(
        targets.map(async (inst) => {
          if (settings && !isCogEnabled(inst.cog, settings)) return;
          const handler = inst.cog.events[event] as (
            d: unknown,
            ctx: CogContext<unknown>,
            m: EventMeta,
          ) => unknown;
          await runGuarded(this.m, inst, event, guildId, () => handler(payload.d, inst.ctx, meta));
        }),
      );
    }
    if (event === 'GUILD_DELETE') {
      const id = dispatchGuildId(event, payload.d);
      if (id !== null) this.invalidate(id);
    }
  }

  /**
   * Routes one interaction to its cog and makes sure the user always gets an answer: errors become an
   * ephemeral "Something went wrong (ref …)", a slow handler is deferred for, a disabled cog or invalid
   * options get an ephemeral explanation (see {@link InteractionRouter}). Never rejects.
   */
  handleInteraction(raw: APIInteraction): Promise<void> {
    return this.router.route(raw);
  }
}
