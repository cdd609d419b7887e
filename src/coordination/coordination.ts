import type { Cache } from './cache.js';
import type { Claims } from './claims.js';
import type { EventLog, EventLogOptions } from './event-log.js';
import type { IdentifyQueue } from './identify-queue.js';
import type { PlanStore } from './plan-store.js';
import type { PubSub } from './pub-sub.js';
import type { RateLimitStore } from './rate-limit-store.js';
import type { SessionStore } from './session-store.js';
import type { ShardLeases } from './shard-leases.js';

/**
 * The set of coordination services a process uses, all behind small interfaces. Built by
 * `createCoordination` (memory when no Redis URL is given, Redis otherwise).
 *
 * @example
 * const c = await createCoordination({ redisUrl: config.redis.url, keyPrefix: config.redis.keyPrefix, log });
 * ctx.lifecycle.onShutdown('coordination', () => c.close());
 */
export interface Coordination {
  readonly backend: 'memory' | 'redis';
  readonly leases: ShardLeases;
  readonly identify: IdentifyQueue;
  readonly sessions: SessionStore;
  readonly cache: Cache;
  readonly pubsub: PubSub;
  readonly plans: PlanStore;
  readonly rateLimits: RateLimitStore;
  readonly claims: Claims;
  /** Opens a named event log (one Redis stream) read by the consumer group `opts.group`. */
  eventLog<T = unknown>(name: string, opts?: Partial<EventLogOptions>): EventLog<T>;
  /** True when the backend answers (readiness probes). */
  ping(): Promise<boolean>;
  /** Flushes queued session writes, then closes connections. Idempotent. */
  close(): Promise<void>;
}
