// Kubernetes API and Discord failures while leading: 403 (missing RBAC), 409, timeouts and 5xx are
// retried with backoff, surfaced in the status (Degraded condition, lastError, Scaled reason) and in
// metrics, and the loop survives to finish the job once the API behaves. The API server is
// tests/controller/fake-kube.ts (a real HTTP server standing in for one; none can run in this sandbox);
// Discord is the simulator (src/sim).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ControllerStatus,
  readControllerStatus,
  submitReshardRequest,
} from '../../src/controller/index.js';
import { type Coordination, createCoordination } from '../../src/coordination/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import { RedisServer } from '../helpers/redis-server.js';
import { FakeKube } from './fake-kube.js';
import type { SimulatorHandle } from '../../src/sim/index.js';
import { startController, startSimulator, waitFor } from './harness.js';

let redis: RedisServer;
let sim: SimulatorHandle;
let kube: FakeKube;
let observer: Coordination;
let controller: Awaited<ReturnType<typeof startController>>;
const prefix = 'errors:';

const status = async () => (await readControllerStatus(observer)) as ControllerStatus;
const condition = async (type: string) => (await status())?.conditions.find((c) => c.type === type);
const errorsCount = async () => {
  const m = /^guildhall_controller_reconciles_total\{result="error"[^}]*\} (\d+)$/m.exec(
    await (await fetch(`${controller.handle.url}/metrics`)).text(),
  );
  return m ? Number(m[1]) : 0;
};

beforeAll(async () => {
  redis = await RedisServer.start();
  sim = await startSimulator(2_000);
  kube = await new FakeKube({ users: { t: 'ctl' } }).start();
  kube.addStatefulSet('guildhall-shard', 1, { app: 'shard' });
  observer = await createCoordination({ redisUrl: redis.url, keyPrefix: prefix, log: silentLogger() });
  controller = await startController(
    {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      DISCORD_TOKEN: sim.token,
      DISCORD_API_URL: sim.restUrl,
      KUBERNETES_API_URL: kube.url,
      KUBERNETES_TOKEN: 't',
      SHARDS_PER_POD: '1',
      RECONCILE_INTERVAL_MS: '200',
      KUBERNETES_REQUEST_TIMEOUT_MS: '400',
      LEADER_LEASE_DURATION_MS: '3000',
      LEADER_RENEW_DEADLINE_MS: '2000',
      LEADER_RETRY_PERIOD_MS: '300',
    },
    { identity: 'ctl' },
  );
  await waitFor(
    () => kube.replicas('guildhall-shard') === 2,
    10_000,
    'the first plan (2 shards) to be scaled',
  );
});

afterAll(async () => {
  await controller.stop();
  await observer.close();
  await kube.stop();
  await sim.close();
  await redis.stop();
});

describe('errors while reconciling', () => {
  it('403 on the scale subresource (RBAC missing): surfaced as Forbidden, retried with backoff, scaled once granted', async () => {
    kube.forbid('statefulsets/scale', 'patch');
    const before = await errorsCount();
    const { id } = await submitReshardRequest(observer, { shards: 3 });
    await waitFor(
      async () => (await condition('Degraded'))?.reason === 'Forbidden',
      10_000,
      'Degraded=Forbidden',
    );
    const s = await status();
    expect(s.request).toMatchObject({ id, outcome: 'accepted' });
    expect(s.conditions.find((c) => c.type === 'Scaled')).toMatchObject({
      status: 'False',
      reason: 'Forbidden',
    });
    expect(s.lastError?.message).toMatch(
      /patch statefulsets\/scale: 403 Forbidden: .*cannot patch resource "statefulsets"/,
    );
    expect(s.lastError?.code).toBe('kubernetes_forbidden');
    // The plan still moved on (the scale is retried on its own): the reshard is in overlap.
    expect(s.plan?.next).toMatchObject({ totalShards: 3 });
    await waitFor(async () => (await errorsCount()) >= before + 2, 10_000, 'retries');
    const patchAttempts = kube.requests
      .filter((r) => r.resource === 'statefulsets/scale' && r.verb === 'patch')
      .map((r) => r.at);
    // Backoff: attempts get further apart (500 ms, 1 s, … instead of every pass).
    const gaps = patchAttempts.slice(1).map((t, i) => t - patchAttempts[i]!);
    expect(gaps.at(-1)!).toBeGreaterThanOrEqual(400);

    kube.allow('statefulsets/scale', 'patch');
    await waitFor(() => kube.replicas('guildhall-shard') === 3, 40_000, 'the scale to go through');
    await waitFor(async () => (await condition('Degraded'))?.status === 'False', 10_000, 'Degraded=False');
    expect(controller.handle.controller.isLeader).toBe(true);
  });

  it('409 and 5xx answers and timeouts are retried and surfaced; the loop survives each', async () => {
    // A reshard rollback makes the controller scale back down: abort the reshard in flight.
    kube.failNext('statefulsets/scale', 'patch', 409, 'Conflict', 2);
    await submitReshardRequest(observer, { abort: true });
    await waitFor(
      async () => (await status())?.lastError?.message.includes('409 Conflict') === true,
      10_000,
      '409 surfaced',
    ).catch(async (e) => {
      console.log(JSON.stringify(await status(), null, 1), kube.requests.slice(-10));
      throw e;
    });
    await waitFor(() => kube.replicas('guildhall-shard') === 2, 20_000, 'scaled back after the conflicts');
    expect((await status()).lastReshard).toMatchObject({
      outcome: 'rolled_back',
      reason: 'aborted by request',
    });

    kube.delayNext('pods', 'list', 1_000, 3);
    await waitFor(
      async () => (await condition('Degraded'))?.reason === 'Timeout',
      10_000,
      'Degraded=Timeout',
    );
    expect((await status()).lastError?.message).toMatch(/list pods: Timeout: no answer within 400 ms/);
    await waitFor(
      async () => (await condition('Degraded'))?.status === 'False',
      20_000,
      'recovery after timeouts',
    );

    kube.failNext('statefulsets/scale', 'get', 503, 'ServiceUnavailable', 2);
    await waitFor(
      async () => (await condition('Degraded'))?.reason === 'ServiceUnavailable',
      10_000,
      'Degraded=ServiceUnavailable',
    );
    await waitFor(
      async () => (await condition('Degraded'))?.status === 'False',
      20_000,
      'recovery after 503',
    );
    expect(controller.handle.controller.isLeader).toBe(true);
  });

  it('a failing GET /gateway/bot is surfaced and retried; nothing is published from a guess', async () => {
    const generation = (await status()).observedGeneration;
    const { port } = new URL(sim.url);
    await sim.close(); // Discord unreachable
    try {
      await waitFor(
        async () => (await condition('Degraded'))?.status === 'True',
        20_000,
        'Degraded while Discord is down',
      );
      expect((await status()).lastError?.message).toBeTruthy();
      expect((await status()).observedGeneration).toBe(generation);
    } finally {
      sim = await startSimulator(2_000, { port: Number(port), token: sim.token });
    }
    await waitFor(
      async () => (await condition('Degraded'))?.status === 'False',
      40_000,
      'recovery once Discord answers',
    );
  });
});
