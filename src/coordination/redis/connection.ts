import { Redis, type RedisOptions, ReplyError } from 'ioredis';
import type { Logger } from '../../logging/logger.js';
import { CoordinationUnavailableError } from '../errors.js';
import type { CoordinationMetrics } from '../metrics.js';

/**
 * How the Redis clients behave when Redis is slow or gone. Every coordination call either answers or
 * fails with {@link CoordinationUnavailableError} within about `commandTimeoutMs`; nothing hangs.
 *
 * - `commandTimeoutMs` (ioredis `commandTimeout`): the hard bound. ioredis arms it when the command is
 *   issued, so it also covers commands parked in the offline queue while reconnecting.
 * - `enableOfflineQueue: true`: a command issued during a short reconnect (Redis restart, failover)
 *   waits for the connection instead of failing at once; the timeout above still bounds it. With
 *   `false` every command during a blip fails immediately, which turns each blip into dropped leases.
 * - `maxRetriesPerRequest` (default 1): queued commands are failed after this many reconnect attempts
 *   (ioredis default 20 would keep them for many seconds); whichever bound hits first wins.
 * - `reconnectMaxDelayMs`: reconnect forever with exponential backoff (50 ms doubling) capped here, plus
 *   jitter, so pods do not reconnect in lockstep.
 * - `maxBlockMs`: longest server-side BLOCK of an event-log read. Blocking reads use their own
 *   connection without `commandTimeout` but with ioredis `blockingTimeout` (BLOCK + grace), so a dead
 *   connection during a block resolves empty instead of hanging.
 *
 * @example
 * createCoordination({ redisUrl, keyPrefix, log, redis: { ...REDIS_CONNECTION_DEFAULTS, commandTimeoutMs: 1000 } });
 */
export interface RedisConnectionOptions {
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxRetriesPerRequest: number;
  readonly enableOfflineQueue: boolean;
  readonly reconnectMaxDelayMs: number;
  readonly maxBlockMs: number;
}

/**
 * Connection defaults; see {@link RedisConnectionOptions} for the reasoning.
 *
 * @example
 * const timeout = REDIS_CONNECTION_DEFAULTS.commandTimeoutMs; // 2000
 */
export const REDIS_CONNECTION_DEFAULTS = {
  commandTimeoutMs: 2_000,
  connectTimeoutMs: 2_000,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: true,
  reconnectMaxDelayMs: 1_000,
  maxBlockMs: 5_000,
} as const satisfies RedisConnectionOptions;

/**
 * What a Redis client is used for (each kind has its own connection).
 *
 * @example
 * openRedis(url, REDIS_CONNECTION_DEFAULTS, 'blocking', log);
 */
export type ConnectionKind = 'command' | 'subscriber' | 'blocking';

/**
 * Opens an ioredis client with the bounded-failure options above. Connection loss is logged once per
 * outage (warn) and recovery once (info).
 *
 * @example
 * const redis = openRedis(url, REDIS_CONNECTION_DEFAULTS, 'command', log);
 */
export function openRedis(
  url: string,
  opts: RedisConnectionOptions,
  kind: ConnectionKind,
  log: Logger,
): Redis {
  const base: RedisOptions = {
    connectTimeout: opts.connectTimeoutMs,
    maxRetriesPerRequest: opts.maxRetriesPerRequest,
    enableOfflineQueue: opts.enableOfflineQueue,
    retryStrategy: (times) =>
      Math.min(50 * 2 ** Math.min(times, 10), opts.reconnectMaxDelayMs) + Math.floor(Math.random() * 50),
    connectionName: `guildhall-${kind}`,
    lazyConnect: false,
  };
  const options: RedisOptions =
    kind === 'blocking'
      ? { ...base, blockingTimeout: opts.maxBlockMs + opts.commandTimeoutMs, blockingTimeoutGrace: 500 }
      : kind === 'command'
        ? { ...base, commandTimeout: opts.commandTimeoutMs, enableAutoPipelining: true }
        : { ...base, commandTimeout: opts.commandTimeoutMs };
  const redis = new Redis(url, options);
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log.warn({ err: { message: err.message }, connection: kind }, 'redis connection lost; reconnecting');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log.info({ connection: kind }, 'redis connection restored');
  });
  return redis;
}

const UNAVAILABLE_REPLIES = ['LOADING', 'BUSY', 'READONLY', 'MASTERDOWN', 'TRYAGAIN', 'CLUSTERDOWN'];
const UNAVAILABLE_MESSAGES = [
  'Command timed out',
  'Connection is closed.',
  "Stream isn't writeable",
  'pipeline aborted',
];
const NETWORK_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
];

/**
 * True when `err` means "Redis unreachable / not answering" rather than a bug or bad data: ioredis'
 * timeout, closed-connection and retry-exhaustion errors, socket errors, and the replies of a server
 * that is starting or failing over. Other errors (script errors, corrupt JSON) pass through unchanged.
 *
 * @example
 * if (isUnavailable(err)) throw new CoordinationUnavailableError('op', err);
 */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof ReplyError) return UNAVAILABLE_REPLIES.some((p) => err.message.startsWith(p));
  if (err.name === 'MaxRetriesPerRequestError') return true;
  if (UNAVAILABLE_MESSAGES.some((m) => err.message.startsWith(m))) return true;
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined && NETWORK_CODES.includes(code);
}

/**
 * Runs one Redis operation and turns connection failures into {@link CoordinationUnavailableError}.
 *
 * @example
 * const guard = redisGuard(metrics);
 * const epoch = await guard('leases.acquire', () => redis.call(...));
 */
export function redisGuard(
  metrics: CoordinationMetrics,
): <T>(operation: string, fn: () => Promise<T>) => Promise<T> {
  return async (operation, fn) => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof CoordinationUnavailableError || !isUnavailable(err)) throw err;
      metrics.unavailable(operation);
      throw new CoordinationUnavailableError(operation, err);
    }
  };
}

/**
 * The guard function type {@link redisGuard} returns.
 *
 * @example
 * const guard: RedisGuard = redisGuard(metrics);
 */
export type RedisGuard = ReturnType<typeof redisGuard>;

/**
 * Runs a pipeline and returns its results, throwing the first command error.
 *
 * @example
 * const [a, b] = await execPipeline(redis.pipeline().get('a').get('b'));
 */
export async function execPipeline(p: {
  exec(): Promise<[Error | null, unknown][] | null>;
}): Promise<unknown[]> {
  const results = await p.exec();
  if (!results) throw new Error('pipeline aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
