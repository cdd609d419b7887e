// Scaling end to end: Discord's guild count grows past what the shard plan carries → the controller
// reshards (g+1 in overlap), scales the StatefulSet, new pods lease the new shards and report READY, the
// plan cuts over, the old generation drains, and the StatefulSet ends at the new size. The Kubernetes API
// is tests/controller/fake-kube.ts (a real HTTP server standing in for an API server, which cannot run
// in this sandbox) enforcing the controller's Role; the pods are real `guildhall shard` processes, one per pod the stand-in API reports, started and stopped as
// the controller scales (tests/controller/shard-processes.ts); Discord is the simulator (src/sim) over
// real WebSockets; Redis is a real redis-server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ControllerPlan,
  RBAC_DEFAULTS,
  controllerRules,
  readControllerStatus,
} from '../../src/controller/index.js';
import { createCoordination } from '../../src/coordination/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import { RedisServer } from '../helpers/redis-server.js';
import { FakeKube } from './fake-kube.js';
import { ShardProcessSupervisor } from './shard-processes.js';
import { addGuilds, startController, startSimulator, waitFor } from './harness.js';
import type { SimulatorHandle } from '../../src/sim/index.js';

let redis: RedisServer;
let sim: SimulatorHandle;
let kube: FakeKube;

beforeAll(async () => {
  redis = await RedisServer.start();
  sim = await startSimulator(3_000);
  kube = await new FakeKube({
    users: { 'token-a': 'system:serviceaccount:default:guildhall-controller' },
    rules: controllerRules(RBAC_DEFAULTS),
  }).start();
  kube.addStatefulSet('guildhall-shard', 0, {
    'app.kubernetes.io/name': 'guildhall',
    'app.kubernetes.io/component': 'shard',
  });
});
afterAll(async () => {
  await kube.stop();
  await sim.close();
  await redis.stop();
});

describe('scaling with Discord’s recommendation', () => {
  it('guild count grows past the shard limit → plan grows, scale patched, new pods lease the new shards, old generation released', async () => {
    const prefix = 'scale:';
    let syncs = 0;
    const pods = new ShardProcessSupervisor(() => kube.podNames('guildhall-shard'), {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      DISCORD_TOKEN: sim.token,
      DISCORD_API_URL: sim.restUrl,
      JWT_SECRET: 'x'.repeat(32),
      SHARDS_PER_POD: '2',
      LEASE_TTL_MS: '3000',
      SESSION_FLUSH_MS: '200',
    });
    const observer = await createCoordination({
      redisUrl: redis.url,
      keyPrefix: prefix,
      log: silentLogger(),
    });
    const controller = await startController(
      {
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: prefix,
        DISCORD_TOKEN: sim.token,
        DISCORD_API_URL: sim.restUrl,
        KUBERNETES_API_URL: kube.url,
        KUBERNETES_TOKEN: 'token-a',
        SHARDS_PER_POD: '2',
        LEASE_TTL_MS: '3000',
        RECONCILE_INTERVAL_MS: '300',
        LEADER_LEASE_DURATION_MS: '3000',
        LEADER_RENEW_DEADLINE_MS: '2000',
        LEADER_RETRY_PERIOD_MS: '300',
      },
      { identity: 'ctl-a', commands: { hash: () => 'cogs-v1', sync: async () => void syncs++ } },
    );
    const plan = async () => (await observer.plans.get()) as ControllerPlan | null;
    const status = () => readControllerStatus(observer);
    try {
      pods.start();
      // 3,000 guilds → Discord recommends 3 shards → 2 pods × 2 shards.
      await waitFor(async () => (await status())?.counts.ready === 3, 60_000, 'generation 1 READY');
      expect(await plan()).toMatchObject({ generation: 1, totalShards: 3, shardsPerPod: 2 });
      expect(kube.replicas('guildhall-shard')).toBe(2);

      // The bot joins 4,000 more guilds: 7,000 → recommended 7 > 3 × 1.25 (3 shards would carry 2,333 each).
      addGuilds(sim, 4_000);
      const phases = new Set<string>();
      await waitFor(
        async () => {
          const s = await status();
          if (s?.reshard) phases.add(`${s.reshard.phase}:${s.reshard.ready}/${s.reshard.total}`);
          const p = await plan();
          return p?.generation === 2 && p.previous === undefined && s?.phase === 'stable';
        },
        120_000,
        'the reshard to complete',
      );
      const final = (await plan())!;
      expect(final).toMatchObject({ generation: 2, totalShards: 7, shardsPerPod: 2, highestGeneration: 2 });
      expect([...phases].some((p) => p.startsWith('overlap:'))).toBe(true);
      expect(kube.replicas('guildhall-shard')).toBe(4);

      // New pods (ordinals 2 and 3) hold the new shards of their preferred ranges (a pod that came up
      // first may have held them a moment and handed them back); generation 1 is released.
      await waitFor(
        async () =>
          (await observer.leases.holders(2)).filter((h) => h.shardId >= 4 && h.holder >= 'guildhall-shard-2')
            .length === 3,
        15_000,
        'pods 2 and 3 to hold their preferred shards',
      );
      const holders = await observer.leases.holders(2);
      expect(holders.map((h) => h.shardId)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(holders.filter((h) => h.shardId >= 4).map((h) => h.holder)).toEqual([
        'guildhall-shard-2',
        'guildhall-shard-2',
        'guildhall-shard-3',
      ]);
      expect(await observer.leases.holders(1)).toEqual([]);

      const s = (await status())!;
      expect(s.lastReshard).toMatchObject({ outcome: 'completed', fromShards: 3, toShards: 7 });
      expect(s.counts).toMatchObject({
        totalShards: 7,
        leased: 7,
        ready: 7,
        replicas: 4,
        desiredReplicas: 4,
        podsTotal: 4,
      });
      expect(s.conditions.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'False' });

      const reasons = kube.events.map((e) => e.reason);
      expect(reasons).toEqual([
        'PlanPublished',
        'ScaledUp',
        'ReshardStarted',
        'ScaledUp',
        'ReshardCutOver',
        'ReshardCompleted',
      ]);
      const scales = kube.writes.filter((w) => w.resource === 'statefulsets/scale').map((w) => w.detail);
      expect(scales).toEqual([
        { from: 0, to: 2, contentType: 'application/merge-patch+json' },
        { from: 2, to: 4, contentType: 'application/merge-patch+json' },
      ]);
      // Only the very first Lease read failed (404: no Lease yet, so the controller created it).
      expect(
        kube.requests.filter((r) => r.code >= 400).map((r) => `${r.code} ${r.verb} ${r.resource}`),
      ).toEqual(['404 get leases']);

      const metrics = await (await fetch(`${controller.handle.url}/metrics`)).text();
      expect(metrics).toMatch(/^guildhall_plan_shards\{plan="active"[^}]*\} 7$/m);
      expect(metrics).toMatch(/^guildhall_leases_held\{plan="active"[^}]*\} 7$/m);
      expect(metrics).toMatch(/^guildhall_reshard_phase\{phase="stable"[^}]*\} 1$/m);
      // 3 sessions of generation 1 and 7 of generation 2 identified once each: 1,000 − 10 remain.
      expect(sim.world.app.sessionStartLimit.remaining).toBe(990);
      expect(metrics).toMatch(/^guildhall_identify_budget_remaining\{[^}]*\} 990$/m);
      expect(metrics).toMatch(/^guildhall_controller_reconciles_total\{result="requeue"[^}]*\} \d+$/m);
      expect(metrics).toMatch(/^guildhall_controller_leader\{[^}]*\} 1$/m);
      const st = (await (await fetch(`${controller.handle.url}/status`)).json()) as {
        leader: boolean;
        status: { phase: string };
      };
      expect(st).toMatchObject({ leader: true, status: { phase: 'stable' } });
      expect((await fetch(`${controller.handle.url}/readyz`)).status).toBe(200);
      // Slash commands were synced once for this cog set, on becoming leader (not on every resync).
      expect(syncs).toBe(1);
      expect(s.commands).toMatchObject({ syncedHash: 'cogs-v1' });
      expect(s.conditions.find((c) => c.type === 'CommandsSynced')).toMatchObject({ status: 'True' });
    } finally {
      await controller.stop();
      await pods.stop();
      await observer.close();
    }
  }, 240_000);
});
