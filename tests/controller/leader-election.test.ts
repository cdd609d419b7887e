// Leader election end to end. The Kubernetes API is tests/controller/fake-kube.ts: a real HTTP server
// standing in for an API server (none can run in this sandbox) that logs every write with the writer's
// identity (bearer token), so "one writer at a time" is checked on what the API server saw. Discord is the
// simulator (src/sim); Redis is a real redis-server.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONTROLLER_LOCK_GENERATION,
  Controller,
  RBAC_DEFAULTS,
  RECONCILER_DEFAULTS,
  Reconciler,
  controllerMetrics,
  controllerRules,
  coordinationLock,
  createLeaderElector,
  noWorkload,
  restGateway,
  discordRest,
} from '../../src/controller/index.js';
import { type Coordination, type ShardLeases, createCoordination } from '../../src/coordination/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import { RedisServer } from '../helpers/redis-server.js';
import { FakeKube } from './fake-kube.js';
import type { SimulatorHandle } from '../../src/sim/index.js';
import {
  addGuilds,
  blocks,
  sleep,
  spawnController,
  startController,
  startSimulator,
  waitFor,
  watchStatusWriters,
} from './harness.js';

const LEASE_MS = 3_000;
const RENEW_MS = 2_000;
const RETRY_MS = 300;

let redis: RedisServer;
let sim: SimulatorHandle;
let prefixes = 0;

beforeAll(async () => {
  redis = await RedisServer.start();
  sim = await startSimulator(3_000);
});
afterAll(async () => {
  await sim.close();
  await redis.stop();
});

function baseEnv(prefix: string): Record<string, string> {
  return {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
    DISCORD_TOKEN: sim.token,
    DISCORD_API_URL: sim.restUrl,
    SHARD_STATEFULSET: 'guildhall-shard',
    SHARDS_PER_POD: '2',
    LEADER_LEASE_DURATION_MS: String(LEASE_MS),
    LEADER_RENEW_DEADLINE_MS: String(RENEW_MS),
    LEADER_RETRY_PERIOD_MS: String(RETRY_MS),
    RECONCILE_INTERVAL_MS: '300',
    KUBERNETES_REQUEST_TIMEOUT_MS: '800',
    CONTROLLER_PORT: '0',
    METRICS_DEFAULT: 'false',
  };
}

async function testCoordination(prefix: string): Promise<Coordination> {
  return createCoordination({ redisUrl: redis.url, keyPrefix: prefix, log: silentLogger() });
}

function fakeKube(): FakeKube {
  const kube = new FakeKube({
    users: { 'token-a': 'ctl-a', 'token-b': 'ctl-b' },
    rules: controllerRules(RBAC_DEFAULTS),
  });
  return kube;
}

describe('Kubernetes Lease backend', () => {
  it('two controller processes: one leads; SIGKILL it and the other takes over within the lease duration; the API saw one writer at a time', async () => {
    const kube = await fakeKube().start();
    kube.addStatefulSet('guildhall-shard', 0, { app: 'guildhall', component: 'shard' });
    const prefix = `le${++prefixes}:`;
    const own = await startSimulator(3_000); // this test grows its world
    const env = {
      ...baseEnv(prefix),
      KUBERNETES_API_URL: kube.url,
      DISCORD_TOKEN: own.token,
      DISCORD_API_URL: own.restUrl,
    };
    const a = await spawnController({ ...env, KUBERNETES_TOKEN: 'token-a', POD_NAME: 'ctl-a' });
    const b = await spawnController({ ...env, KUBERNETES_TOKEN: 'token-b', POD_NAME: 'ctl-b' });
    try {
      await waitFor(() => kube.replicas('guildhall-shard') === 2, 20_000, 'the first plan to be scaled');
      await sleep(1_000); // a few renewals and resyncs
      const holder = kube.leaseHolder('guildhall-controller')!;
      const [leader, standby] = holder === a.identity ? [a, b] : [b, a];
      expect([a.identity, b.identity]).toContain(holder);

      const killedAt = Date.now();
      await leader.kill();
      const took = await waitFor(
        () => kube.leaseHolder('guildhall-controller') === standby.identity,
        15_000,
        'takeover',
      );
      // The dead leader renewed at most one retry period before the kill; the standby notices within one
      // more retry period (plus scheduling slack on a busy machine).
      expect(took).toBeLessThan(LEASE_MS + 2 * RETRY_MS + 700);
      expect(Date.now() - killedAt).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS - 100); // not before the lease lapsed

      // The new leader acts: 6,000 more guilds (9,000: recommended 9) → a reshard → it patches the StatefulSet.
      addGuilds(own, 6_000);
      await waitFor(
        () =>
          kube.writes.some(
            (w) =>
              w.resource === 'statefulsets/scale' &&
              w.user === userOf(standby.identity) &&
              (w.detail as { to: number }).to === 5,
          ),
        20_000,
        'scale by the new leader',
      );
      const byWriter = blocks(kube.writes.map((w) => w.user));
      expect(byWriter).toEqual([userOf(leader.identity), userOf(standby.identity)]);
      const lease = kube.lease('guildhall-controller')!.spec as { leaseTransitions: number };
      expect(lease.leaseTransitions).toBe(1);
      // Everything the controllers did was allowed by the Role in k8s/rbac.yaml.
      expect(kube.requests.filter((r) => r.code === 403)).toEqual([]);
    } finally {
      await a.kill();
      await b.kill();
      await kube.stop();
      await own.close();
    }
  });

  it('a leader cut off from the API server stops acting by its renew deadline, before the standby takes over', async () => {
    const kube = await fakeKube().start();
    kube.addStatefulSet('guildhall-shard', 0, { app: 'guildhall', component: 'shard' });
    const prefix = `le${++prefixes}:`;
    const env = { ...baseEnv(prefix), KUBERNETES_API_URL: kube.url };
    const watcherCoordination = await testCoordination(prefix);
    const watcher = watchStatusWriters(watcherCoordination);
    const a = await startController({ ...env, KUBERNETES_TOKEN: 'token-a' }, { identity: 'ctl-a' });
    await waitFor(() => a.handle.controller.isLeader, 10_000, 'a to lead');
    const b = await startController({ ...env, KUBERNETES_TOKEN: 'token-b' }, { identity: 'ctl-b' });
    try {
      await waitFor(() => kube.replicas('guildhall-shard') === 2, 10_000, 'scaling');
      await sleep(600);
      // A can still reach Redis, but no longer the API server: it must stop writing anywhere.
      kube.blockUser('ctl-a', 5_000);
      const blockedAt = Date.now();
      await waitFor(() => !a.handle.controller.isLeader, 10_000, 'a to step down');
      await waitFor(() => b.handle.controller.isLeader, 10_000, 'b to lead');
      await waitFor(() => watcher.seen.some((s) => s.leader === 'ctl-b'), 10_000, 'b to write status');
      await sleep(800);
      await watcher.stop();

      const lastRenewA = Math.max(
        ...kube.writes.filter((w) => w.user === 'ctl-a' && w.resource === 'leases').map((w) => w.at),
      );
      const firstB = Math.min(...kube.writes.filter((w) => w.user === 'ctl-b').map((w) => w.at));
      const lastStatusA = Math.max(...watcher.seen.filter((s) => s.leader === 'ctl-a').map((s) => s.at));
      expect(lastRenewA).toBeLessThanOrEqual(blockedAt);
      // A's last write of any kind (status in Redis) came before B's first write (its Lease takeover)…
      expect(lastStatusA).toBeLessThan(firstB);
      // …because A gave up within its renew deadline, and B only takes over after the lease duration.
      expect(lastStatusA - lastRenewA).toBeLessThanOrEqual(RENEW_MS + 300);
      expect(firstB - lastRenewA).toBeGreaterThanOrEqual(LEASE_MS - 100);
      expect(watcher.blocks()).toEqual(['ctl-a', 'ctl-b']);
      expect(blocks(kube.writes.map((w) => w.user))).toEqual(['ctl-a', 'ctl-b']);
    } finally {
      kube.unblockUser('ctl-a');
      await b.stop();
      await a.stop();
      await watcherCoordination.close();
      await kube.stop();
    }
  });
});

describe('Redis lock backend (no Kubernetes API configured)', () => {
  it('two controller processes on a real redis-server: SIGKILL the leader and the other takes over within the lease duration', async () => {
    const prefix = `le${++prefixes}:`;
    const env = baseEnv(prefix);
    const c = await testCoordination(prefix);
    const watcher = watchStatusWriters(c);
    const a = await spawnController({ ...env, POD_NAME: 'ctl-a' });
    const b = await spawnController({ ...env, POD_NAME: 'ctl-b' });
    const holder = async () => (await c.leases.holders(CONTROLLER_LOCK_GENERATION))[0]?.holder;
    try {
      await waitFor(
        async () => (await holder()) !== undefined && watcher.seen.length > 0,
        20_000,
        'a leader',
      );
      await sleep(800);
      const first = (await holder())!;
      const [leader, standby] = first === a.identity ? [a, b] : [b, a];
      const killedAt = Date.now();
      await leader.kill();
      await waitFor(async () => (await holder()) === standby.identity, 15_000, 'takeover');
      const took = Date.now() - killedAt;
      expect(took).toBeLessThan(LEASE_MS + 2 * RETRY_MS + 700);
      expect(took).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS - 100);
      await waitFor(
        () => watcher.seen.some((s) => s.leader === standby.identity),
        10_000,
        'the new leader to write status',
      );
      await sleep(600);
      await watcher.stop();
      expect(watcher.blocks()).toEqual([leader.identity, standby.identity]);
    } finally {
      await watcher.stop();
      await a.kill();
      await b.kill();
      await c.close();
    }
  });

  it('a leader whose lock renewals fail (Redis otherwise reachable) stops writing before the other acquires the lock', async () => {
    const prefix = `le${++prefixes}:`;
    const shared = await testCoordination(prefix);
    const watcher = watchStatusWriters(shared);
    let broken = false;
    let lastRenewOk = 0;
    const flaky: ShardLeases = {
      acquire: (...a) => shared.leases.acquire(...a),
      renew: async (...a) => {
        if (broken) throw new Error('renewal lost in a partition');
        const ok = await shared.leases.renew(...a);
        if (ok) lastRenewOk = Date.now();
        return ok;
      },
      release: (...a) => shared.leases.release(...a),
      holders: (g) => shared.leases.holders(g),
      currentEpoch: (g, s) => shared.leases.currentEpoch(g, s),
      checkFence: (g, s, e) => shared.leases.checkFence(g, s, e),
    };
    const rest = discordRest({ apiUrl: sim.restUrl, token: sim.token });
    const make = (identity: string, leases: ShardLeases) => {
      const metrics = controllerMetrics(new Registry());
      const elector = createLeaderElector({
        lock: coordinationLock(leases, { identity, leaseDurationMs: LEASE_MS }),
        identity,
        log: silentLogger(),
        leaseDurationMs: LEASE_MS,
        renewDeadlineMs: RENEW_MS,
        retryPeriodMs: RETRY_MS,
      });
      const reconciler = new Reconciler(
        {
          coordination: shared,
          gateway: restGateway(rest),
          workload: noWorkload,
          identity,
          log: silentLogger(),
          metrics,
        },
        { ...RECONCILER_DEFAULTS, shardsPerPod: 2 },
      );
      const controller = new Controller({
        elector,
        reconciler,
        pubsub: shared.pubsub,
        log: silentLogger(),
        metrics,
        resyncMs: 200,
      });
      controller.start();
      return controller;
    };
    const a = make('ctl-a', flaky);
    await waitFor(() => a.isLeader, 5_000, 'a to lead');
    const b = make('ctl-b', shared.leases);
    try {
      await sleep(700);
      broken = true;
      await waitFor(() => !a.isLeader, 5_000, 'a to step down');
      await waitFor(() => b.isLeader, 10_000, 'b to lead');
      await waitFor(() => watcher.seen.some((s) => s.leader === 'ctl-b'), 5_000, 'b to write status');
      await sleep(500);
      await watcher.stop();
      const lastA = Math.max(...watcher.seen.filter((s) => s.leader === 'ctl-a').map((s) => s.at));
      const firstB = Math.min(...watcher.seen.filter((s) => s.leader === 'ctl-b').map((s) => s.at));
      expect(lastA - lastRenewOk).toBeLessThanOrEqual(RENEW_MS + 300);
      expect(firstB).toBeGreaterThan(lastA);
      // The lock in Redis lapsed only leaseDuration after A's last renewal (Redis server time).
      expect(firstB - lastRenewOk).toBeGreaterThanOrEqual(LEASE_MS - 100);
      expect(watcher.blocks()).toEqual(['ctl-a', 'ctl-b']);
    } finally {
      await watcher.stop();
      await b.stop();
      await a.stop();
      await shared.close();
    }
  });
});

function userOf(identity: string): string {
  return identity.split('_')[0]!;
}
