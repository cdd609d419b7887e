import type { Redis } from 'ioredis';
import type { ShardLease, ShardLeases } from '../shard-leases.js';
import type { RedisGuard } from './connection.js';
import type { RedisKeys } from './keys.js';
import { runScript } from './scripts.js';

/**
 * {@link ShardLeases} in Redis: one hash per generation (`lease:<g>`, field per shard holding
 * `epoch|expiresAt|holder`) plus an epoch hash (`lease-epoch:<g>`) that is never deleted; every step is
 * one Lua script using Redis server time.
 *
 * @example
 * const leases = new RedisShardLeases(redis, keys, guard);
 */
export class RedisShardLeases implements ShardLeases {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly guard: RedisGuard,
  ) {}

  acquire(
    generation: number,
    shardId: number,
    holder: string,
    ttlMs: number,
  ): Promise<{ epoch: number } | null> {
    return this.guard('leases.acquire', async () => {
      const r = (await runScript(
        this.redis,
        'leaseAcquire',
        [this.keys.leases(generation), this.keys.epochs(generation)],
        [shardId, holder, Math.ceil(ttlMs)],
      )) as [number, number] | null;
      return r ? { epoch: Number(r[0]) } : null;
    });
  }

  renew(generation: number, shardId: number, holder: string, epoch: number, ttlMs: number): Promise<boolean> {
    return this.guard('leases.renew', async () => {
      const r = await runScript(
        this.redis,
        'leaseRenew',
        [this.keys.leases(generation)],
        [shardId, holder, epochArg(epoch), Math.ceil(ttlMs)],
      );
      return r === 1;
    });
  }

  release(generation: number, shardId: number, holder: string, epoch: number): Promise<boolean> {
    return this.guard('leases.release', async () => {
      const r = await runScript(
        this.redis,
        'leaseRelease',
        [this.keys.leases(generation)],
        [shardId, holder, epochArg(epoch)],
      );
      return r === 1;
    });
  }

  holders(generation: number): Promise<ShardLease[]> {
    return this.guard('leases.holders', async () => {
      const flat = (await runScript(
        this.redis,
        'leaseHolders',
        [this.keys.leases(generation)],
        [],
      )) as string[];
      const out: ShardLease[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const m = /^(\d+)\|(\d+)\|(.*)$/s.exec(flat[i + 1]!);
        if (!m) continue;
        out.push({ shardId: Number(flat[i]), holder: m[3]!, epoch: Number(m[1]), expiresAt: Number(m[2]) });
      }
      return out.sort((a, b) => a.shardId - b.shardId);
    });
  }

  currentEpoch(generation: number, shardId: number): Promise<number> {
    return this.guard('leases.currentEpoch', async () =>
      Number((await this.redis.hget(this.keys.epochs(generation), String(shardId))) ?? 0),
    );
  }

  checkFence(generation: number, shardId: number, epoch: number): Promise<boolean> {
    return this.guard('leases.checkFence', async () => {
      const r = await runScript(
        this.redis,
        'leaseFence',
        [this.keys.leases(generation)],
        [shardId, epochArg(epoch)],
      );
      return r === 1;
    });
  }
}

/**
 * Epochs travel as decimal integer strings (as stored); anything else can never match.
 *
 * @example
 * runScript(redis, 'leaseFence', [key], [shardId, epochArg(epoch)]);
 */
export function epochArg(epoch: number): string {
  return Number.isSafeInteger(epoch) && epoch > 0 ? String(epoch) : 'x';
}
