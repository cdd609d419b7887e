import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import type { Coordination } from '../coordination/index.js';
import { type RoleContext, openCoordination } from '../runtime.js';
import type { ShardEvent } from '../shard/event-pipeline.js';
import { EVENT_LOG_NAME } from '../shard/runtime.js';
import { type Storage, openStorage } from '../storage/index.js';
import { EventWriter } from '../writer/event-writer.js';
import { healthRouter } from './health.js';

/** A running api role: the HTTP server's URL, the open storage and the event writer. */
export interface ApiHandle {
  readonly url: string;
  readonly storage: Storage;
  readonly writer: EventWriter;
}

/**
 * Starts the api role: opens (and migrates) the SQLite database — this is the only process that does —
 * and serves `/healthz`, `/readyz` and `/metrics`. The admin REST API and the event-log writer mount here.
 */
export async function startApi(
  ctx: RoleContext,
  deps: { coordination?: Coordination } = {},
): Promise<ApiHandle> {
  const log = ctx.log.child({ module: 'api' });
  const coordination = deps.coordination ?? (await openCoordination(ctx));
  const storage = openStorage(ctx.config.storage, { log: ctx.log, migrate: true });
  ctx.lifecycle.onShutdown('storage', () => storage.close());

  // The single writer: drains the shards' event log into the month partitions.
  const writer = new EventWriter(
    coordination.eventLog<ShardEvent>(EVENT_LOG_NAME),
    storage.events,
    coordination.leases,
    ctx.log.child({ module: 'event-writer' }),
    { consumer: ctx.config.shard.podName },
    ctx.metrics,
  );
  writer.start();
  ctx.lifecycle.onShutdown('event-writer', () => writer.stop());

  const app = new Koa();
  app.use(
    healthRouter(ctx.metrics, {
      storage: () => storage.isOpen,
      coordination: () => coordination.ping(),
    }).routes(),
  );

  const server = app.listen(ctx.config.api.port, ctx.config.api.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  ctx.lifecycle.onShutdown('http', () => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const url = `http://${ctx.config.api.host}:${port}`;
  log.info({ url, database: storage.file }, 'api listening');
  return { url, storage, writer };
}
