import type { AddressInfo } from 'node:net';
import { type Cog, CogLoader } from '../cogs/framework/index.js';
import { COG_CHANNELS } from '../cogs/framework/settings.js';
import type { Logger } from '../logging/logger.js';
import { cogCatalogFromCogs } from './cog-catalog-adapter.js';
import type { Config } from '../config/index.js';
import type { Coordination } from '../coordination/index.js';
import { type RoleContext, openCoordination } from '../runtime.js';
import type { ShardEvent } from '../shard/event-pipeline.js';
import { EVENT_LOG_NAME } from '../shard/runtime.js';
import { type Storage, openStorage } from '../storage/index.js';
import { EventWriter } from '../writer/event-writer.js';
import { tags } from '../domain/platform-ops.js';
import { type ApiApp, type ApiDepsExtras, createApiApp, createApiDeps } from './app.js';
import { apiExtrasFromCoordination } from './coordination-adapters.js';
import type { ApiDeps } from './deps.js';
import type { AnyRoute } from './http/route.js';
import { activityByGuild, withIngestHook } from './ingest-hook.js';
import { createIngestInvalidator } from './ingest-invalidator.js';

/**
 * A running api role: its URL, the open storage, the event writer, the API's dependencies and app.
 *
 * @example
 * const { url, deps, writer } = await startApi(ctx);
 */
export interface ApiHandle {
  readonly url: string;
  readonly storage: Storage;
  readonly writer: EventWriter;
  readonly deps: ApiDeps;
  readonly api: ApiApp;
}

/** Every cog module on disk, imported for its definition (a cog that fails to import is logged and left out). */
async function loadCogDefinitions(log: Logger): Promise<Cog[]> {
  const loader = new CogLoader({ log });
  const cogs: Cog[] = [];
  for (const name of await loader.discover()) {
    try {
      cogs.push(await loader.import(name));
    } catch (err) {
      log.error({ err, cog: name }, 'cog could not be imported for the API catalog');
    }
  }
  return cogs;
}

/**
 * Optional parts of {@link startApi}.
 *
 * @example
 * await startApi(ctx, { coordination, discord: { apiUrl: sim.restUrl } });
 */
export interface StartApiOptions {
  /** Shared with the other roles in `all` mode; opened from the config otherwise. */
  readonly coordination?: Coordination;
  /** Overrides of the API ports (the coordination-backed ones are the default). */
  readonly extras?: ApiDepsExtras;
  /** Cogs' admin routes, declared with `defineRoute` (validated, authorized, cached, documented). */
  readonly extraRoutes?: readonly AnyRoute[];
  /**
   * Discord settings for the OAuth2 login when they differ from the config — in `all` mode the simulator's
   * `{ apiUrl: sim.restUrl, applicationId: sim.applicationId, clientSecret: sim.world.app.clientSecret }`.
   */
  readonly discord?: Partial<Pick<Config['discord'], 'apiUrl' | 'applicationId' | 'clientSecret'>>;
}

/**
 * Starts the api role: opens (and migrates) the SQLite database — this is the only process that does —,
 * runs the single event writer (shards' event log → month partitions; each ingested batch invalidates
 * the guilds' cached analytics and is published as live activity), and serves the admin REST API
 * (`/api/v1`), the internal domain RPC (`/internal/v1`), `/healthz`, `/readyz`, `/metrics`, the OpenAPI
 * document and the docs page. Cache, live feed, fencing, cluster view and rate limits run on the
 * coordination layer (Redis, or memory in `all` mode without REDIS_URL).
 *
 * @example
 * const { url, deps } = await startApi(ctx, { coordination });
 */
export async function startApi(ctx: RoleContext, opts: StartApiOptions = {}): Promise<ApiHandle> {
  const log = ctx.log.child({ module: 'api' });
  const coordination = opts.coordination ?? (await openCoordination(ctx));
  const storage = openStorage(ctx.config.storage, { log: ctx.log, migrate: true });
  ctx.lifecycle.onShutdown('storage', () => storage.close());

  const config = opts.discord
    ? { ...ctx.config, discord: { ...ctx.config.discord, ...opts.discord } }
    : ctx.config;
  const portLog = log.child({ component: 'coordination-ports' });
  // The cogs' names, descriptions and config schemas, so the admin API lists and validates them.
  // Role all passes the shard's live catalog; a standalone api pod reads the cog modules from disk.
  let catalog = opts.extras?.cogs;
  if (!catalog) {
    const onDisk = await loadCogDefinitions(log);
    catalog = cogCatalogFromCogs(() => onDisk);
  }
  const deps = await createApiDeps(
    { config, log: ctx.log, metrics: ctx.metrics, storage },
    {
      podName: ctx.config.shard.podName,
      cogs: catalog,
      ...apiExtrasFromCoordination(coordination, {
        rateLimitPerMinute: ctx.config.api.rateLimitPerMinute,
        onError: (err) => portLog.warn({ err }, 'coordination unavailable for the API; serving without it'),
      }),
      // Shards reload a guild's cog settings when told on `cogs.settings` (the cog framework's channel).
      onCommitted: async (w) => {
        const guildId = (w.input as { guildId?: unknown } | null)?.guildId;
        if (typeof guildId === 'string' && w.tags.includes(tags.cogs(guildId))) {
          await coordination.pubsub.publish(COG_CHANNELS.settings, { guildId });
        }
      },
      ...opts.extras,
    },
  );

  // The single writer: drains the shards' event log into the month partitions.
  const invalidator = createIngestInvalidator(deps.cache, {
    onError: (err) => log.warn({ err }, 'analytics cache invalidation failed'),
  });
  const store = withIngestHook(
    storage.events,
    (batch, result) => {
      if (result.inserted === 0) return;
      const byGuild = activityByGuild(batch);
      invalidator.touch(byGuild.keys());
      const at = new Date().toISOString();
      for (const [guildId, counts] of byGuild) {
        void Promise.resolve(
          deps.liveFeed.publish(guildId, { type: 'activity', at, data: { counts } }),
        ).catch((err: unknown) => log.debug({ err }, 'live activity not published'));
      }
    },
    (err) => log.warn({ err }, 'ingest hook failed'),
  );
  const writer = new EventWriter(
    coordination.eventLog<ShardEvent>(EVENT_LOG_NAME),
    store,
    coordination.leases,
    ctx.log.child({ module: 'event-writer' }),
    { consumer: ctx.config.shard.podName },
    ctx.metrics,
  );
  writer.start();
  ctx.lifecycle.onShutdown('event-writer', async () => {
    await writer.stop();
    invalidator.close();
  });

  const api = createApiApp(deps, opts.extraRoutes ? { extraRoutes: opts.extraRoutes } : {});
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
  return { url, storage, writer, deps, api };
}
