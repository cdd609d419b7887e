// `guildhall plan` and `guildhall reshard` (the functions src/cli.ts calls) against a running controller
// (Redis lock backend, no Kubernetes), simulated shard pods following the reshard contract, a real
// redis-server and the Discord simulator (src/sim).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CommandIo,
  planCommand,
  readControllerStatus,
  reshardCommand,
} from '../../src/controller/index.js';
import { type Coordination, createCoordination } from '../../src/coordination/index.js';
import { ConfigError } from '../../src/config/index.js';
import { AppError } from '../../src/errors/app-error.js';
import { silentLogger } from '../../src/logging/logger.js';
import { type RoleContext, createRoleContext } from '../../src/runtime.js';
import { RedisServer } from '../helpers/redis-server.js';
import { FakePodSupervisor } from './fake-shard-pods.js';
import type { SimulatorHandle } from '../../src/sim/index.js';
import { startController, startSimulator, waitFor } from './harness.js';

const prefix = 'cli:';
let redis: RedisServer;
let sim: SimulatorHandle;
let observer: Coordination;
let controller: Awaited<ReturnType<typeof startController>>;
let pods: FakePodSupervisor;
let podNames = ['guildhall-shard-0', 'guildhall-shard-1', 'guildhall-shard-2', 'guildhall-shard-3'];
const podCoordinations: Coordination[] = [];
let ctx: RoleContext;

function capture(): CommandIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    isTTY: false,
    out: (s: string) => void (io.stdout += s),
    err: (s: string) => void (io.stderr += s),
  };
  return io;
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => new Error('expected a refusal'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

beforeAll(async () => {
  redis = await RedisServer.start();
  sim = await startSimulator(3_000);
  observer = await createCoordination({ redisUrl: redis.url, keyPrefix: prefix, log: silentLogger() });
  controller = await startController(
    {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      DISCORD_TOKEN: sim.token,
      DISCORD_API_URL: sim.restUrl,
      SHARDS_PER_POD: '2',
      LEASE_TTL_MS: '3000',
      RECONCILE_INTERVAL_MS: '200',
      LEADER_LEASE_DURATION_MS: '3000',
      LEADER_RENEW_DEADLINE_MS: '2000',
      LEADER_RETRY_PERIOD_MS: '300',
    },
    // The exact guild count (the lead can wire one from the API); without it the controller derives a
    // lower bound from Discord's recommendation.
    { identity: 'ctl-cli', guildCount: async () => sim.world.guildIds().length },
  );
  pods = new FakePodSupervisor(
    () => podNames,
    async () => {
      const c = await createCoordination({ redisUrl: redis.url, keyPrefix: prefix, log: silentLogger() });
      podCoordinations.push(c);
      return c;
    },
    { leaseTtlMs: 3_000, connectMs: 200, tickMs: 100 },
  );
  pods.start();
  ctx = createRoleContext('tool', {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    METRICS_DEFAULT: 'false',
  });
  await waitFor(
    async () => (await readControllerStatus(observer))?.counts.ready === 3,
    20_000,
    'generation 1 READY',
  );
});

afterAll(async () => {
  await controller.stop();
  await pods.stop();
  await Promise.all(podCoordinations.map((c) => c.close()));
  await observer.close();
  await sim.close();
  await redis.stop();
});

describe('guildhall plan', () => {
  it('prints the plan, the controller status and every generation’s leases as a table', async () => {
    const io = capture();
    await planCommand(ctx, {}, { io });
    const out = io.stdout;
    expect(out).toContain('Plan: generation 1 · 3 shards · max_concurrency 1 · 2 shards/pod · phase stable');
    expect(out).toMatch(/Controller: leader ctl-cli · status \d+s ago · recommended 3 · target 3/);
    expect(out).toMatch(/ShardsLeased\s+True\s+AllLeased/);
    expect(out).toContain('Generation 1 (active): 3/3 leased, 3/3 READY');
    expect(out).toMatch(/SHARD\s+HOLDER\s+EPOCH\s+EXPIRES\s+READY/);
    expect(out).toMatch(/^0\s+guildhall-shard-0\s+\d+\s+\d+\.\ds\s+yes$/m);
    expect(out).toMatch(/^2\s+guildhall-shard-1\s+\d+\s+\d+\.\ds\s+yes$/m);

    const json = capture();
    await planCommand(ctx, { json: true }, { io: json });
    const parsed = JSON.parse(json.stdout) as {
      plan: { generation: number };
      status: { leader: string };
      leases: { readiness: { ready: number } }[];
    };
    expect(parsed.plan.generation).toBe(1);
    expect(parsed.status.leader).toBe('ctl-cli');
    expect(parsed.leases[0]!.readiness.ready).toBe(3);
  });
});

describe('guildhall reshard', () => {
  it('--shards 6 --wait: accepted, progress on stderr, completed', async () => {
    const io = capture();
    await reshardCommand(ctx, { shards: 6, wait: true }, { io, pollMs: 50 });
    expect(io.stdout).toContain('Reshard accepted: 3 → 6 shards (generation 2).');
    expect(io.stdout).toContain('Reshard completed: generation 2 with 6 shards is active.');
    expect(io.stderr).toMatch(/^\[[#-]{24}\] \d\/6 READY · overlap · \d leased$/m);
    const plan = await observer.plans.get();
    expect(plan).toMatchObject({ generation: 2, totalShards: 6 });
  });

  it('refuses nonsense with the reason as the error code', async () => {
    expect((await refusal(reshardCommand(ctx, { shards: 0 }, { io: capture() }))).code).toBe(
      'invalid_shard_count',
    );
    expect((await refusal(reshardCommand(ctx, { shards: 2.5 }, { io: capture() }))).code).toBe(
      'invalid_shard_count',
    );
    const below = await refusal(reshardCommand(ctx, { shards: 1 }, { io: capture(), pollMs: 50 }));
    expect(below.code).toBe('below_guild_minimum');
    expect(below.message).toMatch(/reshard refused: 1 shards is fewer than the 2/);
    expect((await refusal(reshardCommand(ctx, { shards: 6 }, { io: capture(), pollMs: 50 }))).code).toBe(
      'unchanged',
    );
    expect((await refusal(reshardCommand(ctx, { abort: true }, { io: capture(), pollMs: 50 }))).code).toBe(
      'no_reshard_in_progress',
    );
  });

  it('a waiting reshard fails with reshard_rolled_back when it is aborted; --abort --wait reports the rollback', async () => {
    podNames = []; // no pod takes the new shards: the reshard cannot finish
    const waiting = capture();
    const running = reshardCommand(ctx, { shards: 8, wait: true }, { io: waiting, pollMs: 50 }).then(
      () => null,
      (e: unknown) => e,
    );
    await waitFor(
      async () => (await readControllerStatus(observer))?.reshard?.phase === 'overlap',
      10_000,
      'overlap',
    );
    expect((await refusal(reshardCommand(ctx, { shards: 10 }, { io: capture(), pollMs: 50 }))).code).toBe(
      'reshard_in_progress',
    );
    const abort = capture();
    await reshardCommand(ctx, { abort: true, wait: true }, { io: abort, pollMs: 50 });
    expect(abort.stdout).toContain('Abort accepted: rolling back to generation 2.');
    expect(abort.stdout).toContain('Rolled back: generation 2 with 6 shards.');
    const err = await running;
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'reshard_rolled_back' });
    expect((err as AppError).message).toContain('aborted by request');
    expect(waiting.stderr).toMatch(/0\/8 READY · overlap/);
  });

  it('fails with controller_unavailable when no controller answers', async () => {
    const lonely = createRoleContext('tool', {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'nobody:',
      LOG_LEVEL: 'silent',
      METRICS_DEFAULT: 'false',
    });
    const err = await refusal(
      reshardCommand(lonely, { shards: 4, answerTimeoutMs: 1_000 }, { io: capture(), pollMs: 50 }),
    );
    expect(err.code).toBe('controller_unavailable');
  });

  it('the controller role refuses leader election timings that would let two leaders act', async () => {
    const bad = startController({
      REDIS_URL: redis.url,
      DISCORD_TOKEN: sim.token,
      LEADER_LEASE_DURATION_MS: '5000',
      LEADER_RENEW_DEADLINE_MS: '6000',
    });
    await expect(bad).rejects.toBeInstanceOf(ConfigError);
    await expect(bad).rejects.toThrow(/renew deadline \(6000 ms\) must be shorter than the lease duration/);
  });

  it('refuses a reshard the remaining daily identify budget cannot cover', async () => {
    sim.world.app.sessionStartLimit.remaining = 15; // the shared budget follows Discord down (never up before the reset)
    await waitFor(
      async () => (await readControllerStatus(observer))?.identifyBudget?.remaining === 15,
      10_000,
      'budget sync',
    );
    const err = await refusal(reshardCommand(ctx, { shards: 8 }, { io: capture(), pollMs: 50 }));
    expect(err.code).toBe('identify_budget_insufficient');
    expect(err.message).toContain('15 remain today and 10 are kept in reserve');
  });
});
