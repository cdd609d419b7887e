import type { Cache, ShardLeases } from '../coordination/index.js';

/**
 * What a shard pod writes when one of its shards is READY: who holds it and with which lease epoch.
 *
 * @example
 * const r: ShardReadyRecord = { holder: 'guildhall-shard-0', epoch: 1733, at: Date.now() };
 */
export interface ShardReadyRecord {
  readonly holder: string;
  readonly epoch: number;
  /** When the pod last (re)wrote the record (ms since the epoch, the pod's clock). */
  readonly at: number;
}

/**
 * The cache key of a shard's READY record: `reshard:<generation>:ready:<shardId>` (in Redis:
 * `<prefix>cache:v:reshard:<generation>:ready:<shardId>`).
 *
 * @example
 * shardReadyKey(4, 7); // 'reshard:4:ready:7'
 */
export function shardReadyKey(generation: number, shardId: number): string {
  return `reshard:${generation}:ready:${shardId}`;
}

/**
 * The cache tag every READY record of a generation carries; the controller invalidates it when the
 * generation is rolled back or drained.
 *
 * @example
 * await cache.invalidateTag(shardReadyTag(4));
 */
export function shardReadyTag(generation: number): string {
  return `reshard:${generation}:ready`;
}

/**
 * Identity of a held shard lease, as passed to {@link markShardReady}.
 *
 * @example
 * const held: HeldShard = { generation: 4, shardId: 7, holder: podName, epoch: lease.epoch };
 */
export interface HeldShard {
  readonly generation: number;
  readonly shardId: number;
  readonly holder: string;
  readonly epoch: number;
}

/**
 * Pod side of the readiness contract: call when the shard's session is READY (READY dispatch received
 * and the initial GUILD_CREATE burst processed) and again on every lease renewal while it stays READY
 * (the record expires after `ttlMs`; use the lease TTL). The controller counts the shard as ready only
 * while the record's holder and epoch equal the live lease's, so a record left behind by a former
 * holder never counts.
 *
 * @example
 * await markShardReady(coordination.cache, { generation: 4, shardId: 7, holder: podName, epoch }, config.shard.leaseTtlMs);
 */
export async function markShardReady(
  cache: Pick<Cache, 'set'>,
  shard: HeldShard,
  ttlMs: number,
  now: number = Date.now(),
): Promise<void> {
  const record: ShardReadyRecord = { holder: shard.holder, epoch: shard.epoch, at: now };
  await cache.set(shardReadyKey(shard.generation, shard.shardId), record, ttlMs, [
    shardReadyTag(shard.generation),
  ]);
}

/**
 * Pod side: call when a shard stops being READY (disconnect, invalid session, lease lost or released).
 *
 * @example
 * await clearShardReady(coordination.cache, 4, 7);
 */
export async function clearShardReady(
  cache: Pick<Cache, 'delete'>,
  generation: number,
  shardId: number,
): Promise<void> {
  await cache.delete(shardReadyKey(generation, shardId));
}

/**
 * One shard of a generation as the controller observes it.
 *
 * @example
 * const s: ShardObservation = { shardId: 3, holder: 'guildhall-shard-0', epoch: 17, ready: true };
 */
export interface ShardObservation {
  readonly shardId: number;
  readonly holder: string | null;
  readonly epoch: number | null;
  readonly ready: boolean;
}

/**
 * Lease and readiness counts of one generation.
 *
 * @example
 * const r = await observeGeneration(coordination, 4, 12);
 * if (r.ready === r.total) cutOver();
 */
export interface GenerationReadiness {
  readonly generation: number;
  readonly total: number;
  readonly leased: number;
  readonly ready: number;
  readonly shards: readonly ShardObservation[];
}

/**
 * Controller side: reads the live leases of a generation and each shard's READY record; a shard is
 * ready iff it is leased and its record matches the lease's holder and epoch.
 *
 * @example
 * const { ready, total } = await observeGeneration(coordination, plan.next.generation, plan.next.totalShards);
 */
export async function observeGeneration(
  coordination: { readonly leases: Pick<ShardLeases, 'holders'>; readonly cache: Pick<Cache, 'get'> },
  generation: number,
  totalShards: number,
): Promise<GenerationReadiness> {
  const leases = new Map(
    (await coordination.leases.holders(generation))
      .filter((l) => l.shardId < totalShards)
      .map((l) => [l.shardId, l]),
  );
  const records = await Promise.all(
    Array.from({ length: totalShards }, (_, s) =>
      leases.has(s)
        ? coordination.cache.get<ShardReadyRecord>(shardReadyKey(generation, s))
        : Promise.resolve(undefined),
    ),
  );
  const shards: ShardObservation[] = records.map((record, shardId) => {
    const lease = leases.get(shardId);
    return {
      shardId,
      holder: lease?.holder ?? null,
      epoch: lease?.epoch ?? null,
      ready:
        lease !== undefined &&
        record !== undefined &&
        record.holder === lease.holder &&
        record.epoch === lease.epoch,
    };
  });
  return {
    generation,
    total: totalShards,
    leased: leases.size,
    ready: shards.filter((s) => s.ready).length,
    shards,
  };
}
