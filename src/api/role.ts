import type { AddressInfo } from 'node:net';
import type { RoleContext } from '../runtime.js';
import { openStorage } from '../storage/index.js';
import { type ApiApp, type ApiDepsExtras, createApiApp, createApiDeps } from './app.js';
import type { AnyRoute } from './http/route.js';
import type { ApiDeps } from './deps.js';

/**
 * A running api role: its URL, dependencies (domain ops, cache, live feed…) and app.
 *
 * @example
 * const { url, deps } = await startApi(ctx);
 */
export interface ApiHandle {
  readonly url: string;
  readonly deps: ApiDeps;
  readonly api: ApiApp;
}

/**
 * Starts the api role: opens (and migrates) the SQLite database — this is the only process that does —
 * and serves the admin REST API (`/api/v1`), the internal domain RPC (`/internal/v1`), `/healthz`,
 * `/readyz`, `/metrics`, the OpenAPI document and the docs page. `extras` lets the embedded mode and the
 * lead plug in the coordination layer (cache, pub/sub live feed, fencing, cluster view) and cog ops;
 * `opts.extraRoutes` mounts cogs' routes (declared with `defineRoute`, so they are validated, authorized,
 * cached and documented like the platform's).
 *
 * @example
 * const { url, deps } = await startApi(ctx, { checkFence: (f) => leases.checkFence(f) });
 */
export async function startApi(
  ctx: RoleContext,
  extras: ApiDepsExtras = {},
  opts: { extraRoutes?: readonly AnyRoute[] } = {},
): Promise<ApiHandle> {
  const log = ctx.log.child({ module: 'api' });
  const storage = openStorage(ctx.config.storage, { log: ctx.log, migrate: true });
  ctx.lifecycle.onShutdown('storage', () => storage.close());

  const deps = await createApiDeps(
    { config: ctx.config, log: ctx.log, metrics: ctx.metrics, storage },
    { podName: ctx.config.shard.podName, ...extras },
  );
  const api = createApiApp(deps, opts);
  const server = api.app.listen(ctx.config.api.port, ctx.config.api.host);
  // Keep-alive longer than a typical load balancer's idle timeout (60 s), so it closes idle sockets first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  ctx.lifecycle.onShutdown(
    'http',
    () =>
      new Promise<void>((resolve) => {
        api.closeStreams();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  );
  const { port } = server.address() as AddressInfo;
  const url = `http://${ctx.config.api.host}:${port}`;
  log.info({ url, database: storage.file }, 'api listening');
  return { url, deps, api };
}
