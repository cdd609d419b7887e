import type { IIdentifyThrottler, WebSocketManager } from '@discordjs/ws';
import type { APIGatewaySessionStartLimit } from 'discord-api-types/v10';
import type { Logger } from '../logging/logger.js';
import { type Clock, systemClock } from './clock.js';
import { CoordinationUnavailableError, IdentifyBudgetExhaustedError, isAbortError } from './errors.js';

/**
 * The shared daily identify budget as the queue tracks it.
 *
 * @example
 * const b = await queue.budget(); if (b && b.remaining < 100) log.warn(b, 'identify budget low');
 */
export interface IdentifyBudget {
  readonly remaining: number;
  readonly total: number;
  readonly resetAfterMs: number;
}

/**
 * A cluster-wide identify throttler. `waitForIdentify` resolves when `shardId` may IDENTIFY: at most one
 * identify per bucket `shardId % maxConcurrency` per window (Discord: 5 s) across every process sharing
 * the backend, and only while the shared daily budget stays at or above the reserve; otherwise it throws
 * {@link IdentifyBudgetExhaustedError}. Each successful wait consumes one session start. The method
 * matches `@discordjs/ws`'s `IIdentifyThrottler`, see {@link identifyThrottler}.
 *
 * @example
 * await queue.sync(gatewayBot.session_start_limit);
 * await queue.waitForIdentify(12, AbortSignal.timeout(60_000));
 */
export interface IdentifyQueue {
  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void>;
  /**
   * Feeds Discord's `session_start_limit` (from `GET /gateway/bot`): sets `max_concurrency` and merges
   * the budget (the shared counter keeps the lower of its own and Discord's `remaining`).
   */
  sync(limit: APIGatewaySessionStartLimit): Promise<void>;
  /** The shared budget, or null when no `sync` happened yet (or it reset and was never re-synced). */
  budget(): Promise<IdentifyBudget | null>;
}

/**
 * Tunables of an identify queue; defaults in {@link IDENTIFY_DEFAULTS}.
 *
 * @example
 * createCoordination({ keyPrefix, log, identify: { reserve: 50 } });
 */
export interface IdentifyOptions {
  /** How long one identify occupies its bucket. */
  readonly windowMs: number;
  /** Identifies are refused when `remaining` would drop below this. */
  readonly reserve: number;
  /** Random extra wait (0..jitterMs) after a bucket frees, so pollers do not stampede. */
  readonly jitterMs: number;
  /** Used until `sync` provides Discord's value. */
  readonly maxConcurrency: number;
  /** When a budget reset time is unknown (counter re-created from `total`), assume this long. */
  readonly assumedResetMs: number;
}

/**
 * Identify queue defaults: Discord's 5 s window, a reserve of 10 session starts, up to 25 ms jitter.
 *
 * @example
 * createCoordination({ keyPrefix, log, identify: { ...IDENTIFY_DEFAULTS, reserve: 50 } });
 */
export const IDENTIFY_DEFAULTS = {
  windowMs: 5_000,
  reserve: 10,
  jitterMs: 25,
  maxConcurrency: 1,
  assumedResetMs: 24 * 60 * 60 * 1000,
} as const satisfies IdentifyOptions;

/**
 * What a backend's atomic "try to identify now" step answers.
 *
 * @example
 * const r: IdentifyAttempt = { kind: 'wait', ms: 1200 };
 */
export type IdentifyAttempt =
  | { readonly kind: 'acquired' }
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'refused'; readonly remaining: number; readonly resetAfterMs: number };

/**
 * Shared wait loop for every backend: tries the atomic step, sleeps until the bucket frees (plus jitter)
 * on `wait`, throws on `refused`. Used by the memory and Redis queues.
 *
 * @example
 * await waitForSlot((bucket) => backend.tryIdentify(bucket), 3 % 16, clock, opts, signal);
 */
export async function waitForSlot(
  attempt: () => Promise<IdentifyAttempt>,
  clock: Clock,
  opts: Pick<IdentifyOptions, 'jitterMs' | 'reserve'>,
  signal: AbortSignal,
  random: () => number = Math.random,
): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    const r = await attempt();
    if (r.kind === 'acquired') return;
    if (r.kind === 'refused')
      throw new IdentifyBudgetExhaustedError(r.remaining, opts.reserve, r.resetAfterMs);
    await clock.sleep(r.ms + Math.floor(random() * (opts.jitterMs + 1)), signal);
  }
}

/**
 * Options of {@link identifyThrottler}.
 *
 * @example
 * identifyThrottler(queue, { log, onBudgetExhausted: () => alerts.inc() });
 */
export interface IdentifyThrottlerOptions {
  readonly log?: Logger;
  readonly clock?: Clock;
  /** Longest pause between retries while the backend is unavailable (starts at 500 ms, doubles). */
  readonly maxRetryDelayMs?: number;
  /** Called when the budget breaker trips; the throttler then waits for the reset instead of failing. */
  readonly onBudgetExhausted?: (err: IdentifyBudgetExhaustedError, shardId: number) => void;
}

/**
 * Adapter for `@discordjs/ws`: a `buildIdentifyThrottler` that syncs the queue with the manager's
 * `GET /gateway/bot` answer and returns an `IIdentifyThrottler` backed by the shared queue. When the
 * budget breaker trips it reports (`onBudgetExhausted`, error log) and waits until the budget resets
 * (abortable) rather than throwing: a throw makes `WebSocketShard` reconnect and try again at once.
 * For the same reason it retries with backoff (logging a warning) while the backend is unavailable.
 *
 * @example
 * const manager = new WebSocketManager({
 *   token, intents, rest, shardCount: plan.totalShards, shardIds: mine,
 *   buildIdentifyThrottler: identifyThrottler(coordination.identify, { log }),
 * });
 */
export function identifyThrottler(
  queue: IdentifyQueue,
  opts: IdentifyThrottlerOptions = {},
): (manager: WebSocketManager) => Promise<IIdentifyThrottler> {
  return async (manager) => {
    const info = await manager.fetchGatewayInformation();
    await queue.sync(info.session_start_limit);
    const clock = opts.clock ?? systemClock;
    return {
      async waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
        let retryDelay = 500;
        for (;;) {
          try {
            await queue.waitForIdentify(shardId, signal);
            return;
          } catch (err) {
            if (err instanceof CoordinationUnavailableError) {
              opts.log?.warn(
                { shardId, err: { message: err.message } },
                'identify queue unavailable; retrying',
              );
              await clock.sleep(retryDelay, signal);
              retryDelay = Math.min(retryDelay * 2, opts.maxRetryDelayMs ?? 10_000);
              continue;
            }
            if (!(err instanceof IdentifyBudgetExhaustedError) || isAbortError(err)) throw err;
            opts.onBudgetExhausted?.(err, shardId);
            opts.log?.error(
              { shardId, remaining: err.remaining, reserve: err.reserve, resetAfterMs: err.resetAfterMs },
              'identify budget breaker tripped; waiting for the daily reset',
            );
            await clock.sleep(Math.max(1_000, err.resetAfterMs), signal);
          }
        }
      },
    };
  };
}
