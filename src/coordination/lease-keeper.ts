import type { Logger } from '../logging/logger.js';
import { type Clock, systemClock } from './clock.js';
import { CoordinationUnavailableError, isAbortError } from './errors.js';
import type { Fence, ShardLeases } from './shard-leases.js';

/** Why a held lease was lost: another holder / expiry (`taken`), or no successful renewal in time (`unreachable`). */
export type LeaseLossReason = 'taken' | 'unreachable';

/**
 * A lease kept alive by {@link holdLease}.
 *
 * @example
 * const held = await holdLease(leases, { generation: 3, shardId: 7, holder: pod, ttlMs: 15_000, onLost: drop });
 * if (held) sessions.set(7, info, held.fence);
 */
export interface HeldLease {
  readonly generation: number;
  readonly shardId: number;
  readonly epoch: number;
  /** Pass this with every write made for the shard. */
  readonly fence: Fence;
  /** True once `onLost` fired (or after release). */
  readonly lost: boolean;
  /** Stops renewing and releases the lease (best effort). */
  release(): Promise<void>;
}

/**
 * Options of {@link holdLease}.
 *
 * @example
 * const opts: HoldLeaseOptions = { generation: 3, shardId: 7, holder: 'shard-0', ttlMs: 15_000, onLost: (r) => drop(7, r) };
 */
export interface HoldLeaseOptions {
  readonly generation: number;
  readonly shardId: number;
  readonly holder: string;
  readonly ttlMs: number;
  /** Called once when the lease is lost; stop acting for the shard at once. */
  readonly onLost: (reason: LeaseLossReason) => void;
  readonly clock?: Clock;
  readonly log?: Logger;
}

/**
 * Acquires a shard lease and keeps it: renews every TTL/3; a refused renewal means another holder or
 * expiry, so `onLost('taken')` fires at once. While the backend is unreachable it retries (every
 * TTL/10) until the lease would have lapsed by its own last successful renewal (minus a safety margin
 * of TTL/6 for clock drift), then fires `onLost('unreachable')`: a pod cut off from Redis stops acting
 * before any successor can have taken over. Returns null when someone else holds the lease.
 *
 * @example
 * const held = await holdLease(coordination.leases, {
 *   generation: plan.generation, shardId: 7, holder: podName, ttlMs: config.shard.leaseTtlMs,
 *   onLost: (reason) => void manager.destroy({ code: CloseCodes.Resuming, reason }),
 * });
 */
export async function holdLease(leases: ShardLeases, opts: HoldLeaseOptions): Promise<HeldLease | null> {
  const clock = opts.clock ?? systemClock;
  const { generation, shardId, holder, ttlMs } = opts;
  const startedAt = clock.now();
  const got = await leases.acquire(generation, shardId, holder, ttlMs);
  if (!got) return null;
  const { epoch } = got;
  const stop = new AbortController();
  let lost = false;
  let lastOk = startedAt;
  const lose = (reason: LeaseLossReason) => {
    if (lost) return;
    lost = true;
    stop.abort();
    opts.log?.warn({ generation, shardId, epoch, reason }, 'shard lease lost');
    opts.onLost(reason);
  };

  void (async () => {
    let delay = ttlMs / 3;
    while (!stop.signal.aborted) {
      try {
        await clock.sleep(delay, stop.signal);
      } catch (err) {
        if (isAbortError(err)) return;
        throw err;
      }
      const attemptAt = clock.now();
      try {
        if (await leases.renew(generation, shardId, holder, epoch, ttlMs)) {
          lastOk = attemptAt;
          delay = ttlMs / 3;
        } else if (!stop.signal.aborted) {
          lose('taken');
        }
      } catch (err) {
        if (stop.signal.aborted) return;
        if (!(err instanceof CoordinationUnavailableError))
          opts.log?.error({ err, shardId }, 'lease renewal failed');
        const deadline = lastOk + ttlMs - ttlMs / 6;
        if (clock.now() >= deadline) lose('unreachable');
        else delay = Math.min(ttlMs / 10, Math.max(0, deadline - clock.now()));
      }
    }
  })();

  return {
    generation,
    shardId,
    epoch,
    fence: { generation, epoch },
    get lost() {
      return lost;
    },
    async release() {
      const wasLost = lost;
      lost = true;
      stop.abort();
      if (wasLost) return;
      try {
        await leases.release(generation, shardId, holder, epoch);
      } catch (err) {
        opts.log?.warn({ err, shardId }, 'lease release failed; it will expire');
      }
    },
  };
}
