import type { ShardLeases } from '../coordination/index.js';
import type { LeaderLock, LockAttempt } from './leader-election.js';

/**
 * The lease generation reserved for the controller's leader lock (shard plans start at 1), so
 * `leases.holders(CONTROLLER_LOCK_GENERATION)` names the leader.
 *
 * @example
 * const [leader] = await coordination.leases.holders(CONTROLLER_LOCK_GENERATION);
 */
export const CONTROLLER_LOCK_GENERATION = -1;

/**
 * Options of {@link coordinationLock}.
 *
 * @example
 * const opts: CoordinationLockOptions = { identity: 'controller-0_ab12', leaseDurationMs: 15_000 };
 */
export interface CoordinationLockOptions {
  readonly identity: string;
  readonly leaseDurationMs: number;
  /** Lock slot within the reserved generation (default 0); distinct names use distinct slots. */
  readonly slot?: number | undefined;
}

/**
 * A {@link LeaderLock} over the coordination leases (Redis when `REDIS_URL` is set, memory in role
 * `all`): a fenced lease on a reserved generation. Acquire and renew are single atomic steps in Redis
 * (server time decides expiry); a renewal refused because the epoch changed or the lease lapsed means
 * someone else may lead now.
 *
 * @example
 * const lock = coordinationLock(coordination.leases, { identity, leaseDurationMs: 15_000 });
 */
export function coordinationLock(leases: ShardLeases, opts: CoordinationLockOptions): LeaderLock {
  const slot = opts.slot ?? 0;
  const g = CONTROLLER_LOCK_GENERATION;
  let epoch: number | null = null;
  const holder = async (): Promise<string | null> =>
    (await leases.holders(g)).find((l) => l.shardId === slot)?.holder ?? null;
  return {
    description: `coordination lease ${g}/${slot}`,
    async tryAcquireOrRenew(signal): Promise<LockAttempt> {
      signal.throwIfAborted();
      if (epoch !== null) {
        if (await leases.renew(g, slot, opts.identity, epoch, opts.leaseDurationMs)) return { held: true };
        epoch = null;
        return { held: false, holder: await holder() };
      }
      const got = await leases.acquire(g, slot, opts.identity, opts.leaseDurationMs);
      if (got) {
        epoch = got.epoch;
        return { held: true };
      }
      return { held: false, holder: await holder() };
    },
    async release() {
      if (epoch === null) return;
      const e = epoch;
      epoch = null;
      await leases.release(g, slot, opts.identity, e);
    },
  };
}
