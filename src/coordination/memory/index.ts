import type { Registry } from 'prom-client';
import type { Logger } from '../../logging/logger.js';
import { TaggedCache } from '../cache.js';
import type { Coordination } from '../coordination.js';
import { EVENT_LOG_DEFAULTS, type EventLog, type EventLogOptions } from '../event-log.js';
import { IDENTIFY_DEFAULTS, type IdentifyOptions } from '../identify-queue.js';
import { coordinationMetrics } from '../metrics.js';
import { DebouncedSessionStore, SESSION_DEFAULTS, type SessionOptions } from '../session-store.js';
import { MemoryCacheBackend } from './cache.js';
import { MemoryClaims } from './claims.js';
import { MemoryEventLog } from './event-log.js';
import type { MemoryHub } from './hub.js';
import { MemoryIdentifyQueue } from './identify-queue.js';
import { MemoryPlanStore } from './plan-store.js';
import { MemoryPubSub } from './pub-sub.js';
import { MemoryRateLimitStore } from './rate-limit-store.js';
import { MemorySessionBackend } from './session-store.js';
import { MemoryShardLeases } from './shard-leases.js';

export { MemoryHub } from './hub.js';

/**
 * Options of {@link createMemoryCoordination}.
 *
 * @example
 * createMemoryCoordination({ hub: new MemoryHub(systemClock), log });
 */
export interface MemoryCoordinationOptions {
  /** Shared state; instances over one hub behave like pods sharing one Redis. Owns the clock. */
  readonly hub: MemoryHub;
  readonly log: Logger;
  readonly metrics?: Registry | undefined;
  readonly identify?: Partial<IdentifyOptions> | undefined;
  readonly sessions?: Partial<SessionOptions> | undefined;
  /** Randomness for jitter (inject a seeded one for reproducible simulations). */
  readonly random?: (() => number) | undefined;
}

/**
 * The in-process backend (role `all`, tests, simulations). Several instances over one {@link MemoryHub}
 * simulate several pods.
 *
 * @example
 * const hub = new MemoryHub(systemClock);
 * const c = createMemoryCoordination({ hub, log });
 */
export function createMemoryCoordination(opts: MemoryCoordinationOptions): Coordination {
  const { hub, log } = opts;
  const metrics = coordinationMetrics(opts.metrics, 'memory');
  const sessionOpts = { ...SESSION_DEFAULTS, ...opts.sessions };
  const leases = new MemoryShardLeases(hub);
  const sessions = new DebouncedSessionStore(
    new MemorySessionBackend(hub, leases, sessionOpts.ttlMs),
    sessionOpts,
    hub.clock,
    log.child({ component: 'sessions' }),
    metrics.sessionHooks,
  );
  const pubsub = new MemoryPubSub(hub, log.child({ component: 'pubsub' }));
  let closed = false;
  return {
    backend: 'memory',
    leases,
    identify: metrics.wrapIdentify(
      new MemoryIdentifyQueue(hub, { ...IDENTIFY_DEFAULTS, ...opts.identify }, opts.random),
    ),
    sessions,
    cache: new TaggedCache(new MemoryCacheBackend(hub)),
    pubsub,
    plans: new MemoryPlanStore(hub, pubsub),
    rateLimits: new MemoryRateLimitStore(hub),
    claims: new MemoryClaims(hub),
    eventLog<T = unknown>(name: string, o: Partial<EventLogOptions> = {}): EventLog<T> {
      return new MemoryEventLog<T>(hub, name, { ...EVENT_LOG_DEFAULTS, ...o });
    },
    ping: async () => !closed,
    async close() {
      if (closed) return;
      closed = true;
      await sessions.close();
    },
  };
}
