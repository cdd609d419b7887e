import { randomBytes } from 'node:crypto';
import type { CogContext } from './context.js';
import type { Cog } from './define-cog.js';
import type { CogHostMetrics } from './metrics.js';
import type { InstanceScheduler } from './scheduler.js';

/** One loaded cog: its definition, its context and the scheduler that dies with it. */
export interface CogInstance {
  readonly cog: Cog;
  readonly ctx: CogContext<unknown>;
  readonly scheduler: InstanceScheduler;
  /** Sequence number of the instance (a reload makes a new one). */
  readonly instance: number;
}

/**
 * Runs one handler of an instance: times it, and on error logs it with cog, guild, event and a short
 * ref, counts it, and returns the ref (null on success). Never throws.
 *
 * @example
 * const ref = await runGuarded(metrics, inst, 'MESSAGE_CREATE', guildId, () => handler(d, inst.ctx, meta));
 */
export async function runGuarded(
  metrics: CogHostMetrics,
  inst: CogInstance,
  event: string,
  guildId: string | null,
  fn: () => unknown,
): Promise<string | null> {
  const end = metrics.handlerDuration.startTimer({ cog: inst.cog.name, event });
  try {
    await fn();
    return null;
  } catch (err) {
    const ref = shortRef();
    metrics.handlerErrors.inc({ cog: inst.cog.name, event });
    inst.ctx.log.error({ err, guildId, event, ref }, 'cog handler failed');
    return ref;
  } finally {
    end();
  }
}

/**
 * A short id users can quote and operators can grep for (8 hex characters).
 *
 * @example
 * log.error({ ref: shortRef() }, 'failed');
 */
export function shortRef(): string {
  return randomBytes(4).toString('hex');
}
