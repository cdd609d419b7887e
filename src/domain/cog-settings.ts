import type { CogSetting, GuildCogSettings, GuildSettings } from '../cogs/framework/settings.js';
import type { DomainOps } from './ops.js';

/**
 * The cog framework's per-guild settings store over domain ops: `load` is the `cogs.settings.get` read,
 * `update` the `cogs.settings.update` write (one transaction on the api pod, audited, followed by a
 * `cogs.settings` pub/sub message so every shard re-reads). Works with local (all mode) and remote ops.
 *
 * @example
 * const settings = domainCogSettings(createRemoteOps(config.api.internalUrl, token));
 * new CogHost({ settings, ... });
 */
export function domainCogSettings(ops: DomainOps): GuildCogSettings {
  return {
    load: async (guildId) =>
      (await ops.read('cogs.settings.get' as never, { guildId } as never)) as GuildSettings,
    update: async (guildId: string, cog: string, patch: CogSetting) => {
      await ops.write('cogs.settings.update' as never, { guildId, cog, patch } as never);
    },
  };
}
