/** One cog's settings in one guild; absent fields mean "the cog's default". */
export interface CogSetting {
  readonly enabled?: boolean;
  /** Raw config as stored; parsed with the cog's schema on use (bad config falls back to defaults). */
  readonly config?: unknown;
}

/** A guild's settings, by cog name. */
export type GuildSettings = Readonly<Record<string, CogSetting>>;

/**
 * Where per-guild cog settings live. In a cluster this is a domain read/write on the api pod; the writer
 * then publishes `{ guildId }` on {@link COG_CHANNELS}.settings so every shard pod re-reads. The memory
 * implementation serves tests and the embedded mode.
 *
 * @example
 * const settings: GuildCogSettings = {
 *   load: (guildId) => ctx.read('cogs.settings.get', { guildId }) as Promise<GuildSettings>,
 *   update: async (guildId, cog, patch) => void (await ctx.write('cogs.settings.update', { guildId, cog, patch })),
 * };
 */
export interface GuildCogSettings {
  load(guildId: string): Promise<GuildSettings>;
  /** Merges `patch` into the stored setting (a `config` replaces the stored config). */
  update(guildId: string, cog: string, patch: CogSetting): Promise<void>;
}

/**
 * Pub/sub channels the cog host listens on.
 * - `settings`: `{ guildId?: string }` — a guild's settings changed (no guildId: all guilds).
 * - `reload`: `{ cog: string }` — build a new instance of the cog from its module.
 *
 * @example
 * await pubsub.publish(COG_CHANNELS.reload, { cog: 'leveling' });
 */
export const COG_CHANNELS = { settings: 'cogs.settings', reload: 'cogs.reload' } as const;

/** A settings-change message. */
export interface SettingsChanged {
  readonly guildId?: string;
}

/**
 * In-memory {@link GuildCogSettings}. Copies on the way in and out, like a real store would.
 *
 * @example
 * const settings = new MemoryGuildCogSettings();
 * await settings.update('123456789012345678', 'leveling', { enabled: false });
 */
export class MemoryGuildCogSettings implements GuildCogSettings {
  private readonly guilds = new Map<string, Map<string, CogSetting>>();

  async load(guildId: string): Promise<GuildSettings> {
    const guild = this.guilds.get(guildId);
    return guild ? structuredClone(Object.fromEntries(guild)) : {};
  }

  async update(guildId: string, cog: string, patch: CogSetting): Promise<void> {
    let guild = this.guilds.get(guildId);
    if (!guild) this.guilds.set(guildId, (guild = new Map()));
    guild.set(cog, structuredClone({ ...guild.get(cog), ...patch }));
  }
}
