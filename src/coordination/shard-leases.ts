/**
 * One shard's lease as {@link ShardLeases.holders} reports it.
 *
 * @example
 * const mine = (await leases.holders(g)).filter((l) => l.holder === podName);
 */
export interface ShardLease {
  readonly shardId: number;
  readonly holder: string;
  /** The fencing epoch issued when this holder acquired the lease. */
  readonly epoch: number;
  /** When the lease lapses unless renewed (ms since the epoch; backend time). */
  readonly expiresAt: number;
}

/**
 * Leases over the shards of a plan generation, with fencing epochs.
 *
 * Every acquisition of `(generation, shardId)` issues a new epoch, strictly greater than every epoch
 * issued before for that pair (backends use `max(previous + 1, now in ms)`, so epochs keep growing even
 * across a wiped Redis). Writers that act for a shard carry `(generation, epoch)` and the store refuses
 * the write unless {@link checkFence} holds, so a paused or partitioned former owner cannot overwrite its
 * successor. Re-acquiring by the same holder is allowed and issues a new epoch (fast restart of a pod
 * with a stable name fences its previous incarnation).
 *
 * @example
 * const lease = await leases.acquire(plan.generation, 7, 'shard-0', 15_000);
 * if (lease) setInterval(async () => {
 *   if (!(await leases.renew(plan.generation, 7, 'shard-0', lease.epoch, 15_000))) dropShard(7);
 * }, 5_000);
 */
export interface ShardLeases {
  /** Takes the lease if it is free, expired, or already ours; `null` when another holder has it. */
  acquire(
    generation: number,
    shardId: number,
    holder: string,
    ttlMs: number,
  ): Promise<{ epoch: number } | null>;
  /** Extends our lease; false if it lapsed, another holder has it, or `epoch` is not the current one. */
  renew(generation: number, shardId: number, holder: string, epoch: number, ttlMs: number): Promise<boolean>;
  /** Gives the lease up (only if `holder` and `epoch` still match); true when it was released. */
  release(generation: number, shardId: number, holder: string, epoch: number): Promise<boolean>;
  /** Every live (unexpired) lease of the generation, ordered by shard id. */
  holders(generation: number): Promise<ShardLease[]>;
  /** The last epoch issued for the pair (0 if never acquired); it never decreases. */
  currentEpoch(generation: number, shardId: number): Promise<number>;
  /** True iff `epoch` belongs to the live current holder of the pair. */
  checkFence(generation: number, shardId: number, epoch: number): Promise<boolean>;
}

/**
 * A fencing token: the generation and epoch a writer acquired its shard lease with.
 *
 * @example
 * sessions.set(3, info, { generation: plan.generation, epoch: lease.epoch });
 */
export interface Fence {
  readonly generation: number;
  readonly epoch: number;
}
