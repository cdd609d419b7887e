import { describe, expect, it } from 'vitest';
import {
  type ControllerPlan,
  autoTargetShards,
  checkShardCount,
  desiredReplicas,
  generationsToRun,
  guildsAtLeast,
  minimumShards,
  planPhase,
  podOrdinal,
  preferredShards,
  roundUpToMultiple,
} from './plan.js';

const base = { maxConcurrency: 1, hysteresis: 1.25, minShards: 1 };

describe('autoTargetShards', () => {
  it('starts at the recommendation rounded up to max_concurrency', () => {
    expect(autoTargetShards({ ...base, current: null, recommended: 3 })).toBe(3);
    expect(autoTargetShards({ ...base, current: null, recommended: 5, maxConcurrency: 4 })).toBe(8);
    expect(autoTargetShards({ ...base, current: null, recommended: 0 })).toBe(1);
  });

  it('grows only past the hysteresis factor, to the rounded recommendation', () => {
    expect(autoTargetShards({ ...base, current: 4, recommended: 5 })).toBeNull(); // 5 ≤ 4 × 1.25
    expect(autoTargetShards({ ...base, current: 4, recommended: 6 })).toBe(6);
    expect(autoTargetShards({ ...base, current: 16, recommended: 21, maxConcurrency: 16 })).toBe(32);
  });

  it('never shrinks on its own', () => {
    expect(autoTargetShards({ ...base, current: 10, recommended: 2 })).toBeNull();
  });

  it('grows regardless of hysteresis when the guilds need more shards than the plan has', () => {
    expect(autoTargetShards({ ...base, current: 2, recommended: 2, minShards: 3 })).toBe(3);
  });

  it('moves to a multiple of a new max_concurrency', () => {
    expect(autoTargetShards({ ...base, current: 6, recommended: 6, maxConcurrency: 4 })).toBe(8);
  });

  it('follows a fixed count both ways, rounded up', () => {
    expect(autoTargetShards({ ...base, current: 10, recommended: 40, fixed: 6 })).toBe(6);
    expect(autoTargetShards({ ...base, current: 8, recommended: 1, fixed: 6, maxConcurrency: 4 })).toBeNull();
  });
});

describe('checkShardCount', () => {
  const ctx = {
    current: 4,
    maxConcurrency: 4,
    minShards: 3,
    budget: { remaining: 100 },
    reserve: 10,
  };

  it('accepts a sensible count', () => {
    expect(checkShardCount(8, ctx)).toBeNull();
  });

  it.each([
    [0, 'invalid_shard_count'],
    [-4, 'invalid_shard_count'],
    [2.5, 'invalid_shard_count'],
    [Number.NaN, 'invalid_shard_count'],
    [6, 'not_multiple_of_max_concurrency'],
    [4, 'unchanged'],
    [92, 'identify_budget_insufficient'],
  ])('refuses %s with %s', (n, code) => {
    expect(checkShardCount(n, ctx)?.code).toBe(code);
  });

  it('refuses fewer shards than 2,500 guilds per shard allows', () => {
    const r = checkShardCount(2, { ...ctx, maxConcurrency: 1, minShards: minimumShards(6000) });
    expect(r?.code).toBe('below_guild_minimum');
    expect(r?.message).toContain('3');
  });

  it('refuses while the budget is unknown, and counts the reserve', () => {
    expect(checkShardCount(8, { ...ctx, budget: null })?.code).toBe('identify_budget_unknown');
    expect(checkShardCount(8, { ...ctx, budget: { remaining: 17 } })?.code).toBe(
      'identify_budget_insufficient',
    );
    expect(checkShardCount(8, { ...ctx, budget: { remaining: 17 }, reserve: 0 })).toBeNull();
  });
});

describe('replicas and assignments', () => {
  const plan: ControllerPlan = { generation: 3, totalShards: 8, maxConcurrency: 1, shardsPerPod: 4 };

  it('needs replicas × shardsPerPod ≥ shards; during a reshard the larger generation decides and nothing shrinks', () => {
    expect(desiredReplicas(plan, 5)).toBe(2);
    expect(desiredReplicas({ ...plan, next: { generation: 4, totalShards: 12, startedAt: 0 } }, 2)).toBe(3);
    expect(desiredReplicas({ ...plan, next: { generation: 4, totalShards: 4, startedAt: 0 } }, 5)).toBe(5);
    expect(desiredReplicas({ ...plan, previous: { generation: 2, totalShards: 16, cutoverAt: 0 } }, 4)).toBe(
      4,
    );
  });

  it('tells pods which generations to run in which mode', () => {
    expect(planPhase(plan)).toBe('stable');
    expect(generationsToRun({ ...plan, next: { generation: 4, totalShards: 12, startedAt: 0 } })).toEqual([
      { generation: 3, totalShards: 8, mode: 'active' },
      { generation: 4, totalShards: 12, mode: 'shadow' },
    ]);
    expect(generationsToRun({ ...plan, previous: { generation: 2, totalShards: 4, cutoverAt: 0 } })).toEqual([
      { generation: 3, totalShards: 8, mode: 'active' },
      { generation: 2, totalShards: 4, mode: 'draining' },
    ]);
  });

  it('gives each pod ordinal a preferred shard range', () => {
    expect(preferredShards(10, 4, 0)).toEqual([0, 1, 2, 3]);
    expect(preferredShards(10, 4, 2)).toEqual([8, 9]);
    expect(preferredShards(10, 4, 3)).toEqual([]);
    expect(podOrdinal('guildhall-shard-12')).toBe(12);
    expect(podOrdinal('local')).toBeNull();
  });

  it('rounds and bounds', () => {
    expect(roundUpToMultiple(5, 4)).toBe(8);
    expect(roundUpToMultiple(0, 4)).toBe(4);
    expect(minimumShards(2500)).toBe(1);
    expect(minimumShards(2501)).toBe(2);
    expect(guildsAtLeast(1)).toBe(1);
    expect(guildsAtLeast(6)).toBe(5001);
  });
});
