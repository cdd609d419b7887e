import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../logging/logger.js';
import { SimulatedClock } from '../clock.js';
import { IdentifyBudgetExhaustedError } from '../errors.js';
import { MemoryHub, createMemoryCoordination } from './index.js';

const limit = (remaining: number, maxConcurrency: number) => ({
  total: 1000,
  remaining,
  reset_after: 3_600_000,
  max_concurrency: maxConcurrency,
});

describe('memory identify queue on simulated time', () => {
  it('keeps every bucket to one identify per 5 s across pods and runs buckets in parallel', async () => {
    const clock = new SimulatedClock();
    const hub = new MemoryHub(clock);
    const pods = [0, 1, 2, 3].map(() => createMemoryCoordination({ hub, log: silentLogger() }));
    for (const p of pods) await p.identify.sync(limit(1000, 4));
    const grants: { bucket: number; at: number }[] = [];
    const all = Promise.all(
      Array.from({ length: 40 }, (_, shard) =>
        pods[shard % 4]!.identify.waitForIdentify(shard, new AbortController().signal).then(() =>
          grants.push({ bucket: shard % 4, at: clock.now() }),
        ),
      ),
    );
    await clock.run(all);
    expect(grants).toHaveLength(40);
    for (let b = 0; b < 4; b++) {
      const times = grants.filter((g) => g.bucket === b).map((g) => g.at);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(5_000);
    }
    // 10 identifies per bucket → the last one starts in the 10th window (45 s plus a little jitter)
    expect(Math.max(...grants.map((g) => g.at))).toBeGreaterThanOrEqual(45_000);
    expect(Math.max(...grants.map((g) => g.at))).toBeLessThan(50_000);
  });

  it('re-creates the budget from the known total after the daily reset', async () => {
    const clock = new SimulatedClock();
    const hub = new MemoryHub(clock);
    const c = createMemoryCoordination({ hub, log: silentLogger(), identify: { reserve: 2 } });
    await c.identify.sync({ total: 50, remaining: 3, reset_after: 60_000, max_concurrency: 16 });
    await c.identify.waitForIdentify(0, new AbortController().signal);
    await expect(c.identify.waitForIdentify(1, new AbortController().signal)).rejects.toBeInstanceOf(
      IdentifyBudgetExhaustedError,
    );
    await clock.advance(60_000);
    expect(await c.identify.budget()).toBeNull();
    await c.identify.waitForIdentify(1, new AbortController().signal);
    expect(await c.identify.budget()).toMatchObject({ remaining: 49, total: 50 });
  });
});
