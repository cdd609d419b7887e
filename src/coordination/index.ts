import type { Registry } from 'prom-client';
import type { Logger } from '../logging/logger.js';
import { type Clock, systemClock } from './clock.js';
import type { Coordination } from './coordination.js';
import type { IdentifyOptions } from './identify-queue.js';
import { MemoryHub, createMemoryCoordination } from './memory/index.js';
import { type RedisConnectionOptions, createRedisCoordination } from './redis/index.js';
import type { SessionOptions } from './session-store.js';

export type { Coordination } from './coordination.js';
export { type Clock, SimulatedClock, systemClock } from './clock.js';
export { CoordinationUnavailableError, IdentifyBudgetExhaustedError, isAbortError } from './errors.js';
export type { ShardLeases, ShardLease, Fence } from './shard-leases.js';
export { holdLease, type HeldLease, type HoldLeaseOptions, type LeaseLossReason } from './lease-keeper.js';
export {
  type IdentifyQueue,
  type IdentifyBudget,
  type IdentifyOptions,
  IDENTIFY_DEFAULTS,
  identifyThrottler,
} from './identify-queue.js';
export {
  type SessionStore,
  type SessionInfo,
  type SessionOptions,
  type SessionCallbacks,
  SESSION_DEFAULTS,
  sessionInfoCallbacks,
} from './session-store.js';
export {
  type Checkpoint,
  type EventLog,
  type LogEntry,
  type PendingInfo,
  type EventLogOptions,
  EVENT_LOG_DEFAULTS,
} from './event-log.js';
export type { Cache } from './cache.js';
export type { Claims } from './claims.js';
export type { PubSub, MessageHandler } from './pub-sub.js';
export { type PlanStore, type ShardPlan, PLAN_CHANNEL } from './plan-store.js';
export {
  type RateLimitStore,
  acquireSlot,
  INVALID_REQUEST_LIMIT,
  INVALID_REQUEST_WINDOW_MS,
} from './rate-limit-store.js';
export { REDIS_CONNECTION_DEFAULTS, type RedisConnectionOptions } from './redis/index.js';

/**
 * Options of {@link createCoordination}.
 *
 * @example
 * const opts: CoordinationOptions = { redisUrl: config.redis.url, keyPrefix: config.redis.keyPrefix, log };
 */
export interface CoordinationOptions {
  /** Redis URL (`REDIS_URL`); omit for the in-memory backend (single process, role `all`). */
  readonly redisUrl?: string | undefined;
  /** Prefix of every Redis key and channel (`REDIS_KEY_PREFIX`). */
  readonly keyPrefix: string;
  readonly log: Logger;
  /** Defaults to the system clock. */
  readonly clock?: Clock | undefined;
  /** Registry for the coordination metrics (`guildhall_identify_*`, `guildhall_session_*`, …). */
  readonly metrics?: Registry | undefined;
  readonly identify?: Partial<IdentifyOptions> | undefined;
  readonly sessions?: Partial<SessionOptions> | undefined;
  /** Redis client bounds (timeouts, retries, offline queue); ignored for memory. */
  readonly redis?: Partial<RedisConnectionOptions> | undefined;
}

/**
 * Builds the coordination services: Redis when `redisUrl` is set, in-memory otherwise. Core code takes
 * the returned {@link Coordination} (or single members of it) and never imports a backend. Call
 * `close()` on shutdown: it flushes queued session writes, then closes the connections.
 *
 * @example
 * const coordination = await createCoordination({
 *   redisUrl: ctx.config.redis.url,
 *   keyPrefix: ctx.config.redis.keyPrefix,
 *   log: ctx.log.child({ module: 'coordination' }),
 *   metrics: ctx.metrics,
 * });
 * ctx.lifecycle.onShutdown('coordination', () => coordination.close());
 */
export async function createCoordination(opts: CoordinationOptions): Promise<Coordination> {
  const clock = opts.clock ?? systemClock;
  if (!opts.redisUrl) {
    return createMemoryCoordination({
      hub: new MemoryHub(clock),
      log: opts.log,
      metrics: opts.metrics,
      identify: opts.identify,
      sessions: opts.sessions,
    });
  }
  return createRedisCoordination({
    url: opts.redisUrl,
    keyPrefix: opts.keyPrefix,
    log: opts.log,
    clock,
    metrics: opts.metrics,
    identify: opts.identify,
    sessions: opts.sessions,
    redis: opts.redis,
  });
}
