import { Counter, Histogram, type Registry } from 'prom-client';
import { IdentifyBudgetExhaustedError, isAbortError } from './errors.js';
import type { IdentifyQueue } from './identify-queue.js';
import type { SessionStoreHooks } from './session-store.js';

/**
 * The coordination layer's Prometheus instruments (registered on the given registry, if any).
 *
 * @example
 * const queue = coordinationMetrics(registry, 'redis').wrapIdentify(rawQueue);
 */
export interface CoordinationMetrics {
  readonly sessionHooks: SessionStoreHooks;
  /** Wraps a queue so waits are timed and outcomes counted. */
  wrapIdentify(queue: IdentifyQueue): IdentifyQueue;
  /** Counts an operation that failed because the backend was unavailable. */
  unavailable(operation: string): void;
}

/**
 * Builds the instruments; with no registry they still work but are exported nowhere. Reuses metrics
 * already registered (several coordination instances may share one registry).
 *
 * @example
 * const m = coordinationMetrics(ctx.metrics, 'redis');
 */
export function coordinationMetrics(
  registry: Registry | undefined,
  backend: 'memory' | 'redis',
): CoordinationMetrics {
  const registers = registry ? [registry] : [];
  const existing = <M>(name: string): M | undefined => registry?.getSingleMetric(name) as M | undefined;
  const identifyWait =
    existing<Histogram<'backend' | 'outcome'>>('guildhall_identify_wait_seconds') ??
    new Histogram({
      name: 'guildhall_identify_wait_seconds',
      help: 'Time shards waited in the shared identify queue, by outcome (granted, refused, aborted, error).',
      labelNames: ['backend', 'outcome'],
      buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
  const sessionWrites =
    existing<Counter<'backend' | 'result'>>('guildhall_session_writes_total') ??
    new Counter({
      name: 'guildhall_session_writes_total',
      help: 'Session writes persisted by debounced flushes (result: written, refused by fencing).',
      labelNames: ['backend', 'result'],
      registers,
    });
  const unavailable =
    existing<Counter<'backend' | 'operation'>>('guildhall_coordination_unavailable_total') ??
    new Counter({
      name: 'guildhall_coordination_unavailable_total',
      help: 'Coordination operations that failed because the backend was unreachable or timed out.',
      labelNames: ['backend', 'operation'],
      registers,
    });
  return {
    sessionHooks: {
      onFlush(writes, refused) {
        sessionWrites.inc({ backend, result: 'written' }, writes - refused);
        if (refused > 0) sessionWrites.inc({ backend, result: 'refused' }, refused);
      },
    },
    wrapIdentify(queue) {
      return {
        async waitForIdentify(shardId, signal) {
          const end = identifyWait.startTimer({ backend });
          try {
            await queue.waitForIdentify(shardId, signal);
            end({ outcome: 'granted' });
          } catch (err) {
            end({
              outcome:
                err instanceof IdentifyBudgetExhaustedError
                  ? 'refused'
                  : isAbortError(err)
                    ? 'aborted'
                    : 'error',
            });
            throw err;
          }
        },
        sync: (limit) => queue.sync(limit),
        budget: () => queue.budget(),
      };
    },
    unavailable(operation) {
      unavailable.inc({ backend, operation });
    },
  };
}
