import type { ShardLease, ShardLeases } from '../shard-leases.js';
import type { MemoryHub } from './hub.js';

/**
 * In-process {@link ShardLeases} over a {@link MemoryHub}; time from the hub's clock.
 *
 * @example
 * const leases = new MemoryShardLeases(hub);
 */
export class MemoryShardLeases implements ShardLeases {
  constructor(private readonly hub: MemoryHub) {}

  async acquire(
    generation: number,
    shardId: number,
    holder: string,
    ttlMs: number,
  ): Promise<{ epoch: number } | null> {
    const k = key(generation, shardId);
    const now = this.hub.clock.now();
    const cur = this.hub.leases.get(k);
    if (cur && cur.expiresAt > now && cur.holder !== holder) return null;
    const epoch = Math.max((this.hub.epochs.get(k) ?? 0) + 1, Math.floor(now));
    this.hub.epochs.set(k, epoch);
    this.hub.leases.set(k, { holder, epoch, expiresAt: now + ttlMs });
    return { epoch };
  }

  async renew(
    generation: number,
    shardId: number,
    holder: string,
    epoch: number,
    ttlMs: number,
  ): Promise<boolean> {
    const now = this.hub.clock.now();
    const cur = this.hub.leases.get(key(generation, shardId));
    if (!cur || cur.expiresAt <= now || cur.holder !== holder || cur.epoch !== epoch) return false;
    cur.expiresAt = now + ttlMs;
    return true;
  }

  async release(generation: number, shardId: number, holder: string, epoch: number): Promise<boolean> {
    const k = key(generation, shardId);
    const cur = this.hub.leases.get(k);
    if (!cur || cur.holder !== holder || cur.epoch !== epoch) return false;
    this.hub.leases.delete(k);
    return cur.expiresAt > this.hub.clock.now();
  }

  async holders(generation: number): Promise<ShardLease[]> {
    const now = this.hub.clock.now();
    const prefix = `${generation}:`;
    const out: ShardLease[] = [];
    for (const [k, l] of this.hub.leases) {
      if (!k.startsWith(prefix) || l.expiresAt <= now) continue;
      out.push({
        shardId: Number(k.slice(prefix.length)),
        holder: l.holder,
        epoch: l.epoch,
        expiresAt: l.expiresAt,
      });
    }
    return out.sort((a, b) => a.shardId - b.shardId);
  }

  async currentEpoch(generation: number, shardId: number): Promise<number> {
    return this.hub.epochs.get(key(generation, shardId)) ?? 0;
  }

  async checkFence(generation: number, shardId: number, epoch: number): Promise<boolean> {
    return this.checkFenceNow(generation, shardId, epoch);
  }

  /** Synchronous fence check, for other memory backends (session store). */
  checkFenceNow(generation: number, shardId: number, epoch: number): boolean {
    const cur = this.hub.leases.get(key(generation, shardId));
    return cur !== undefined && cur.epoch === epoch && cur.expiresAt > this.hub.clock.now();
  }
}

function key(generation: number, shardId: number): string {
  return `${generation}:${shardId}`;
}
