import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import type { RoleContext } from '../runtime.js';
import { openStorage } from '../storage/index.js';
import { healthRouter } from './health.js';

/** A running api role: the HTTP server's URL and the open storage. */
export interface ApiHandle {
  readonly url: string;
}

/**
 * Starts the api role: opens (and migrates) the SQLite database — this is the only process that does —
 * and serves `/healthz`, `/readyz` and `/metrics`. The admin REST API and the event-log writer mount here.
 */
export async function startApi(ctx: RoleContext): Promise<ApiHandle> {
  const log = ctx.log.child({ module: 'api' });
  const storage = openStorage(ctx.config.storage, { log: ctx.log, migrate: true });
  ctx.lifecycle.onShutdown('storage', () => storage.close());

  const app = new Koa();
  app.use(healthRouter(ctx.metrics, { storage: () => storage.isOpen }).routes());

  const server = app.listen(ctx.config.api.port, ctx.config.api.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  ctx.lifecycle.onShutdown('http', () => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const url = `http://${ctx.config.api.host}:${port}`;
  log.info({ url, database: storage.file }, 'api listening');
  return { url };
}
