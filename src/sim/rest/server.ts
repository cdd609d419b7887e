/**
 * A standalone HTTP server for the REST half only (no gateway): for tests and tools that need Discord's
 * HTTP API, OAuth2 and the scenario API without WebSocket sessions. `createSimulator` is the full thing.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ViolationLog, type GatewayControl } from '../contracts.js';
import type { World } from '../world/index.js';
import { createHttpHandler, type HttpHandler } from './index.js';
import type { RateLimitOptions } from './rate-limit.js';

/** A running REST-only server. */
export interface RestServer {
  /** `http://127.0.0.1:port`. */
  readonly url: string;
  /** `http://127.0.0.1:port/api` — the `api` option of @discordjs/rest. */
  readonly restUrl: string;
  readonly handler: HttpHandler;
  readonly violations: ViolationLog;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * A gateway stand-in with no sessions (REST-only servers).
 *
 * @example
 * createHttpHandler({ world, gateway: noGateway, violations, baseUrl, gatewayUrl });
 */
export const noGateway: GatewayControl = {
  sessions: () => [],
  forceDisconnect: () => 0,
  requestReconnect: () => 0,
  invalidateSession: () => 0,
};

/**
 * Serves a world's REST API on a free loopback port.
 *
 * @example
 * const rest = await startRestServer({ world });
 * const client = new REST({ api: rest.restUrl }).setToken(world.app.token);
 * await rest.close();
 */
export async function startRestServer(opts: {
  world: World;
  rateLimits?: RateLimitOptions;
  violations?: ViolationLog;
  gateway?: GatewayControl;
  maxBodyBytes?: number;
}): Promise<RestServer> {
  const violations = opts.violations ?? new ViolationLog(opts.world.clock);
  let url = '';
  const handler = createHttpHandler({
    world: opts.world,
    gateway: opts.gateway ?? noGateway,
    violations,
    baseUrl: () => url,
    gatewayUrl: () => url.replace(/^http/, 'ws'),
    ...(opts.rateLimits ? { rateLimits: opts.rateLimits } : {}),
    ...(opts.maxBodyBytes ? { maxBodyBytes: opts.maxBodyBytes } : {}),
  });
  const server = createServer({ keepAlive: true }, handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  return {
    url,
    restUrl: `${url}/api`,
    handler,
    violations,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
