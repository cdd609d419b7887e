import { type Clock, isAbortError, systemClock } from '../coordination/index.js';
import type { Logger } from '../logging/logger.js';

/**
 * Runs a callback only while this process is the elected leader.
 *
 * `run` campaigns until `signal` aborts. Whenever leadership is gained it calls
 * `onStartedLeading(leading)`; the moment leadership is lost (renewal refused, or no successful renewal
 * within the renew deadline) `leading` aborts, and once the callback has returned `onStoppedLeading`
 * runs and campaigning resumes. On `signal` abort it stops leading, waits for the callback, and gives
 * the lock up so a standby takes over at once.
 *
 * @example
 * const stop = new AbortController();
 * await elector.run((leading) => reconcileLoop(leading), () => log.warn('no longer leading'), stop.signal);
 */
export interface LeaderElector {
  readonly identity: string;
  readonly isLeader: boolean;
  run(
    onStartedLeading: (leading: AbortSignal) => Promise<void> | void,
    onStoppedLeading: () => void,
    signal: AbortSignal,
  ): Promise<void>;
}

/**
 * The answer of one {@link LeaderLock.tryAcquireOrRenew}: `held` (we hold the lock now), `taken`
 * (someone else holds a live lock).
 *
 * @example
 * const r: LockAttempt = { held: false, holder: 'controller-b' };
 */
export type LockAttempt = { readonly held: true } | { readonly held: false; readonly holder: string | null };

/**
 * The resource a {@link LeaderElector} campaigns on (client-go's `resourcelock.Interface`, reduced):
 * a Kubernetes Lease, or a coordination lease in Redis. Errors (unreachable backend, 409, timeouts)
 * are thrown and count as a failed attempt.
 *
 * @example
 * const lock: LeaderLock = coordinationLock(coordination.leases, { identity, leaseDurationMs: 15_000 });
 */
export interface LeaderLock {
  /** Human description for logs, e.g. `Lease default/guildhall-controller`. */
  readonly description: string;
  /** Takes the lock if free or expired, renews it if ours. */
  tryAcquireOrRenew(signal: AbortSignal): Promise<LockAttempt>;
  /** Gives the lock up if we still hold it (best effort). */
  release(): Promise<void>;
}

/**
 * Timings of leader election, like client-go's: a standby takes over `leaseDurationMs` after the last
 * renewal it saw; the leader gives up when it could not renew within `renewDeadlineMs` of its last
 * successful renewal; attempts happen every `retryPeriodMs`. Requires
 * retryPeriod < renewDeadline < leaseDuration, so the leader always stops acting before anyone else
 * may start.
 *
 * @example
 * const t: LeaderElectionTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
 */
export interface LeaderElectionTimings {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

/**
 * client-go's defaults: 15 s lease, 10 s renew deadline, 2 s retry period.
 *
 * @example
 * createLeaderElector({ lock, identity, log, ...LEADER_ELECTION_DEFAULTS });
 */
export const LEADER_ELECTION_DEFAULTS = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
} as const satisfies LeaderElectionTimings;

/**
 * Checks the ordering retryPeriod < renewDeadline < leaseDuration; returns the problems (empty: fine).
 *
 * @example
 * const problems = checkTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 20_000, retryPeriodMs: 2_000 });
 */
export function checkTimings(t: LeaderElectionTimings): string[] {
  const problems: string[] = [];
  if (!(t.renewDeadlineMs < t.leaseDurationMs))
    problems.push(
      `renew deadline (${t.renewDeadlineMs} ms) must be shorter than the lease duration (${t.leaseDurationMs} ms)`,
    );
  if (!(t.retryPeriodMs < t.renewDeadlineMs))
    problems.push(
      `retry period (${t.retryPeriodMs} ms) must be shorter than the renew deadline (${t.renewDeadlineMs} ms)`,
    );
  return problems;
}

/**
 * Options of {@link createLeaderElector}.
 *
 * @example
 * const opts: LeaderElectorOptions = { lock, identity: 'controller-0_1a2b', log, ...LEADER_ELECTION_DEFAULTS };
 */
export interface LeaderElectorOptions extends Partial<LeaderElectionTimings> {
  readonly lock: LeaderLock;
  readonly identity: string;
  readonly log: Logger;
  readonly clock?: Clock | undefined;
  /** Told whenever leadership changes (metrics). */
  readonly onLeadershipChange?: ((leading: boolean) => void) | undefined;
}

/** Thrown into the leading signal when leadership is lost. */
class LeadershipLostError extends Error {
  constructor(reason: string) {
    super(`leadership lost: ${reason}`);
    this.name = 'AbortError';
  }
}

/**
 * The leader election engine over any {@link LeaderLock} (Kubernetes Lease or coordination lease).
 *
 * @example
 * const elector = createLeaderElector({ lock: kubeLeaseLock(api, { name, namespace, identity, leaseDurationMs }), identity, log });
 */
export function createLeaderElector(opts: LeaderElectorOptions): LeaderElector {
  const t: LeaderElectionTimings = {
    leaseDurationMs: opts.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs,
    renewDeadlineMs: opts.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs,
    retryPeriodMs: opts.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs,
  };
  const problems = checkTimings(t);
  if (problems.length > 0) throw new Error(`invalid leader election timings: ${problems.join('; ')}`);
  const clock = opts.clock ?? systemClock;
  const log = opts.log.child({ lock: opts.lock.description, identity: opts.identity });
  let leader = false;

  const setLeader = (v: boolean) => {
    leader = v;
    opts.onLeadershipChange?.(v);
  };

  /** One attempt, bounded by `timeoutMs` and by `signal`. */
  const attempt = async (signal: AbortSignal, timeoutMs: number): Promise<LockAttempt | Error> => {
    const bound = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, timeoutMs))]);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<Error>((resolve) => {
      onAbort = () => resolve(new Error(`attempt aborted after ${timeoutMs} ms or on shutdown`));
      if (bound.aborted) onAbort();
      else bound.addEventListener('abort', onAbort, { once: true });
    });
    try {
      // A lock that ignores the signal cannot hold the loop past the bound.
      return await Promise.race([opts.lock.tryAcquireOrRenew(bound), aborted]);
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    } finally {
      if (onAbort) bound.removeEventListener('abort', onAbort);
    }
  };

  const sleep = async (ms: number, signal: AbortSignal) => {
    try {
      await clock.sleep(ms, signal);
    } catch (err) {
      if (!isAbortError(err)) throw err;
    }
  };

  return {
    identity: opts.identity,
    get isLeader() {
      return leader;
    },
    async run(onStartedLeading, onStoppedLeading, signal) {
      let lastHolder: string | null | undefined;
      let lastFailure: string | undefined;
      while (!signal.aborted) {
        // Campaign: try every retry period (with up to 20 % jitter, like client-go's JitterUntil).
        const startedAt = clock.now();
        const r = await attempt(signal, t.renewDeadlineMs);
        if (signal.aborted) break;
        if (r instanceof Error || !r.held) {
          const holder = r instanceof Error ? undefined : r.holder;
          if (r instanceof Error) {
            // Once per distinct failure (e.g. 403: the Role is missing), not on every retry.
            if (r.message !== lastFailure)
              log.warn({ err: { message: r.message } }, 'leader election attempt failed');
            lastFailure = r.message;
          } else {
            lastFailure = undefined;
            if (holder !== lastHolder) log.info({ leader: holder }, 'another controller leads');
          }
          lastHolder = holder ?? lastHolder;
          await sleep(t.retryPeriodMs * (1 + Math.random() * 0.2), signal);
          continue;
        }

        // Leading.
        let lastRenew = startedAt;
        const leading = new AbortController();
        const lose = (reason: string) => {
          if (leading.signal.aborted) return;
          log.warn({ reason }, 'stopped leading');
          leading.abort(new LeadershipLostError(reason));
        };
        let deadline: AbortController | undefined;
        const armDeadline = () => {
          deadline?.abort();
          const d = new AbortController();
          deadline = d;
          clock.sleep(Math.max(0, lastRenew + t.renewDeadlineMs - clock.now()), d.signal).then(
            () => lose(`no successful renewal within ${t.renewDeadlineMs} ms`),
            () => undefined,
          );
        };
        armDeadline();
        setLeader(true);
        lastHolder = opts.identity;
        log.info('started leading');
        const work = (async () => {
          try {
            await onStartedLeading(leading.signal);
          } catch (err) {
            if (!isAbortError(err)) log.error({ err }, 'leader callback failed');
          }
        })();

        const both = AbortSignal.any([signal, leading.signal]);
        while (!both.aborted) {
          await sleep(t.retryPeriodMs, both);
          if (both.aborted) break;
          const at = clock.now();
          const renewed = await attempt(both, lastRenew + t.renewDeadlineMs - at);
          if (both.aborted) break;
          if (renewed instanceof Error) {
            log.warn({ err: { message: renewed.message } }, 'lease renewal failed; retrying');
          } else if (renewed.held) {
            lastRenew = at;
            armDeadline();
          } else {
            lose(`lease taken by ${renewed.holder ?? 'nobody'}`);
          }
        }
        deadline?.abort();
        const lost = leading.signal.aborted;
        if (!lost) leading.abort(new LeadershipLostError('shutting down'));
        setLeader(false);
        await work;
        onStoppedLeading();
        if (!lost) {
          try {
            await opts.lock.release();
            log.info('released leadership');
          } catch (err) {
            log.warn({ err }, 'could not release the lock; it will expire');
          }
        }
      }
    },
  };
}
