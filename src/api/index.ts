/**
 * The admin REST API and internal domain RPC: what the api role, the embedded mode and the lead's wiring
 * import. See `createApiDeps` / `createApiApp` for the app, the coordination adapters for Redis-backed
 * ports, `createIngestInvalidator` for the event-log writer, and `serviceTokenSource` for shard pods.
 */
export {
  createApiApp,
  createApiDeps,
  apiRoutes,
  type ApiApp,
  type ApiDepsBase,
  type ApiDepsExtras,
} from './app.js';
export type { ApiDeps, ApiConfig } from './deps.js';
export { startApi, type ApiHandle } from './role.js';
export { issueTokenCommand } from './cli.js';
export { KeySet, type Audience } from './auth/keys.js';
export { issueAccessToken, issueServiceToken, TokenVerifier } from './auth/tokens.js';
export { serviceTokenSource } from './auth/service-tokens.js';
export type { Principal } from './auth/principal.js';
export {
  apiCacheFromCoordination,
  apiExtrasFromCoordination,
  checkFenceWithLeases,
  clusterViewFromCoordination,
  liveFeedFromPubSub,
  rateLimiterFromStore,
} from './coordination-adapters.js';
export { createIngestInvalidator } from './ingest-invalidator.js';
export { withIngestHook, activityByGuild } from './ingest-hook.js';
export { cogCatalogFromCogs } from './cog-catalog-adapter.js';
export { type StartApiOptions } from './role.js';
export { type ApiCache, memoryApiCache, noopApiCache } from './ports/cache.js';
export { type LiveFeed, type LiveEvent, memoryLiveFeed } from './ports/live-feed.js';
export { type RateLimiter, memoryRateLimiter } from './ports/rate-limiter.js';
export { type ClusterView, singleProcessClusterView } from './ports/cluster-view.js';
export { defineRoute, type RouteDef, type AnyRoute } from './http/route.js';
export { validate } from './http/validate.js';
export { buildOpenApi } from './openapi.js';
