import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type Coordination, SimulatedClock } from '../coordination/index.js';
import { MemoryHub, createMemoryCoordination } from '../coordination/memory/index.js';
import { silentLogger } from '../logging/logger.js';
import { controllerMetrics } from './metrics.js';
import type { ControllerPlan } from './plan.js';
import { markShardReady, shardReadyKey } from './readiness.js';
import { type CommandSync, RECONCILER_DEFAULTS, Reconciler, type ReconcilerOptions } from './reconciler.js';
import { submitReshardRequest } from './requests.js';
import { readControllerStatus } from './status.js';
import type { ShardWorkload, WorkloadEvent } from './workload.js';

/** An in-memory StatefulSet: replicas, scale calls and events, all pods ready. */
class MemoryWorkload implements ShardWorkload {
  readonly description = 'StatefulSet test/shards';
  readonly scaled: [number, number][] = [];
  readonly events: WorkloadEvent[] = [];
  constructor(public current: number) {}
  async replicas() {
    return this.current;
  }
  async scale(n: number) {
    this.scaled.push([this.current, n]);
    this.current = n;
  }
  async pods() {
    return { total: this.current, ready: this.current, names: [] };
  }
  async event(e: WorkloadEvent) {
    this.events.push(e);
  }
  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }
}

function setup(
  opts: Partial<ReconcilerOptions> = {},
  gw: Partial<{ guilds: number; maxConcurrency: number; remaining: number }> = {},
) {
  const clock = new SimulatedClock(1_700_000_000_000);
  const hub = new MemoryHub(clock);
  const coordination: Coordination = createMemoryCoordination({ hub, log: silentLogger() });
  const state = { guilds: 4000, maxConcurrency: 1, remaining: 1000, ...gw };
  const gateway = async () => ({
    url: 'wss://gateway.invalid',
    shards: Math.max(1, Math.ceil(state.guilds / 1000)),
    session_start_limit: {
      total: 1000,
      remaining: state.remaining,
      reset_after: 86_400_000,
      max_concurrency: state.maxConcurrency,
    },
  });
  const workload = new MemoryWorkload(0);
  const registry = new Registry();
  const metrics = controllerMetrics(registry);
  const options: ReconcilerOptions = {
    ...RECONCILER_DEFAULTS,
    shardsPerPod: 2,
    identifyReserve: 10,
    reshardTimeoutMs: 60_000,
    drainTimeoutMs: 30_000,
    abortCooldownMs: 120_000,
    ...opts,
  };
  const make = (identity: string, commands?: CommandSync) =>
    new Reconciler(
      { coordination, gateway, workload, identity, log: silentLogger(), metrics, clock, commands },
      options,
    );
  const reconciler = make('ctl-a');
  const signal = new AbortController().signal;
  const plan = async () => (await coordination.plans.get()) as ControllerPlan | null;
  const status = async () => (await readControllerStatus(coordination))!;
  /** Pods lease the shards and report READY (with the lease's holder and epoch). */
  const ready = async (generation: number, shards: number[], holder = 'pod-0') => {
    for (const s of shards) {
      const got = await coordination.leases.acquire(generation, s, holder, 600_000);
      if (!got) throw new Error(`shard ${s} of ${generation} is held by someone else`);
      await markShardReady(
        coordination.cache,
        { generation, shardId: s, holder, epoch: got.epoch },
        600_000,
        clock.now(),
      );
    }
  };
  const release = async (generation: number) => {
    for (const l of await coordination.leases.holders(generation))
      await coordination.leases.release(generation, l.shardId, l.holder, l.epoch);
  };
  const metric = async (name: string, labels = '') => {
    const text = await registry.metrics();
    const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return {
    clock,
    coordination,
    state,
    workload,
    reconciler,
    make,
    signal,
    plan,
    status,
    ready,
    release,
    metric,
    pass: () => reconciler.reconcile('plan', signal),
  };
}

describe('Reconciler: plan and scaling', () => {
  it('publishes the first plan from GET /gateway/bot, scales the StatefulSet, then holds still within the hysteresis', async () => {
    const t = setup();
    await t.pass();
    expect(await t.plan()).toMatchObject({
      generation: 1,
      totalShards: 4,
      maxConcurrency: 1,
      shardsPerPod: 2,
    });
    expect(t.workload.current).toBe(2);
    expect(t.workload.reasons()).toEqual(['PlanPublished', 'ScaledUp']);
    let s = await t.status();
    expect(s.conditions.find((c) => c.type === 'ShardsLeased')).toMatchObject({
      status: 'False',
      observedGeneration: 1,
    });
    expect(s.conditions.find((c) => c.type === 'Scaled')).toMatchObject({
      status: 'True',
      reason: 'UpToDate',
    });

    await t.ready(1, [0, 1, 2, 3]);
    t.state.guilds = 4900; // recommended 5 ≤ 4 × 1.25
    await t.pass();
    expect((await t.plan())!.totalShards).toBe(4);
    s = await t.status();
    expect(s.counts).toMatchObject({ totalShards: 4, leased: 4, ready: 4, replicas: 2, desiredReplicas: 2 });
    expect(s.conditions.find((c) => c.type === 'ShardsLeased')).toMatchObject({ status: 'True' });
    expect(s.conditions.find((c) => c.type === 'PlanPublished')).toMatchObject({
      status: 'True',
      reason: 'UpToDate',
    });
    expect(s.identifyBudget).toMatchObject({ remaining: 1000, total: 1000 });
    expect(await t.metric('guildhall_plan_shards', '{plan="active"}')).toBe(4);
    expect(await t.metric('guildhall_identify_budget_remaining')).toBe(1000);
    expect(t.workload.scaled).toEqual([[0, 2]]);
  });

  it('republishes the same generation when max_concurrency changes and the count stays valid', async () => {
    const t = setup();
    await t.pass();
    t.state.maxConcurrency = 2;
    await t.pass();
    expect(await t.plan()).toMatchObject({ generation: 1, totalShards: 4, maxConcurrency: 2 });
  });
});

describe('Reconciler: reshard state machine', () => {
  it('grows: publishes g+1 alongside g, waits for every new shard READY, cuts over, drains g, completes', async () => {
    const t = setup();
    await t.pass();
    await t.ready(1, [0, 1, 2, 3]);
    t.state.guilds = 7000; // recommended 7 > 4 × 1.25

    let r = await t.pass();
    let plan = (await t.plan())!;
    expect(plan).toMatchObject({ generation: 1, totalShards: 4, next: { generation: 2, totalShards: 7 } });
    expect(r.requeueAfterMs).toBe(1_000);
    expect(t.workload.current).toBe(4); // scaled up before the overlap so pods can hold both generations
    expect(t.workload.reasons().slice(-2)).toEqual(['ReshardStarted', 'ScaledUp']);
    expect((await t.status()).reshard).toMatchObject({
      phase: 'overlap',
      fromShards: 4,
      toShards: 7,
      ready: 0,
      total: 7,
    });
    expect(await t.metric('guildhall_reshard_phase', '{phase="overlap"}')).toBe(1);
    expect(await t.metric('guildhall_plan_shards', '{plan="next"}')).toBe(7);

    await t.ready(2, [0, 1, 2, 3, 4, 5], 'pod-1');
    // Shard 6 is leased but its READY record carries a stale epoch (a former holder's): not ready.
    const got = (await t.coordination.leases.acquire(2, 6, 'pod-3', 600_000))!;
    await markShardReady(
      t.coordination.cache,
      { generation: 2, shardId: 6, holder: 'pod-3', epoch: got.epoch - 1 },
      600_000,
      t.clock.now(),
    );
    r = await t.pass();
    expect((await t.plan())!.next).toBeDefined();
    expect((await t.status()).reshard).toMatchObject({ phase: 'overlap', leased: 7, ready: 6 });
    expect(await t.metric('guildhall_reshard_shards_ready')).toBe(6);

    await markShardReady(
      t.coordination.cache,
      { generation: 2, shardId: 6, holder: 'pod-3', epoch: got.epoch },
      600_000,
      t.clock.now(),
    );
    await t.pass();
    plan = (await t.plan())!;
    expect(plan).toMatchObject({
      generation: 2,
      totalShards: 7,
      previous: { generation: 1, totalShards: 4 },
    });
    expect(plan.next).toBeUndefined();
    expect(t.workload.reasons().at(-1)).toBe('ReshardCutOver');
    expect((await t.status()).reshard).toMatchObject({ phase: 'draining', leased: 4 });
    expect(t.workload.current).toBe(4);

    await t.pass(); // old leases still held: keep draining
    expect((await t.plan())!.previous).toBeDefined();

    await t.release(1);
    await t.pass();
    plan = (await t.plan())!;
    expect(plan).toEqual({
      generation: 2,
      totalShards: 7,
      maxConcurrency: 1,
      shardsPerPod: 2,
      highestGeneration: 2,
    });
    expect(t.workload.reasons().at(-1)).toBe('ReshardCompleted');
    expect(await t.coordination.cache.get(shardReadyKey(1, 0))).toBeUndefined();
    const s = await t.status();
    expect(s.reshard).toBeNull();
    expect(s.lastReshard).toMatchObject({
      outcome: 'completed',
      fromShards: 4,
      toShards: 7,
      fromGeneration: 1,
      toGeneration: 2,
    });
    expect(s.conditions.find((c) => c.type === 'Resharding')).toMatchObject({
      status: 'False',
      reason: 'Completed',
    });
    expect(await t.metric('guildhall_reshard_phase', '{phase="stable"}')).toBe(1);
    expect(await t.metric('guildhall_plan_generation')).toBe(2);
  });

  it('a requested shrink scales the StatefulSet down only after the old generation is released', async () => {
    const t = setup({}, { guilds: 8000 });
    await t.pass();
    expect(t.workload.current).toBe(4);
    t.state.guilds = 1000; // never shrinks on its own
    await t.pass();
    expect((await t.plan())!.totalShards).toBe(8);

    const req = await submitReshardRequest(t.coordination, { shards: 2 });
    await t.pass();
    expect((await t.status()).request).toMatchObject({ id: req.id, outcome: 'accepted' });
    expect(t.workload.current).toBe(4);
    await t.ready(2, [0, 1]);
    await t.pass(); // cut over
    expect(await t.plan()).toMatchObject({ generation: 2, totalShards: 2, previous: { totalShards: 8 } });
    expect(t.workload.current).toBe(4);
    await t.release(1);
    await t.pass();
    expect(t.workload.current).toBe(1);
    expect(t.workload.reasons().at(-1)).toBe('ScaledDown');
    expect((await t.status()).lastReshard).toMatchObject({ outcome: 'completed', requestId: req.id });
  });

  it('rolls back to g when the new generation is not READY in time, then pauses automatic reshards and never reuses the generation', async () => {
    const t = setup();
    await t.pass();
    await t.ready(1, [0, 1, 2, 3]);
    t.state.guilds = 7000;
    await t.pass();
    await t.ready(2, [0, 1, 2]);
    await t.clock.advance(60_000 + 7 * 5_000 + 1); // timeout + identify time for 7 shards
    await t.pass();
    const plan = (await t.plan())!;
    expect(plan).toMatchObject({
      generation: 1,
      totalShards: 4,
      highestGeneration: 2,
      aborted: { generation: 2, totalShards: 7 },
    });
    expect(plan.aborted!.reason).toMatch(/timeout: 3\/7/);
    expect(plan.next).toBeUndefined();
    expect(t.workload.events.at(-2)).toMatchObject({ type: 'Warning', reason: 'ReshardAborted' });
    expect(t.workload.current).toBe(2); // back to g's size
    expect(await t.coordination.cache.get(shardReadyKey(2, 0))).toBeUndefined();
    let s = await t.status();
    expect(s.lastReshard).toMatchObject({ outcome: 'rolled_back', toShards: 7 });

    await t.pass();
    s = await t.status();
    expect(s.desired.blocked?.code).toBe('cooling_down');
    expect(s.conditions.find((c) => c.type === 'PlanPublished')).toMatchObject({
      status: 'False',
      reason: 'CoolingDown',
    });

    await t.clock.advance(120_001);
    await t.pass();
    expect((await t.plan())!.next).toMatchObject({ generation: 3, totalShards: 7 });
  });

  it('refuses nonsense requests with a reason, refuses a second reshard, and aborts on request', async () => {
    const t = setup({}, { guilds: 6000, remaining: 1000 });
    await t.pass(); // 6 shards
    const ask = async (req: { shards?: number; abort?: boolean }) => {
      const { id } = await submitReshardRequest(t.coordination, req);
      await t.pass();
      const answer = (await t.status()).request!;
      expect(answer.id).toBe(id);
      return answer;
    };
    expect(await ask({ shards: 0 })).toMatchObject({ outcome: 'refused', code: 'invalid_shard_count' });
    expect(await ask({ shards: 2 })).toMatchObject({ outcome: 'refused', code: 'below_guild_minimum' });
    expect(await ask({ shards: 6 })).toMatchObject({ outcome: 'refused', code: 'unchanged' });
    expect(await ask({ abort: true })).toMatchObject({ outcome: 'refused', code: 'no_reshard_in_progress' });
    expect((await t.plan())!.next).toBeUndefined();

    const accepted = await ask({ shards: 9 });
    expect(accepted.outcome).toBe('accepted');
    expect((await t.plan())!.next).toMatchObject({ totalShards: 9 });
    expect(await ask({ shards: 12 })).toMatchObject({ outcome: 'refused', code: 'reshard_in_progress' });
    expect(await ask({ abort: true })).toMatchObject({ outcome: 'accepted' });
    const plan = (await t.plan())!;
    expect(plan).toMatchObject({ generation: 1, totalShards: 6, aborted: { reason: 'aborted by request' } });
    expect((await t.status()).lastReshard).toMatchObject({ outcome: 'rolled_back', requestId: accepted.id });

    // The shared budget only goes down until Discord's reset, so these come last.
    t.state.maxConcurrency = 4;
    expect(await ask({ shards: 10 })).toMatchObject({
      outcome: 'refused',
      code: 'not_multiple_of_max_concurrency',
    });
    t.state.maxConcurrency = 1;
    t.state.remaining = 17;
    const short = await ask({ shards: 8 });
    expect(short).toMatchObject({ outcome: 'refused', code: 'identify_budget_insufficient' });
    expect(short.message).toMatch(/17 remain today and 10 are kept in reserve/);
  });

  it('with FIXED_SHARD_COUNT follows the fixed count and refuses requests', async () => {
    const t = setup({ fixedShardCount: 3 }, { guilds: 9000 });
    await t.pass();
    expect((await t.plan())!.totalShards).toBe(4); // 9,000 guilds need ≥ 4 shards: the fixed count is refused…
    const { id } = await submitReshardRequest(t.coordination, { shards: 8 });
    await t.pass();
    expect((await t.status()).request).toMatchObject({ id, outcome: 'refused', code: 'fixed_shard_count' });
    await t.pass();
    expect((await t.plan())!.totalShards).toBe(4);
    expect((await t.status()).desired).toMatchObject({
      source: 'fixed',
      blocked: { code: 'below_guild_minimum' },
    });
  });

  it('does not start a reshard the identify budget cannot cover, and rolls back when the budget runs out mid-way', async () => {
    const blocked = setup();
    await blocked.pass();
    blocked.state.guilds = 7000;
    blocked.state.remaining = 16; // 7 new sessions need 17 with a reserve of 10
    await blocked.pass();
    expect((await blocked.plan())!.next).toBeUndefined();
    expect((await blocked.status()).conditions.find((c) => c.type === 'PlanPublished')).toMatchObject({
      status: 'False',
      reason: 'IdentifyBudgetInsufficient',
    });

    const t = setup({}, { remaining: 500 });
    await t.pass();
    t.state.guilds = 7000;
    await t.pass();
    expect((await t.plan())!.next).toBeDefined();
    await t.ready(2, [0, 1]);
    t.state.remaining = 10;
    await t.pass();
    expect((await t.plan())!).toMatchObject({ generation: 1, aborted: { generation: 2 } });
    expect((await t.plan())!.aborted!.reason).toMatch(/identify budget exhausted/);
  });

  it('a leader whose lease is gone performs no write, even mid-pass', async () => {
    const t = setup();
    const lost = new AbortController();
    lost.abort();
    await expect(t.reconciler.reconcile('plan', lost.signal)).rejects.toThrow();
    expect(await t.plan()).toBeNull();
    expect(await readControllerStatus(t.coordination)).toBeNull();

    // Leadership is lost while GET /gateway/bot is in flight.
    const mid = new AbortController();
    const r = new Reconciler(
      {
        coordination: t.coordination,
        gateway: async () => {
          mid.abort();
          return {
            url: '',
            shards: 4,
            session_start_limit: { total: 1000, remaining: 1000, reset_after: 1, max_concurrency: 1 },
          };
        },
        workload: t.workload,
        identity: 'ctl-b',
        log: silentLogger(),
        metrics: controllerMetrics(new Registry()),
        clock: t.clock,
      },
      { ...RECONCILER_DEFAULTS, shardsPerPod: 2 },
    );
    await expect(r.reconcile('plan', mid.signal)).rejects.toThrow();
    expect(await t.plan()).toBeNull();
    expect(t.workload.scaled).toEqual([]);
    expect(await readControllerStatus(t.coordination)).toBeNull();
  });

  it('keeps lastTransitionTime while a condition does not change', async () => {
    const t = setup();
    await t.pass();
    const first = (await t.status()).conditions.find((c) => c.type === 'Scaled')!;
    await t.clock.advance(5_000);
    await t.pass();
    const again = (await t.status()).conditions.find((c) => c.type === 'Scaled')!;
    expect(again.lastTransitionTime).toBe(first.lastTransitionTime);
    await t.ready(1, [0, 1, 2, 3]);
    await t.clock.advance(5_000);
    await t.pass();
    const leased = (await t.status()).conditions.find((c) => c.type === 'ShardsLeased')!;
    expect(leased.status).toBe('True');
    expect(Date.parse(leased.lastTransitionTime)).toBe(t.clock.now());
  });
});

describe('Reconciler: slash-command sync', () => {
  it('syncs once per cog-set hash, also across leaders, and retries a failed sync', async () => {
    const t = setup();
    let hash = 'h1';
    let calls = 0;
    let fail = false;
    const commands: CommandSync = {
      hash: () => hash,
      sync: async () => {
        calls++;
        if (fail) throw new Error('discord said no');
      },
    };
    const a = t.make('ctl-a', commands);
    await a.reconcile('commands', t.signal);
    await a.reconcile('commands', t.signal);
    expect(calls).toBe(1);
    expect((await t.status()).commands).toMatchObject({ result: 'unchanged', syncedHash: 'h1' });

    const b = t.make('ctl-b', commands); // a new leader of the same rollout
    await b.reconcile('commands', t.signal);
    expect(calls).toBe(1);

    hash = 'h2';
    fail = true;
    await expect(b.reconcile('commands', t.signal)).rejects.toThrow('discord said no');
    let s = await t.status();
    expect(s.commands).toMatchObject({ result: 'failed', syncedHash: 'h1' });
    expect(s.conditions.find((c) => c.type === 'CommandsSynced')).toMatchObject({
      status: 'False',
      reason: 'SyncFailed',
    });
    fail = false;
    await b.reconcile('commands', t.signal);
    s = await t.status();
    expect(calls).toBe(3);
    expect(s.commands).toMatchObject({ result: 'synced', syncedHash: 'h2' });
    expect(s.leader).toBe('ctl-b');
  });
});
