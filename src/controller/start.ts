import { REST } from '@discordjs/rest';
import { syncAllCogCommands } from '../cogs/cli.js';
import { CogLoader } from '../cogs/framework/index.js';
import type { RoleContext } from '../runtime.js';
import { applicationIdFromToken } from '../shard/cogs.js';
import { VERSION } from '../version.js';
import { type ControllerHandle, controllerRole } from './role.js';

/**
 * `guildhall controller` as the CLI starts it: the controller role with the slash-command sync wired to
 * the cogs on disk (synced once per distinct cog set, keyed by the version and the cog names).
 */
export async function startController(ctx: RoleContext): Promise<ControllerHandle> {
  const { token, apiUrl } = ctx.config.discord;
  const applicationId =
    ctx.config.discord.applicationId ?? (token ? applicationIdFromToken(token) : undefined);
  const loader = new CogLoader({ log: ctx.log });
  const commands =
    token && applicationId
      ? {
          hash: async () => `${VERSION}:${(await loader.discover()).join(',')}`,
          sync: async () => {
            const rest = new REST({ api: apiUrl, version: '10' }).setToken(token);
            await syncAllCogCommands({ rest, applicationId, log: ctx.log, loader });
          },
        }
      : undefined;
  return controllerRole(ctx, { commands });
}
