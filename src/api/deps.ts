import type { Registry } from 'prom-client';
import type { Config } from '../config/index.js';
import type { CogCatalog } from '../domain/cog-catalog.js';
import type { LocalOps } from '../domain/local.js';
import type { ReadContext } from '../domain/ops.js';
import type { SyncDb } from '../domain/sync-db.js';
import type { ApiDatabase } from '../domain/tables.js';
import type { Logger } from '../logging/logger.js';
import type { Storage } from '../storage/index.js';
import type { KeySet } from './auth/keys.js';
import type { Rbac } from './auth/rbac.js';
import type { RefreshTokens } from './auth/refresh.js';
import type { TokenVerifier } from './auth/tokens.js';
import type { ReadinessCheck } from './health.js';
import type { ApiCache } from './ports/cache.js';
import type { ClusterView } from './ports/cluster-view.js';
import type { LiveFeed } from './ports/live-feed.js';
import type { RateLimiter } from './ports/rate-limiter.js';

/**
 * The config sections the API reads.
 *
 * @example
 * const config: ApiConfig = { api: full.api, discord: full.discord };
 */
export interface ApiConfig {
  readonly api: Config['api'];
  readonly discord: Config['discord'];
}

/**
 * Everything the HTTP layer needs, built once by `createApiDeps` and passed in (no globals). Tests build
 * it around a temp SQLite file; the lead swaps the memory ports (cache, rate limiter, live feed, cluster
 * view) for the coordination layer's Redis-backed ones.
 *
 * @example
 * const deps: ApiDeps = await createApiDeps({ config, log, metrics, storage });
 */
export interface ApiDeps {
  readonly config: ApiConfig;
  readonly log: Logger;
  readonly metrics: Registry;
  readonly storage: Storage;
  readonly ops: LocalOps<unknown>;
  readonly db: SyncDb<ApiDatabase>;
  readonly keys: KeySet;
  readonly tokens: TokenVerifier;
  readonly refresh: RefreshTokens;
  readonly rbac: Rbac;
  readonly cache: ApiCache;
  readonly rateLimiter: RateLimiter;
  readonly liveFeed: LiveFeed;
  readonly cogs: CogCatalog;
  readonly cluster: ClusterView;
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  /** For the Discord OAuth2 calls (tests point the config at a local server; nothing else is injected). */
  readonly fetch: typeof fetch;
  readonly now: () => number;
  /** Closers of open long-lived responses (SSE), run at shutdown so the HTTP server can close. */
  readonly openStreams: Set<() => void>;
  /** A read context over the same database (for the shared read helpers of the domain ops). */
  readContext(): ReadContext;
}
