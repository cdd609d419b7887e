import type Router from '@koa/router';
import Koa from 'koa';
import type { Registry } from 'prom-client';
import { type CogCatalog, staticCogCatalog } from '../domain/cog-catalog.js';
import { type CommittedWrite, createLocalOps } from '../domain/local.js';
import { type AnyOp, type Fence, createOpRegistry } from '../domain/ops.js';
import { platformOps } from '../domain/platform-ops.js';
import { SyncDb } from '../domain/sync-db.js';
import type { ApiDatabase } from '../domain/tables.js';
import type { Logger } from '../logging/logger.js';
import type { Storage } from '../storage/index.js';
import type { Kysely } from 'kysely';
import { authenticate } from './auth/authenticate.js';
import { KeySet } from './auth/keys.js';
import { Rbac } from './auth/rbac.js';
import { RefreshTokens } from './auth/refresh.js';
import { TokenVerifier } from './auth/tokens.js';
import type { ApiConfig, ApiDeps } from './deps.js';
import type { ReadinessCheck } from './health.js';
import { cors } from './http/cors.js';
import { RouteBuckets } from './http/route-buckets.js';
import { edge } from './http/edge.js';
import { routeMetrics, routeMiddleware } from './http/mount.js';
import { rateLimit } from './http/rate-limit.js';
import { type ApiState, accessRecorder } from './http/request-context.js';
import type { AnyRoute } from './http/route.js';
import { type OpenApiDocument, buildOpenApi } from './openapi.js';
import { type ApiCache, memoryApiCache } from './ports/cache.js';
import { type ClusterView, singleProcessClusterView } from './ports/cluster-view.js';
import { type LiveFeed, memoryLiveFeed } from './ports/live-feed.js';
import { type RateLimiter, memoryRateLimiter } from './ports/rate-limiter.js';
import { analyticsRoutes } from './resources/analytics.js';
import { apiKeyRoutes } from './resources/api-keys.js';
import { auditRoutes } from './resources/audit.js';
import { authRoutes } from './resources/auth.js';
import { clusterRoutes } from './resources/cluster.js';
import { cogRoutes } from './resources/cogs.js';
import { exportRoutes } from './resources/export.js';
import { guildRoutes } from './resources/guilds.js';
import { internalRoutes } from './resources/internal.js';
import { liveRoutes } from './resources/live.js';
import { metaRoutes } from './resources/meta.js';
import { roleRoutes } from './resources/roles.js';
import { userRoutes } from './resources/users.js';

/**
 * What {@link createApiDeps} cannot invent.
 *
 * @example
 * const base: ApiDepsBase = { config, log, metrics, storage };
 */
export interface ApiDepsBase {
  readonly config: ApiConfig;
  readonly log: Logger;
  readonly metrics: Registry;
  readonly storage: Storage;
}

/**
 * Replaceable parts; each defaults to the in-memory / single-process version.
 *
 * @example
 * const extras: ApiDepsExtras = { cache: apiCacheFromCoordination(coordination.cache) };
 */
export interface ApiDepsExtras {
  readonly cache?: ApiCache;
  readonly rateLimiter?: RateLimiter;
  readonly liveFeed?: LiveFeed;
  readonly cogs?: CogCatalog;
  readonly cluster?: ClusterView;
  /** Extra readiness checks (the storage check is always there). */
  readonly readiness?: Readonly<Record<string, ReadinessCheck>>;
  readonly keys?: KeySet;
  /** Fencing check for shard writes (coordination: `ShardLeases.checkFence`). */
  readonly checkFence?: (fence: Fence) => boolean | Promise<boolean>;
  /** Also called after each committed domain write (e.g. to tell shards over pub/sub). */
  readonly onCommitted?: (write: CommittedWrite) => void | Promise<void>;
  /** Domain ops of cogs, registered next to the platform's. */
  readonly extraOps?: readonly AnyOp[];
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  /** For the single-process cluster view. */
  readonly podName?: string;
}

/**
 * Builds the API's dependencies around an open storage: signing keys from the config (a random secret
 * when none is configured, for the embedded mode), the domain ops (platform ops + `extraOps`) whose commits
 * invalidate cache tags and publish a `change` live event, RBAC, refresh tokens, and the memory ports
 * unless replacements are given.
 *
 * @example
 * const deps = await createApiDeps({ config, log, metrics, storage }, { cogs: catalog });
 * const { app } = createApiApp(deps);
 */
export async function createApiDeps(base: ApiDepsBase, extras: ApiDepsExtras = {}): Promise<ApiDeps> {
  const { config, log, storage } = base;
  const now = extras.now ?? Date.now;
  let keys = extras.keys;
  if (!keys) {
    const api = config.api;
    if (!api.jwtSecret && !api.jwtPrivateKey) {
      log.warn('no JWT_SECRET: using a random per-process signing key (tokens die with the process)');
      keys = await KeySet.random(api.jwtIssuer);
    } else {
      keys = await KeySet.create({
        issuer: api.jwtIssuer,
        ...(api.jwtSecret ? { secret: api.jwtSecret } : {}),
        previousSecrets: api.jwtPreviousSecrets,
        ...(api.jwtPrivateKey ? { ed25519PrivateKeyPem: api.jwtPrivateKey } : {}),
        ...(api.jwtVerifyJwks ? { verifyJwks: JSON.parse(api.jwtVerifyJwks) as { keys: never[] } } : {}),
      });
    }
  }
  const cache = extras.cache ?? memoryApiCache();
  const liveFeed = extras.liveFeed ?? memoryLiveFeed();
  const cogs = extras.cogs ?? staticCogCatalog([]);
  const opsLog = log.child({ module: 'domain' });
  const db = new SyncDb(storage.db as unknown as Kysely<ApiDatabase>, storage.sqlite);
  const rbac = new Rbac(db, config.api.superadmins);
  const ops = createLocalOps(
    storage,
    { registry: createOpRegistry<readonly AnyOp[]>([...platformOps, ...(extras.extraOps ?? [])]) },
    {
      cogs,
      now,
      metrics: base.metrics,
      ...(extras.checkFence ? { checkFence: extras.checkFence } : {}),
      onCommitted: async (w) => {
        rbac.invalidate();
        await cache.invalidateTags(w.tags);
        const guildId = (w.input as { guildId?: unknown } | null)?.guildId;
        if (typeof guildId === 'string') {
          await liveFeed.publish(guildId, {
            type: 'change',
            at: new Date(now()).toISOString(),
            data: { op: w.op },
          });
        }
        await extras.onCommitted?.(w);
      },
      onCommitError: (err, w) =>
        opsLog.error({ err, op: w.op }, 'post-commit hook failed (cache may be stale until TTL)'),
    },
  );
  return {
    config,
    log,
    metrics: base.metrics,
    storage,
    ops: ops as ApiDeps['ops'],
    db,
    keys,
    tokens: new TokenVerifier(keys),
    refresh: new RefreshTokens(db, { ttlSeconds: config.api.refreshTokenTtlSeconds, now }),
    rbac,
    cache,
    rateLimiter:
      extras.rateLimiter ??
      memoryRateLimiter({ limit: config.api.rateLimitPerMinute, windowMs: 60_000, now }),
    liveFeed,
    cogs,
    cluster:
      extras.cluster ?? singleProcessClusterView({ podName: extras.podName ?? 'local-0', role: 'api', now }),
    readiness: { storage: () => storage.isOpen, ...extras.readiness },
    fetch: extras.fetch ?? fetch,
    now,
    openStreams: new Set(),
    readContext: () => ({ db, events: storage.events, now: now(), cogs }),
  };
}

/**
 * Every route of the API, in mount order (the OpenAPI document lists the same). `getDoc` supplies the
 * document to the route that serves it.
 *
 * @example
 * const routes = apiRoutes(() => doc);
 */
export function apiRoutes(getDoc: () => OpenApiDocument, extra: readonly AnyRoute[] = []): AnyRoute[] {
  return [
    ...metaRoutes(getDoc),
    ...authRoutes,
    ...apiKeyRoutes,
    ...userRoutes,
    ...guildRoutes,
    ...roleRoutes,
    ...cogRoutes,
    ...analyticsRoutes,
    ...auditRoutes,
    ...exportRoutes,
    ...liveRoutes,
    ...clusterRoutes,
    ...internalRoutes,
    ...extra,
  ];
}

/**
 * A built API: the koa app, its routes and document, and shutdown of long-lived responses.
 *
 * @example
 * const { app, closeStreams } = createApiApp(deps);
 */
export interface ApiApp {
  readonly app: Koa<ApiState>;
  /** The routers the routes are mounted on (bucketed by path; see `RouteBuckets`). */
  readonly routers: readonly Router[];
  readonly routes: readonly AnyRoute[];
  openapi(): OpenApiDocument;
  /** Ends open SSE streams (call before closing the HTTP server). */
  closeStreams(): void;
}

/**
 * The admin + internal API as a koa app. First the edge middleware: request context (request id,
 * nosniff, access log, duration metric) around the one error handler (problem+json) around CORS →
 * authentication → per-principal rate limit → routing (404/405 mapping after it). Then the routes,
 * bucketed by path, each validating, authorizing, serving from the cache and running its handler.
 *
 * @example
 * const { app } = createApiApp(deps);
 * const server = app.listen(0, '127.0.0.1');
 */
export function createApiApp(deps: ApiDeps, opts: { extraRoutes?: readonly AnyRoute[] } = {}): ApiApp {
  const log = deps.log.child({ module: 'http' });
  const app = new Koa<ApiState>({ proxy: deps.config.api.trustProxy });
  app.silent = true;
  app.on('error', (err: unknown) => log.warn({ err }, 'response error after headers were sent'));
  let doc: OpenApiDocument | undefined;
  const routes: AnyRoute[] = apiRoutes(
    () => (doc ??= buildOpenApi(routes, serverUrl(deps))),
    opts.extraRoutes,
  );
  const buckets = new RouteBuckets();
  const metrics = routeMetrics(deps.metrics);
  for (const route of routes)
    buckets.add(route.method, route.path, routeMiddleware(route, deps, metrics) as never);

  app.use(
    edge({
      log,
      recorder: accessRecorder(log, deps.metrics, deps.config.api.accessLog),
      secrets: configSecrets(deps.config),
      steps: [
        cors(deps.config.api.corsOrigins) as never,
        authenticate(deps) as never,
        rateLimit(deps.rateLimiter, deps.metrics) as never,
      ],
    }),
  );
  app.use(buckets.middleware() as never);
  return {
    app,
    routers: buckets.routers,
    routes,
    openapi: () => (doc ??= buildOpenApi(routes, serverUrl(deps))),
    closeStreams: () => {
      for (const close of [...deps.openStreams]) close();
    },
  };
}

function serverUrl(deps: ApiDeps): { serverUrl?: string } {
  return deps.config.api.publicUrl ? { serverUrl: deps.config.api.publicUrl } : {};
}

function configSecrets(config: ApiConfig): string[] {
  const values = [
    config.api.jwtSecret,
    ...config.api.jwtPreviousSecrets,
    config.api.jwtPrivateKey,
    config.discord.clientSecret,
    config.discord.token,
  ];
  return values.filter((v): v is string => typeof v === 'string' && v.length > 0);
}
