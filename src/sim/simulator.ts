import { once } from 'node:events';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIUser } from 'discord-api-types/v10';
import { type Logger, silentLogger } from '../logging/logger.js';
import { ViolationLog } from './contracts.js';
import { GatewayServer, type GatewaySettings } from './gateway/index.js';
import { type LoadOptions, type LoadRun, startLoad } from './load.js';
import { type HttpHandler, type RateLimitOptions, createHttpHandler } from './rest/index.js';
import { type UserInit, World, type WorldOptions } from './world/index.js';

/**
 * Options of {@link createSimulator}: the world to generate plus where and how to serve it.
 *
 * @example
 * const options: SimulatorOptions = { guilds: 100, maxConcurrency: 4, gateway: { heartbeatIntervalMs: 1_000 } };
 */
export interface SimulatorOptions extends WorldOptions {
  /** Listen address (default 127.0.0.1: the simulator is for loopback use). */
  readonly host?: string;
  /** Port (default 0: the OS picks one). */
  readonly port?: number;
  /** Gateway tunables (heartbeat interval, identify window, resume window, …). */
  readonly gateway?: Partial<GatewaySettings>;
  /** REST rate-limit tunables. */
  readonly rateLimits?: RateLimitOptions;
  /**
   * A user created at start that `/oauth2/authorize` signs in as (auto-approving, no consent screen) and
   * that owns the first `ownsGuilds` guilds (default 0; it joins them and ownership moves from the
   * generated owner). Without it nobody is signed in until `POST /__sim/oauth/user` picks someone.
   */
  readonly oauthUser?: UserInit & { readonly ownsGuilds?: number };
  readonly log?: Logger;
}

/**
 * A running simulator.
 *
 * @example
 * const sim: SimulatorHandle = await createSimulator();
 * sim.gateway.forceDisconnect({ shardId: 0 });
 * expect(sim.violations.list()).toEqual([]);
 */
export interface SimulatorHandle {
  /** `http://host:port`. */
  readonly url: string;
  /** `ws://host:port` — what GET /gateway/bot returns and READY's `resume_gateway_url`. */
  readonly gatewayUrl: string;
  /** `http://host:port/api` — give it to discord.js / @discordjs/rest as `rest.api`. */
  readonly restUrl: string;
  readonly token: string;
  readonly applicationId: string;
  /** The OAuth2 application's client secret (the token exchange's HTTP Basic password). */
  readonly clientSecret: string;
  /** The user created from {@link SimulatorOptions.oauthUser}, if any. */
  readonly oauthUser: APIUser | undefined;
  readonly world: World;
  readonly gateway: GatewayServer;
  readonly violations: ViolationLog;
  readonly http: HttpHandler;
  readonly server: Server;
  /** Starts a load generator on the gateway fan-out fast path (see {@link startLoad}). */
  load(options?: Omit<LoadOptions, 'world' | 'sink'>): LoadRun;
  close(): Promise<void>;
}

/**
 * Defaults of {@link SimulatorOptions}.
 *
 * @example
 * createSimulator({ ...simulatorDefaults, port: 8090 });
 */
export const simulatorDefaults = { host: '127.0.0.1', port: 0 } as const satisfies Pick<
  SimulatorOptions,
  'host' | 'port'
>;

/**
 * Starts the Discord simulator: ONE HTTP server on `host:port` serving the gateway (WebSocket upgrades on
 * `/`) and REST v10 + OAuth2 + the scenario API (plain requests), over one generated {@link World}.
 *
 * @example
 * const sim = await createSimulator({ guilds: 800, membersPerGuild: 5, maxConcurrency: 4 });
 * const client = new Client({ intents: ['Guilds'], rest: { api: sim.restUrl } });
 * await client.login(sim.token);
 * await sim.close();
 */
export async function createSimulator(options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const {
    host = simulatorDefaults.host,
    port = simulatorDefaults.port,
    gateway: gatewaySettings,
    rateLimits,
    oauthUser: oauthUserInit,
    log,
    ...worldOptions
  } = options;
  const ownsGuilds = oauthUserInit?.ownsGuilds ?? 0;
  if (!Number.isInteger(ownsGuilds) || ownsGuilds < 0)
    throw new RangeError(`oauthUser.ownsGuilds must be a non-negative integer, got ${ownsGuilds}`);
  const logger = (log ?? silentLogger()).child({ module: 'sim' });
  const world = World.create(worldOptions);
  const violations = new ViolationLog(world.clock);
  let url = '';
  let gatewayUrl = '';
  const gateway = new GatewayServer({
    world,
    violations,
    resumeUrl: () => gatewayUrl,
    log: logger,
    ...gatewaySettings,
  });
  const http = createHttpHandler({
    world,
    gateway,
    violations,
    baseUrl: () => url,
    gatewayUrl: () => gatewayUrl,
    ...(rateLimits ? { rateLimits } : {}),
  });
  let oauthUser: APIUser | undefined;
  if (oauthUserInit) {
    const { ownsGuilds: _counted, ...init } = oauthUserInit;
    oauthUser = world.createUser(init);
    for (const id of world.guildIds().slice(0, ownsGuilds)) world.transferOwnership(id, oauthUser.id);
    http.oauth.setTestUser(oauthUser.id);
  }
  const server = createServer({ keepAlive: true }, http);
  server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    else socket.destroy();
  });
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  url = `http://${hostPart}:${address.port}`;
  gatewayUrl = `ws://${hostPart}:${address.port}`;
  logger.info({ url, guilds: world.guildIds().length }, 'discord simulator listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    gatewayUrl,
    restUrl: `${url}/api`,
    token: world.app.token,
    applicationId: world.app.id,
    clientSecret: world.app.clientSecret,
    oauthUser,
    world,
    gateway,
    violations,
    http,
    server,
    load: (loadOptions = {}) =>
      startLoad({
        backpressure: () => gateway.maxBufferedBytes() > 16 * 1024 * 1024,
        ...loadOptions,
        world,
        sink: (event) => gateway.dispatch(event),
      }),
    close: () =>
      (closing ??= (async () => {
        gateway.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      })()),
  };
}
