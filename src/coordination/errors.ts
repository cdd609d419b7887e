import { AppError } from '../errors/app-error.js';

/**
 * The coordination backend (Redis) could not be reached or did not answer in time. Operations fail
 * with this error within a bound (see `src/coordination/redis/connection.ts`) instead of hanging; the
 * caller decides whether to retry, drop a shard, or report not-ready.
 *
 * @example
 * try { await leases.renew(g, s, pod, epoch, ttl); }
 * catch (err) { if (err instanceof CoordinationUnavailableError) dropShard(s); else throw err; }
 */
export class CoordinationUnavailableError extends AppError {
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    super(
      503,
      'coordination_unavailable',
      `Coordination backend unavailable during ${operation}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { operation },
      { cause },
    );
    this.name = 'CoordinationUnavailableError';
  }
}

/**
 * Identifying now would take the daily identify budget (`session_start_limit.remaining`) below the
 * configured reserve. Discord resets the bot token when the budget is exhausted, so the queue refuses.
 *
 * @example
 * catch (err) { if (err instanceof IdentifyBudgetExhaustedError) await sleep(err.resetAfterMs); }
 */
export class IdentifyBudgetExhaustedError extends AppError {
  constructor(
    readonly remaining: number,
    readonly reserve: number,
    readonly resetAfterMs: number,
  ) {
    super(
      503,
      'identify_budget_exhausted',
      `Identify refused: ${remaining} session starts left, reserve is ${reserve}; resets in ${Math.ceil(resetAfterMs / 1000)} s`,
      { remaining, reserve, resetAfterMs },
    );
    this.name = 'IdentifyBudgetExhaustedError';
  }
}

/**
 * True for the `AbortError` a Clock's sleep (or an aborted wait) rejects with.
 *
 * @example
 * catch (err) { if (isAbortError(err)) return; throw err; }
 */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}
