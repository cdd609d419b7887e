import type { Registry } from 'prom-client';
import { type Config, type Role, loadConfig } from './config/index.js';
import { type Coordination, createCoordination } from './coordination/index.js';
import { Lifecycle } from './lifecycle.js';
import { type Logger, createLogger } from './logging/logger.js';
import { createMetricsRegistry } from './metrics/registry.js';

/**
 * What every role receives at start: the parsed config, a logger, the metrics registry and the lifecycle
 * to register shutdown hooks on. Nothing else is global.
 */
export interface RoleContext {
  /** The role running, or `tool` for one-shot commands (migrate, token issue) that need no role's secrets. */
  readonly role: Role | 'tool';
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Registry;
  readonly lifecycle: Lifecycle;
}

/** Builds a {@link RoleContext} from an environment (parsing it once). Throws ConfigError on bad input. */
export function createRoleContext(
  role: Role | 'tool',
  env?: Record<string, string | undefined>,
): RoleContext {
  const config = loadConfig(env, role);
  const log = createLogger({ level: config.log.level }).child({ role });
  const metrics = createMetricsRegistry({ role, defaultMetrics: config.metrics.defaultMetrics });
  const lifecycle = new Lifecycle(log, config.shutdown.timeoutMs);
  return { role, config, log, metrics, lifecycle };
}

/**
 * Builds the coordination services from the config (Redis when `REDIS_URL` is set, memory otherwise) and
 * registers their close on the lifecycle. One per process; in role `all` every role shares it.
 *
 * @example
 * const coordination = await openCoordination(ctx);
 */
export async function openCoordination(ctx: RoleContext): Promise<Coordination> {
  const { config } = ctx;
  const coordination = await createCoordination({
    redisUrl: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    log: ctx.log.child({ module: 'coordination' }),
    metrics: ctx.metrics,
    identify: {
      reserve: config.coordination.identifyReserve,
      windowMs: config.coordination.identifyWindowMs,
    },
    sessions: { flushIntervalMs: config.coordination.sessionFlushMs },
    redis: { commandTimeoutMs: config.coordination.redisCommandTimeoutMs },
  });
  ctx.lifecycle.onShutdown('coordination', () => coordination.close());
  return coordination;
}
