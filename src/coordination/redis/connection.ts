import { Redis, type RedisOptions, ReplyError } from 'ioredis';
import type { Logger } from '../../logging/logger.js';
import { CoordinationUnavailableError } from '../errors.js';
import type { CoordinationMetrics } from '../metrics.js';

/**
 * How the Redis clients behave when Redis is slow or gone. Every coordination call either answers or
 * fails with {@link CoordinationUnavailableError} within about `commandTimeoutMs`; nothing hangs, and no
 * command runs after its caller was told it failed.
 *
 * - `enableOfflineQueue: false` (default): while disconnected, commands fail at once instead of being
 *   parked. ioredis' `commandTimeout` rejects a parked command but leaves it queued, and it then runs
 *   after the reconnect although its caller already gave up: a late identify lock plus a spent budget
 *   slot, a phantom lease or claim. Every caller here retries on its own schedule (lease renewal every
 *   TTL/3, identify backoff, session re-flush), so failing fast is the safe choice. `true` absorbs short
 *   blips instead, at the price of such late executions.
 * - `autoResendUnfulfilledCommands: false` (always): commands in flight when the connection drops are
 *   failed (timeout or retry limit), never silently re-sent after the reconnect, for the same reason.
 * - `commandTimeoutMs` (ioredis `commandTimeout`): the bound on a command that was sent but not answered
 *   (a hung server or a black-holed connection).
 * - `maxRetriesPerRequest` (default 1): in-flight commands are failed after this many reconnect attempts
 *   (ioredis' default 20 keeps them for many seconds); whichever bound hits first wins.
 * - `connectTimeoutMs`: bound of one connection attempt; also how long a new client (startup, the lazily
 *   opened pub/sub and blocking connections) may wait for its first `ready`.
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
  enableOfflineQueue: false,
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
    autoResendUnfulfilledCommands: false,
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
  firstReady.set(redis, new Promise<void>((resolve) => redis.once('ready', () => resolve())));
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

const firstReady = new WeakMap<Redis, Promise<void>>();
const NOT_READY = 'Redis connection not ready';

/**
 * Resolves once a client opened by {@link openRedis} has been ready at least once (instantly after
 * that); rejects with an unavailability error after `timeoutMs`. With the offline queue off, a fresh
 * client must not be used before its first `ready`; later disconnects should fail fast instead.
 *
 * @example
 * await untilFirstReady(subscriber, REDIS_CONNECTION_DEFAULTS.connectTimeoutMs);
 */
export async function untilFirstReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  const ready = firstReady.get(redis) ?? Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${NOT_READY} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const UNAVAILABLE_REPLIES = ['LOADING', 'BUSY', 'READONLY', 'MASTERDOWN', 'TRYAGAIN', 'CLUSTERDOWN'];
const UNAVAILABLE_MESSAGES = [
  'Command timed out',
  'Connection is closed.',
  "Stream isn't writeable",
  'pipeline aborted',
  NOT_READY,
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
