import type { REST } from '@discordjs/rest';
import type { ApplicationCommandType } from 'discord-api-types/v10';
import type { Registry } from 'prom-client';
import type { Logger } from '../../logging/logger.js';
import type { CogScheduler } from './scheduler.js';
import type { CogCache, CogClock, DomainCall, ShardView } from './services.js';

/**
 * Everything a cog may use, passed in explicitly (no globals). One context per loaded cog instance: a
 * reload builds a new one, and unloading the old instance cancels every timer of its `scheduler`.
 *
 * @example
 * onLoad: (ctx) => {
 *   ctx.scheduler.setInterval(() => ctx.log.debug('tick'), 60_000);
 * }
 */
export interface CogContext<C = unknown> {
  /** The cog's name (its folder name). */
  readonly name: string;
  /** A pino child logger bound to `{ cog: name }`. */
  readonly log: Logger;
  /** The guild's config for this cog, parsed with the cog's schema (defaults for DMs or bad config). */
  config(guildId: string | null): Promise<C>;
  /** Discord REST (rate limits handled by @discordjs/rest). */
  readonly rest: REST;
  /** The bot's application id (for webhooks and command routes). */
  readonly applicationId: string;
  /** Shared cache; keys are namespaced `cog:<name>:` for you. */
  readonly cache: CogCache;
  /** A domain read (`defineRead` on the api pod). */
  readonly read: DomainCall;
  /** A domain write (`defineWrite` on the api pod; one SQLite transaction). */
  readonly write: DomainCall;
  /** The process's metrics registry; create metrics with {@link reuseMetric} so reloads don't clash. */
  readonly metrics: Registry;
  readonly clock: CogClock;
  /** Timers owned by this instance; all cancelled on unload. */
  readonly scheduler: CogScheduler;
  /** This process's shards (live). */
  readonly shard: ShardView;
  /** The loaded cogs and their per-guild enablement. */
  readonly cogs: CogDirectory;
  /**
   * Claims `key` for this cog cluster-wide (`cog:<name>:<key>`, default TTL 60 s): true for exactly one
   * caller. Guard side effects of event handlers with the event's id, e.g. `await ctx.claim(msg.id)`, so
   * an event seen by two overlapping shard generations acts once. Always true without a claims service.
   */
  claim(key: string, ttlMs?: number): Promise<boolean>;
  /** A component/modal custom id routed back to this cog: `<cog>:<part>:<part>…` (max 100 chars). */
  customId(...parts: readonly (string | number)[]): string;
}

/** A loaded cog as other cogs see it (for `/help` and `/cogs`). */
export interface CogSummary {
  readonly name: string;
  readonly description: string;
  readonly canDisable: boolean;
  readonly commands: readonly { name: string; description: string; type: ApplicationCommandType }[];
}

/**
 * The loaded cogs and per-guild enable/disable, as the host offers them to cogs.
 *
 * @example
 * for (const c of ctx.cogs.list()) if (await ctx.cogs.isEnabled(guildId, c.name)) names.push(c.name);
 */
export interface CogDirectory {
  list(): readonly CogSummary[];
  isEnabled(guildId: string, cog: string): Promise<boolean>;
  /** Persists the change and tells every shard pod (settings pub/sub). Throws AppError for unknown cogs. */
  setEnabled(guildId: string, cog: string, enabled: boolean): Promise<void>;
}
