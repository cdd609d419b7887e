import type { RoleContext } from '../runtime.js';
import { type SimulatorHandle, type SimulatorOptions, createSimulator } from './simulator.js';

/**
 * Options the CLI may add on top of the config (`--guilds`, `--members-per-guild`, `--max-concurrency`).
 *
 * @example
 * await startSim(ctx, { guilds: 2_000, membersPerGuild: 20, maxConcurrency: 16 });
 */
export type SimRoleOverrides = Pick<
  SimulatorOptions,
  'guilds' | 'membersPerGuild' | 'channelsPerGuild' | 'rolesPerGuild' | 'maxConcurrency' | 'seed'
>;

/**
 * `guildhall sim`: starts the Discord simulator on `SIM_HOST:SIM_PORT` with `SIM_GUILDS` guilds (CLI flags
 * override), prints how to point a bot at it, and closes it on shutdown.
 *
 * @example
 * const ctx = createRoleContext('sim');
 * const sim = await startSim(ctx, { guilds: 100, maxConcurrency: 4 });
 * // → prints token, application id, gateway and REST URLs
 */
export async function startSim(ctx: RoleContext, overrides: SimRoleOverrides = {}): Promise<SimulatorHandle> {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const sim = await createSimulator({
    host: ctx.config.sim.host,
    port: ctx.config.sim.port,
    guilds: ctx.config.sim.guilds,
    log: ctx.log,
    ...defined,
  });
  ctx.lifecycle.onShutdown('sim', () => sim.close());
  const lines = [
    'Discord simulator is running (role: sim)',
    `  guilds:          ${sim.world.guildIds().length}`,
    `  application id:  ${sim.applicationId}`,
    `  bot token:       ${sim.token}`,
    `  gateway:         ${sim.gatewayUrl}`,
    `  REST:            ${sim.restUrl}   (discord.js: rest: { api: '${sim.restUrl}' })`,
    `  scenario API:    ${sim.url}/__sim/`,
    'Stop with Ctrl+C.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return sim;
}
