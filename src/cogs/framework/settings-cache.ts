import type { Logger } from '../../logging/logger.js';
import type { Cog } from './define-cog.js';
import type { CogClock } from './services.js';
import type { GuildCogSettings, GuildSettings } from './settings.js';

interface GuildEntry {
  value: GuildSettings | undefined;
  loadedAt: number;
  pending: Promise<GuildSettings> | undefined;
  /** Parsed configs by cog name, valid for `value` and the schema they were parsed with. */
  readonly parsed: Map<string, { schema: unknown; value: unknown }>;
}

/**
 * True when `cog` runs in a guild with these settings: a cog that cannot be disabled always; otherwise
 * the guild's choice, else the cog's default.
 *
 * @example
 * if (isCogEnabled(cog, await cache.get(guildId))) await handler(...);
 */
export function isCogEnabled(cog: Cog, settings: GuildSettings): boolean {
  if (!cog.canDisable) return true;
  return settings[cog.name]?.enabled ?? cog.defaultEnabled;
}

/**
 * Per-guild cog settings as one shard process sees them: loaded once per guild from the
 * {@link GuildCogSettings} store, dropped by `invalidate` (the host calls it on a settings pub/sub
 * message), and after `ttlMs` served stale while one refresh runs (so a missed message heals and the hot
 * path never waits on the store once a guild is known). Parsed configs are cached per schema.
 *
 * @example
 * const cache = new GuildSettingsCache(store, clock, 60_000, log, onInvalid);
 * const enabled = isCogEnabled(cog, await cache.get(guildId));
 */
export class GuildSettingsCache {
  private readonly guilds = new Map<string, GuildEntry>();

  constructor(
    private readonly store: GuildCogSettings,
    private readonly clock: CogClock,
    private readonly ttlMs: number,
    private readonly log: Logger,
    /** Called when a stored config fails the cog's schema (the defaults are used instead). */
    private readonly onInvalid: (cog: Cog, guildId: string, issues: readonly unknown[]) => void,
  ) {}

  /** The guild's settings; rejects only when nothing was ever loaded for it and the store fails. */
  get(guildId: string): Promise<GuildSettings> {
    let entry = this.guilds.get(guildId);
    if (!entry) {
      entry = { value: undefined, loadedAt: 0, pending: undefined, parsed: new Map() };
      this.guilds.set(guildId, entry);
    }
    if (entry.value !== undefined && this.clock.now() - entry.loadedAt < this.ttlMs) {
      return Promise.resolve(entry.value);
    }
    const pending = entry.pending ?? this.refresh(guildId, entry);
    return entry.value !== undefined ? Promise.resolve(entry.value) : pending;
  }

  /** Forgets one guild (or every guild): the next `get` re-reads the store. */
  invalidate(guildId?: string): void {
    if (guildId === undefined) this.guilds.clear();
    else this.guilds.delete(guildId);
  }

  /** The cog's config in the guild: the stored config parsed with the cog's schema, else its defaults. */
  async config(cog: Cog, guildId: string): Promise<unknown> {
    const settings = await this.get(guildId);
    const entry = this.guilds.get(guildId);
    const hit = entry?.parsed.get(cog.name);
    if (hit && hit.schema === cog.configSchema && entry?.value === settings) return hit.value;
    const raw = settings[cog.name]?.config;
    let value = cog.defaults;
    if (raw !== undefined) {
      const parsed = cog.configSchema.safeParse(raw);
      if (parsed.success) value = parsed.data;
      else this.onInvalid(cog, guildId, parsed.error.issues);
    }
    if (entry?.value === settings) entry.parsed.set(cog.name, { schema: cog.configSchema, value });
    return value;
  }

  private refresh(guildId: string, entry: GuildEntry): Promise<GuildSettings> {
    const pending = this.store.load(guildId).then(
      (value) => {
        entry.value = value;
        entry.loadedAt = this.clock.now();
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
}
