import { REST } from '@discordjs/rest';
import { startApi } from '../api/role.js';
import { type RoleContext, openCoordination } from '../runtime.js';
import { cogCatalogFromCogs } from '../api/cog-catalog-adapter.js';
import { type CogHost, syncCommands } from '../cogs/framework/index.js';
import { startShard } from '../shard/role.js';
import { ensurePlan } from '../shard/runtime.js';
import { createSimulator } from '../sim/index.js';

/**
 * The embedded default (`npm start`): every role in one process with in-memory coordination (or Redis when
 * `REDIS_URL` is set) — the Discord simulator unless a real `DISCORD_TOKEN` is configured, the api role
 * (SQLite, event writer, HTTP), a plan from Discord's recommendation (the in-process stand-in for the
 * controller) and one shard pod holding every shard. Prints where to reach each part.
 */
export async function startAll(ctx: RoleContext): Promise<void> {
  const { config } = ctx;
  const coordination = await openCoordination(ctx);

  let token = config.discord.token;
  let apiUrl = config.discord.apiUrl;
  let simLines: string[] = [];
  if (!token) {
    const sim = await createSimulator({
      host: config.sim.host,
      port: config.sim.port,
      guilds: config.sim.guilds,
      log: ctx.log.child({ module: 'sim' }),
    });
    ctx.lifecycle.onShutdown('sim', () => sim.close());
    token = sim.token;
    apiUrl = sim.restUrl;
    simLines = [
      `  simulator:  ${sim.url} (${sim.world.guildIds().length} guilds; scenario API ${sim.url}/__sim/)`,
      `    gateway ${sim.gatewayUrl}, REST ${sim.restUrl}, bot token ${sim.token}`,
    ];
  }

  // The api lists the cogs the shard loaded (live across hot reloads) instead of importing them again.
  const late: { cogs?: CogHost } = {};
  const api = await startApi(ctx, {
    coordination,
    extras: { cogs: cogCatalogFromCogs(() => late.cogs?.cogs() ?? []) },
  });
  const rest = new REST({ api: apiUrl, version: '10' }).setToken(token);
  const plan = await ensurePlan(coordination, rest);
  const shard = await startShard(ctx, { coordination, token, apiUrl, serveHttp: false, ops: api.deps.ops });
  late.cogs = shard.cogs;
  // The controller's once-per-rollout duty, in process: register the loaded cogs' slash commands (diffed).
  const synced = await syncCommands(rest, shard.applicationId, shard.cogs.cogs());

  const lines = [
    'guildhall is running (role: all)',
    ...simLines,
    `  shards:     ${plan.totalShards} (plan generation ${plan.generation}), pod ${config.shard.podName}`,
    `  cogs:       ${shard.cogs
      .list()
      .map((c) => c.name)
      .join(', ')} (slash commands ${synced.changed ? 'registered' : 'up to date'})`,
    `  admin API:  ${api.url}/api/v1 (docs: ${api.url}/api/v1/docs)`,
    `  health:     ${api.url}/healthz`,
    `  ready:      ${api.url}/readyz`,
    `  metrics:    ${api.url}/metrics`,
    `  database:   ${api.storage.file}`,
    'Stop with Ctrl+C.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
