import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Logger } from '../../logging/logger.js';
import { TaggedCache } from '../cache.js';
import type { Clock } from '../clock.js';
import type { Coordination } from '../coordination.js';
import { EVENT_LOG_DEFAULTS, type EventLog, type EventLogOptions } from '../event-log.js';
import { IDENTIFY_DEFAULTS, type IdentifyOptions } from '../identify-queue.js';
import { coordinationMetrics } from '../metrics.js';
import { DebouncedSessionStore, SESSION_DEFAULTS, type SessionOptions } from '../session-store.js';
import { RedisCacheBackend } from './cache.js';
import { RedisClaims } from './claims.js';
import {
  REDIS_CONNECTION_DEFAULTS,
  type RedisConnectionOptions,
  openRedis,
  redisGuard,
  untilFirstReady,
} from './connection.js';
import { RedisEventLog } from './event-log.js';
import { RedisIdentifyQueue } from './identify-queue.js';
import { redisKeys } from './keys.js';
import { RedisPlanStore } from './plan-store.js';
import { RedisPubSub } from './pub-sub.js';
import { RedisRateLimitStore } from './rate-limit-store.js';
import { defineScripts } from './scripts.js';
import { RedisSessionBackend } from './session-store.js';
import { RedisShardLeases } from './shard-leases.js';

export { REDIS_CONNECTION_DEFAULTS, type RedisConnectionOptions } from './connection.js';

/**
 * Options of {@link createRedisCoordination}.
 *
 * @example
 * await createRedisCoordination({ url, keyPrefix: 'guildhall:', log, clock: systemClock });
 */
export interface RedisCoordinationOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly log: Logger;
  readonly clock: Clock;
  readonly metrics?: Registry | undefined;
  readonly identify?: Partial<IdentifyOptions> | undefined;
  readonly sessions?: Partial<SessionOptions> | undefined;
  readonly redis?: Partial<RedisConnectionOptions> | undefined;
}

/**
 * The Redis backend. Opens the command connection and checks it answers (throws
 * `CoordinationUnavailableError` after about `commandTimeoutMs` otherwise); the pub/sub subscriber and
 * blocking event-log connections open on first use.
 *
 * @example
 * const c = await createRedisCoordination({ url, keyPrefix: 'guildhall:', log, clock: systemClock });
 */
export async function createRedisCoordination(opts: RedisCoordinationOptions): Promise<Coordination> {
  const log = opts.log;
  const conn = { ...REDIS_CONNECTION_DEFAULTS, ...opts.redis };
  const metrics = coordinationMetrics(opts.metrics, 'redis');
  const guard = redisGuard(metrics);
  const keys = redisKeys(opts.keyPrefix);
  const redis = openRedis(opts.url, conn, 'command', log);
  defineScripts(redis);
  const extra: Redis[] = [];
  const open = (kind: 'subscriber' | 'blocking') => {
    const r = openRedis(opts.url, conn, kind, log);
    extra.push(r);
    return r;
  };
  // Lazily opened connections wait (bounded) for their first ready, then fail fast like the rest.
  const lazy = (get: () => Redis) => async () => {
    const r = get();
    await untilFirstReady(r, conn.connectTimeoutMs);
    return r;
  };
  try {
    await guard('connect', async () => {
      await untilFirstReady(redis, conn.connectTimeoutMs);
      await redis.ping();
    });
  } catch (err) {
    redis.disconnect();
    throw err;
  }

  const sessionOpts = { ...SESSION_DEFAULTS, ...opts.sessions };
  const sessions = new DebouncedSessionStore(
    new RedisSessionBackend(redis, keys, guard, sessionOpts.ttlMs),
    sessionOpts,
    opts.clock,
    log.child({ component: 'sessions' }),
    metrics.sessionHooks,
  );
  let subscriber: Redis | undefined;
  const pubsub = new RedisPubSub(
    redis,
    lazy(() => (subscriber ??= open('subscriber'))),
    keys,
    guard,
    log.child({ component: 'pubsub' }),
  );
  let closing: Promise<void> | undefined;

  return {
    backend: 'redis',
    leases: new RedisShardLeases(redis, keys, guard),
    identify: metrics.wrapIdentify(
      new RedisIdentifyQueue(redis, keys, guard, opts.clock, { ...IDENTIFY_DEFAULTS, ...opts.identify }),
    ),
    sessions,
    cache: new TaggedCache(new RedisCacheBackend(redis, keys, guard)),
    pubsub,
    plans: new RedisPlanStore(redis, keys, guard, pubsub),
    rateLimits: new RedisRateLimitStore(redis, keys, guard, opts.clock),
    claims: new RedisClaims(redis, keys, guard),
    eventLog<T = unknown>(name: string, o: Partial<EventLogOptions> = {}): EventLog<T> {
      let blocking: Redis | undefined;
      return new RedisEventLog<T>(
        redis,
        lazy(() => (blocking ??= open('blocking'))),
        keys.stream(name),
        guard,
        { ...EVENT_LOG_DEFAULTS, ...o },
        conn.maxBlockMs,
      );
    },
    async ping() {
      try {
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    close() {
      closing ??= (async () => {
        try {
          await sessions.close();
        } catch (err) {
          log.error({ err }, 'could not flush session writes before closing');
        }
        await Promise.all([redis, ...extra].map((r) => r.quit().catch(() => r.disconnect())));
      })();
      return closing;
    },
  };
}
