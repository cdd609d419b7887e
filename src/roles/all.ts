import { REST } from '@discordjs/rest';
import { type StartApiOptions, startApi } from '../api/role.js';
import { type RoleContext, openCoordination } from '../runtime.js';
import { cogCatalogFromCogs } from '../api/cog-catalog-adapter.js';
import { type CogHost, syncCommands } from '../cogs/framework/index.js';
import { readControllerStatus } from '../controller/status.js';
import { controllerRole } from '../controller/role.js';
import { cachedGateway, restGateway } from '../controller/gateway.js';
import type { ControllerPlan } from '../controller/plan.js';
import { startShard } from '../shard/role.js';
import { VERSION } from '../version.js';
import { type SimulatorHandle, createSimulator } from '../sim/index.js';

/**
 * The simulator's OAuth2 test user in `all` mode: signed in by `/oauth2/authorize` without a consent
 * screen, owner of the first {@link SIM_LOGIN_OWNED_GUILDS} simulated guilds.
 *
 * @example
 * createSimulator({ oauthUser: { ...SIM_LOGIN_USER, ownsGuilds: SIM_LOGIN_OWNED_GUILDS } });
 */
export const SIM_LOGIN_USER = { username: 'sim_admin', globalName: 'Sim Admin' } as const;

/**
 * How many simulated guilds the test user owns (fewer when `SIM_GUILDS` is smaller).
 *
 * @example
 * sim.world.guildIds().slice(0, SIM_LOGIN_OWNED_GUILDS); // the guilds sim_admin owns
 */
export const SIM_LOGIN_OWNED_GUILDS = 3;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '0.0.0.0', '[::]']);

/**
 * The OAuth2 callback URLs to register with the simulator. The api builds its redirect URI from
 * `API_PUBLIC_URL` when set, else from the request's Host — so for a loopback or wildcard listen address
 * both `127.0.0.1` and `localhost` (what a browser on this machine uses) are registered.
 *
 * @example
 * loginCallbacks('http://127.0.0.1:8080', undefined);
 * // ['http://127.0.0.1:8080/api/v1/auth/callback', 'http://localhost:8080/api/v1/auth/callback']
 */
export function loginCallbacks(apiUrl: string, publicUrl: string | undefined): string[] {
  const callback = (base: string) => `${base.replace(/\/+$/, '')}/api/v1/auth/callback`;
  if (publicUrl) return [callback(publicUrl)];
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    return [callback(apiUrl)]; // e.g. a bare IPv6 listen address: registered as printed
  }
  const bases = [url.origin];
  if (LOOPBACK.has(url.hostname)) {
    for (const host of ['127.0.0.1', 'localhost'])
      bases.push(`${url.protocol}//${host}${url.port ? `:${url.port}` : ''}`);
  }
  return [...new Set(bases)].map(callback);
}

/**
 * The embedded default (`npm start`): every role in one process with in-memory coordination (or Redis when
 * `REDIS_URL` is set) — the Discord simulator unless a real `DISCORD_TOKEN` is configured, the api role
 * (SQLite, event writer, HTTP), one shard pod holding every shard, and the controller (leader of one:
 * publishes the shard plan from Discord's recommendation, reshards when the guild count outgrows it —
 * `guildhall reshard` works too when `REDIS_URL` is set — and registers the cogs' slash commands). Prints where to reach each part. With the simulator
 * the admin API's Discord login goes to it too: its authorize page signs in {@link SIM_LOGIN_USER}, and
 * the API's callback URLs are registered with it once the API listens.
 */
export async function startAll(ctx: RoleContext): Promise<void> {
  const { config } = ctx;
  const coordination = await openCoordination(ctx);

  let token = config.discord.token;
  let apiUrl = config.discord.apiUrl;
  let simLines: string[] = [];
  let sim: SimulatorHandle | undefined;
  let discord: StartApiOptions['discord'];
  if (!token) {
    sim = await createSimulator({
      host: config.sim.host,
      port: config.sim.port,
      guilds: config.sim.guilds,
      oauthUser: { ...SIM_LOGIN_USER, ownsGuilds: SIM_LOGIN_OWNED_GUILDS },
      log: ctx.log.child({ module: 'sim' }),
    });
    const started = sim;
    ctx.lifecycle.onShutdown('sim', () => started.close());
    token = sim.token;
    apiUrl = sim.restUrl;
    // The admin login goes to the simulator: its authorize page (the origin of apiUrl) and token exchange.
    discord = { apiUrl: sim.restUrl, applicationId: sim.applicationId, clientSecret: sim.clientSecret };
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
    ...(discord ? { discord } : {}),
  });
  // The callback URL is known only now that the api listens (API_PORT may be 0).
  sim?.http.scenario.addRedirectUris(loginCallbacks(api.url, config.api.publicUrl));
  const loginUrl = `${(config.api.publicUrl ?? api.url).replace(/\/+$/, '')}/api/v1/auth/login`;
  const loginLine = sim
    ? `  login:      ${loginUrl} (the simulator signs you in as ${SIM_LOGIN_USER.username})`
    : config.discord.applicationId && config.discord.clientSecret
      ? `  login:      ${loginUrl} (Discord OAuth2)`
      : '  login:      off (set DISCORD_APPLICATION_ID and DISCORD_CLIENT_SECRET for the Discord login)';
  const rest = new REST({ api: apiUrl, version: '10' }).setToken(token);
  const shard = await startShard(ctx, { coordination, token, apiUrl, serveHttp: false, ops: api.deps.ops });
  late.cogs = shard.cogs;
  const cogs = shard.cogs;
  const world = sim?.world;
  await controllerRole(ctx, {
    coordination,
    serveHttp: false,
    identity: `${config.shard.podName}-controller`,
    gateway: cachedGateway(restGateway(rest), 1_000),
    ...(world ? { guildCount: async () => world.guildIds().length } : {}),
    commands: {
      hash: () =>
        `${VERSION}:${cogs
          .list()
          .map((c) => c.name)
          .join(',')}`,
      sync: () => syncCommands(rest, shard.applicationId, cogs.cogs()),
    },
  });
  // The shard pod connects as soon as the controller has published the plan.
  const plan = await waitFor(async () => (await coordination.plans.get()) as ControllerPlan | null);
  const commands = await waitFor(async () => (await readControllerStatus(coordination))?.commands);

  const lines = [
    'guildhall is running (role: all)',
    ...simLines,
    `  shards:     ${plan ? `${plan.totalShards} (plan generation ${plan.generation})` : 'waiting for the plan'}, pod ${config.shard.podName}`,
    `  cogs:       ${shard.cogs
      .list()
      .map((c) => c.name)
      .join(
        ', ',
      )} (slash commands ${commands?.result === 'failed' ? `not registered: ${commands.error ?? 'failed'}` : commands ? 'registered' : 'being registered'})`,
    `  admin API:  ${api.url}/api/v1 (docs: ${api.url}/api/v1/docs)`,
    loginLine,
    `  health:     ${api.url}/healthz`,
    `  ready:      ${api.url}/readyz`,
    `  metrics:    ${api.url}/metrics`,
    `  database:   ${api.storage.file}`,
    'Stop with Ctrl+C.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Polls `get` until it yields a value (or 30 s pass: undefined). */
async function waitFor<T>(get: () => Promise<T | null | undefined>): Promise<T | undefined> {
  const until = Date.now() + 30_000;
  for (;;) {
    const v = await get();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > until) return undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
}
