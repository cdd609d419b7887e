import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logging/logger.js';
import { SimulatedClock } from './clock.js';
import { CoordinationUnavailableError } from './errors.js';
import { type LeaseLossReason, holdLease } from './lease-keeper.js';
import { MemoryHub, createMemoryCoordination } from './memory/index.js';
import type { ShardLeases } from './shard-leases.js';

function setup() {
  const clock = new SimulatedClock(1_000_000);
  const hub = new MemoryHub(clock);
  const a = createMemoryCoordination({ hub, log: silentLogger() });
  const b = createMemoryCoordination({ hub, log: silentLogger() });
  return { clock, hub, a, b };
}

describe('holdLease', () => {
  it('keeps the lease alive far beyond its TTL and releases it on request', async () => {
    const { clock, a, b } = setup();
    const losses: LeaseLossReason[] = [];
    const held = await holdLease(a.leases, {
      generation: 1,
      shardId: 4,
      holder: 'pod-a',
      ttlMs: 15_000,
      clock,
      onLost: (r) => losses.push(r),
    });
    expect(held).not.toBeNull();
    await clock.advance(120_000);
    expect(losses).toEqual([]);
    expect(await b.leases.acquire(1, 4, 'pod-b', 15_000)).toBeNull();
    expect(await b.leases.checkFence(1, 4, held!.fence.epoch)).toBe(true);
    await held!.release();
    expect(await b.leases.acquire(1, 4, 'pod-b', 15_000)).not.toBeNull();
    await clock.advance(60_000);
    expect(losses).toEqual([]);
  });

  it('returns null when another holder has the lease', async () => {
    const { clock, a, b } = setup();
    await b.leases.acquire(1, 4, 'pod-b', 15_000);
    expect(
      await holdLease(a.leases, {
        generation: 1,
        shardId: 4,
        holder: 'pod-a',
        ttlMs: 15_000,
        clock,
        onLost: () => {},
      }),
    ).toBeNull();
  });

  it('reports "taken" at the first refused renewal', async () => {
    const { clock, hub, a, b } = setup();
    const losses: LeaseLossReason[] = [];
    const held = await holdLease(a.leases, {
      generation: 1,
      shardId: 4,
      holder: 'pod-a',
      ttlMs: 15_000,
      clock,
      onLost: (r) => losses.push(r),
    });
    hub.leases.delete('1:4'); // e.g. an operator or a wiped Redis
    await b.leases.acquire(1, 4, 'pod-b', 15_000);
    await clock.advance(5_000);
    expect(losses).toEqual(['taken']);
    expect(held!.lost).toBe(true);
  });

  it('reports "unreachable" before the lease can lapse when the backend stays down', async () => {
    const { clock, a } = setup();
    let down = false;
    const flaky: ShardLeases = {
      acquire: (...args) => a.leases.acquire(...args),
      holders: (g) => a.leases.holders(g),
      currentEpoch: (g, s) => a.leases.currentEpoch(g, s),
      checkFence: (g, s, e) => a.leases.checkFence(g, s, e),
      renew: async (...args) => {
        if (down) throw new CoordinationUnavailableError('leases.renew', new Error('Command timed out'));
        return a.leases.renew(...args);
      },
      release: (...args) => a.leases.release(...args),
    };
    const lostAt: number[] = [];
    await holdLease(flaky, {
      generation: 1,
      shardId: 4,
      holder: 'pod-a',
      ttlMs: 15_000,
      clock,
      onLost: () => lostAt.push(clock.now()),
    });
    await clock.advance(5_000); // renewed at +5 s
    down = true;
    await clock.advance(9_000);
    expect(lostAt).toEqual([]); // a short blip is tolerated
    await clock.advance(30_000);
    expect(lostAt).toHaveLength(1);
    // the lease (renewed at +5 s with a 15 s TTL) lapses at +20 s; the holder gave up before that
    expect(lostAt[0]!).toBeLessThan(1_000_000 + 20_000);
    expect(lostAt[0]!).toBeGreaterThanOrEqual(1_000_000 + 5_000 + 15_000 - 2_500);
  });
});
