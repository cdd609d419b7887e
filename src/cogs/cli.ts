import type { REST } from '@discordjs/rest';
import type { Logger } from '../logging/logger.js';
import {
  COG_CHANNELS,
  COG_NAME,
  type CogPubSub,
  CogLoader,
  type SyncResult,
  syncCommands,
} from './framework/index.js';

/**
 * Asks every shard pod to reload cog `name` (publishes `{ cog }` on `cogs.reload`). What
 * `guildhall cogs reload <name>` and the admin API call; each pod's `CogHost` does the reload and logs
 * and counts the outcome.
 *
 * @example
 * await requestCogReload(coordination.pubsub, 'leveling');
 */
export async function requestCogReload(pubsub: Pick<CogPubSub, 'publish'>, name: string): Promise<void> {
  if (!COG_NAME.test(name)) throw new Error(`invalid cog name '${name}'`);
  await pubsub.publish(COG_CHANNELS.reload, { cog: name });
}

/**
 * Registers the application commands of every cog found on disk (`guildhall cogs sync`): imports each
 * cog with a {@link CogLoader}, then {@link syncCommands} (GET, compare, PUT only on change). Run once per
 * deploy, not in every shard pod. A cog that fails to import aborts the sync (registering a partial list
 * would delete that cog's commands).
 *
 * @example
 * const result = await syncAllCogCommands({ rest, applicationId, log });
 * log.info(result, result.changed ? 'commands updated' : 'commands up to date');
 */
export async function syncAllCogCommands(opts: {
  rest: REST;
  applicationId: string;
  log: Logger;
  guildId?: string;
  loader?: CogLoader;
}): Promise<SyncResult> {
  const loader = opts.loader ?? new CogLoader({ log: opts.log });
  const cogs = [];
  for (const name of await loader.discover()) cogs.push(await loader.import(name));
  const result = await syncCommands(opts.rest, opts.applicationId, cogs, { guildId: opts.guildId });
  opts.log.info({ ...result, cogs: cogs.map((c) => c.name) }, 'slash commands synced');
  return result;
}
