// Zero-downtime reshard under load, every part real except Kubernetes: the Discord simulator (2,000
// guilds, max_concurrency 4) over real WebSockets, a real redis-server, `guildhall api` (the single
// SQLite writer), two `guildhall shard` processes, `guildhall controller` (no Kubernetes API: it runs with
// its Redis leader lock and no StatefulSet to scale, the pods are started here) and `guildhall reshard
// --shards 8`, rolled back (abort request), then `guildhall reshard --shards 8 --wait`. A steady load of messages and reactions runs across the whole reshard 4 → 8.
// Checked: every message lands in SQLite exactly once (no loss, no duplicate, no gap in any guild's
// stream), every reaction (stamped with its receipt time, so the two generations would record it under
// different ids without the claims) exactly once, a slash command run every 300 ms answered exactly once
// (the simulator records a second answer as a violation), the identify pacing clean in the simulator's violation
// log, and the old generation gone (sessions closed, leases released).
import type { ChildProcess } from 'node:child_process';
import { type InteractionOutcome } from '../../src/sim/world/interactions.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slash } from '../cogs/helpers/harness.js';
import { KeySet } from '../../src/api/auth/keys.js';
import { issueAccessToken } from '../../src/api/auth/tokens.js';
import { type ControllerPlan, submitReshardRequest } from '../../src/controller/index.js';
import { type Coordination, createCoordination } from '../../src/coordination/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import { snowflakeTime } from '../../src/shard/normalize.js';
import { type SimulatorHandle, createSimulator, startLoad } from '../../src/sim/index.js';
import { eventIdForSnowflake } from '../../src/storage/index.js';
import { runCli, spawnCli, waitForUrl } from '../helpers/cli.js';
import { RedisServer } from '../helpers/redis-server.js';
import { readEventTables } from '../helpers/sqlite.js';
import { tempDir } from '../helpers/temp.js';
import { waitUntil } from '../helpers/wait.js';

const GUILDS = 2_000;
const FROM = 4;
const TO = 8;
const PER_POD = 4;
const TTL_MS = 3_000;
const PREFIX = 'reshard-test:';
const SECRET = 'r'.repeat(32);
const OPERATOR = '1000000000000000042';

let redis: RedisServer;
let sim: SimulatorHandle;
let coordination: Coordination;
const dir = tempDir('guildhall-reshard-');
const children = new Map<string, ChildProcess>();

function start(name: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawnCli(args, {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: PREFIX,
    DISCORD_TOKEN: sim.token,
    DISCORD_API_URL: sim.restUrl,
    JWT_SECRET: SECRET,
    LEASE_TTL_MS: String(TTL_MS),
    SHARDS_PER_POD: String(PER_POD),
    LOG_LEVEL: 'info',
    ...env,
  });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-30_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL' && signal !== 'SIGTERM')
      console.error(`${name} exited ${code}/${signal}:\n${out}`);
  });
  children.set(name, child);
  return child;
}

const connected = () => sim.gateway.sessions().filter((s) => s.connected);
const identifies = () => sim.world.app.sessionStartLimit.total - sim.world.app.sessionStartLimit.remaining;

/** Message and reaction rows in the api's SQLite file (read-only, beside the running writer). */
function stored(): { messages: Map<string, number>; reactions: number } {
  return readEventTables(dir.file('guildhall.sqlite'), (db, tables) => {
    const messages = new Map<string, number>();
    let reactions = 0;
    for (const t of tables) {
      const rows = db
        .prepare(`SELECT id, kind FROM ${t} WHERE kind IN ('message', 'reaction_add')`)
        .iterate() as IterableIterator<{ id: string; kind: string }>;
      for (const r of rows) {
        if (r.kind === 'reaction_add') reactions++;
        else messages.set(r.id, (messages.get(r.id) ?? 0) + 1);
      }
    }
    return { messages, reactions };
  });
}

beforeAll(async () => {
  redis = await RedisServer.start();
  sim = await createSimulator({
    guilds: GUILDS,
    membersPerGuild: 3,
    channelsPerGuild: 2,
    rolesPerGuild: 2,
    maxConcurrency: 4,
  });
  coordination = await createCoordination({ redisUrl: redis.url, keyPrefix: PREFIX, log: silentLogger() });
  // The running platform before the reshard: generation 1 with 4 shards (what the controller would have
  // published for a bot that has been told to run 4).
  const plan: ControllerPlan = {
    generation: 1,
    totalShards: FROM,
    maxConcurrency: 4,
    shardsPerPod: PER_POD,
    highestGeneration: 1,
  };
  await coordination.plans.publish(plan, null);
});

afterAll(async () => {
  for (const c of children.values()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await coordination?.close();
  await sim?.close();
  await redis?.stop();
  dir.cleanup();
});

describe('reshard under load (real processes, simulator, real Redis, real SQLite)', () => {
  it('4 → 8 shards (after one rolled back) with 2,000 guilds and steady traffic: nothing lost, nothing twice, identify pacing clean', async () => {
    const api = start('api', ['api'], {
      DATA_DIR: dir.path,
      API_PORT: '0',
      POD_NAME: 'guildhall-api-0',
      SUPERADMIN_USER_IDS: OPERATOR,
    });
    const apiUrl = await waitForUrl(api, /api listening/);
    for (let i = 0; i < 2; i++) {
      start(`shard-${i}`, ['shard'], {
        POD_NAME: `guildhall-shard-${i}`,
        API_INTERNAL_URL: apiUrl,
        SESSION_FLUSH_MS: '200',
        SHARD_PORT: '0',
      });
    }
    await waitUntil(`${FROM} connected shard sessions`, () => connected().length === FROM, 60_000);
    expect(connected().every((s) => s.shard[1] === FROM)).toBe(true);
    start('controller', ['controller'], {
      POD_NAME: 'guildhall-controller-0',
      CONTROLLER_PORT: '0',
      RECONCILE_INTERVAL_MS: '300',
      LEADER_LEASE_DURATION_MS: '3000',
      LEADER_RENEW_DEADLINE_MS: '2000',
      LEADER_RETRY_PERIOD_MS: '300',
    });

    // Steady traffic across every guild for the whole test (rollback, then reshard).
    const messages: string[] = [];
    const byGuild = new Map<string, string[]>();
    let reactions = 0;
    const load = startLoad({
      world: sim.world,
      sink: (e) => {
        if (e.t === 'MESSAGE_CREATE') {
          const m = e.d as { id: string; guild_id: string };
          messages.push(m.id);
          byGuild.set(m.guild_id, [...(byGuild.get(m.guild_id) ?? []), m.id]);
        } else if (e.t === 'MESSAGE_REACTION_ADD') reactions++;
        sim.gateway.dispatch(e);
      },
      ratePerSecond: 250,
      maxEvents: 0,
      durationMs: 55_000,
      mix: { MESSAGE_CREATE: 4, MESSAGE_REACTION_ADD: 1 },
    });
    await new Promise((r) => setTimeout(r, 3_000));

    // Admins keep running /status while the reshard runs: each must be answered once (cogs run on one
    // generation; interactions are claimed by id).
    const answers: Promise<InteractionOutcome>[] = [];
    const guildIds = sim.world.guildIds();
    let asking = true;
    const asker = (async () => {
      for (let i = 0; asking; i++) {
        const g = sim.world.requireGuild(guildIds[(i * 37) % guildIds.length]!);
        const channelId = [...g.channels.values()].find((c) => c.type === 0)!.id;
        const userId = [...g.members.keys()].find((id) => id !== sim.world.botId)!;
        const rec = sim.world.interactions.create({ ...slash('status'), guildId: g.id, channelId, userId });
        answers.push(sim.world.interactions.waitForReply(rec.id, 10_000));
        await new Promise((r) => setTimeout(r, 300));
      }
    })();

    // First a reshard that is rolled back halfway (`--abort`): the new generation's shards close for good
    // and release their leases; generation 1 keeps its sessions (no reconnect, no identify).
    const cli = (args: string[]) =>
      runCli(args, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: PREFIX, LOG_LEVEL: 'warn' }, 120_000);
    const gen1Sessions = connected()
      .map((s) => s.sessionId)
      .sort();
    const started = await cli(['reshard', '--shards', String(TO)]);
    expect(started.code, started.stderr).toBe(0);
    // Abort as soon as the first new shard is up (in process: a CLI's start-up could outlast the second
    // identify window, and the reshard would complete first).
    await waitUntil(
      'a generation 2 shard connected',
      () => connected().some((s) => s.shard[1] === TO),
      30_000,
    );
    await submitReshardRequest(coordination, { abort: true, requestedBy: 'reshard-test' });
    await waitUntil(
      'the rolled-back generation closed and released',
      async () =>
        connected().every((s) => s.shard[1] === FROM) && (await coordination.leases.holders(2)).length === 0,
      15_000,
    );
    expect(
      connected()
        .map((s) => s.sessionId)
        .sort(),
    ).toEqual(gen1Sessions);
    const afterAbort = (await coordination.plans.get()) as ControllerPlan;
    expect(afterAbort).toMatchObject({ generation: 1, totalShards: FROM, aborted: { generation: 2 } });
    const identifiesBefore = identifies();

    // The operator follows the reshard in the admin API too.
    const auth = {
      authorization: `Bearer ${await issueAccessToken(await KeySet.create({ secret: SECRET, issuer: 'guildhall' }), { userId: OPERATOR, ttlSeconds: 600 })}`,
    };
    const apiPhases = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const res = await fetch(`${apiUrl}/api/v1/cluster/controller`, { headers: auth });
        const body = (await res.json()) as {
          status: { reshard: { phase: string; toShards: number } | null } | null;
        };
        const r = body.status?.reshard;
        if (r) apiPhases.add(`${r.phase}→${r.toShards}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const t0 = Date.now();
    const reshard = await runCli(
      ['reshard', '--shards', String(TO), '--wait'],
      { REDIS_URL: redis.url, REDIS_KEY_PREFIX: PREFIX, LOG_LEVEL: 'warn' },
      120_000,
    );
    const tookMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 2_000));
    asking = false;
    await asker;
    const outcomes = await Promise.all(answers);
    console.log(`/status asked ${outcomes.length} times during the reshard`);
    expect(outcomes.length).toBeGreaterThan(20);
    // Answered with the status embed (waitForReply rejects an unanswered one after 10 s).
    expect(outcomes.filter((o) => (o.message?.embeds?.length ?? 0) === 0)).toEqual([]);
    console.log(`reshard ${FROM} → ${TO}: ${tookMs} ms; CLI stderr tail: ${reshard.stderr.slice(-300)}`);
    expect(reshard.code, reshard.stderr).toBe(0);

    watching = false;
    await watcher;
    expect([...apiPhases]).toContain(`overlap→${TO}`);
    const finished = (await (
      await fetch(`${apiUrl}/api/v1/cluster/controller`, { headers: auth })
    ).json()) as {
      status: { phase: string; reshard: unknown; lastReshard: { outcome: string; toShards: number } };
    };
    expect(finished.status).toMatchObject({
      phase: 'stable',
      reshard: null,
      lastReshard: { outcome: 'completed', toShards: TO },
    });
    const apiPlan = (await (await fetch(`${apiUrl}/api/v1/cluster/plan`, { headers: auth })).json()) as {
      plan: unknown;
    };
    expect(apiPlan.plan).toMatchObject({ generation: 3, totalShards: TO, phase: 'stable', next: null });

    // The plan is stable on generation 3 (2 was rolled back) with 8 shards; generation 1 is gone everywhere.
    const plan = (await coordination.plans.get()) as ControllerPlan;
    expect(plan).toMatchObject({ generation: 3, totalShards: TO });
    expect(plan.next).toBeUndefined();
    expect(plan.previous).toBeUndefined();
    await waitUntil(
      'generation 1 leases released',
      async () => (await coordination.leases.holders(1)).length === 0,
      10_000,
    );
    const gen3 = await coordination.leases.holders(3);
    expect(gen3.map((l) => l.shardId).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await waitUntil('only 8-shard sessions connected', () => connected().length === TO, 10_000);
    expect(connected().every((s) => s.shard[1] === TO)).toBe(true);
    // Eight new sessions for generation 3; nothing else identified (generation 1 never reconnected).
    expect(identifies()).toBe(identifiesBefore + TO);

    const stats = await load.done;
    expect(stats.emitted).toBeGreaterThan(5_000);

    // Everything reaches SQLite through the event log and the single writer.
    const expected = new Set(messages.map((id) => eventIdForSnowflake(snowflakeTime(id), 1, id)));
    let rows = stored();
    await waitUntil(
      'every message and reaction in SQLite',
      () => {
        rows = stored();
        return rows.messages.size >= expected.size && rows.reactions >= reactions;
      },
      30_000,
    ).catch(() => undefined);
    const missing = [...expected].filter((id) => !rows.messages.has(id));
    const unexpected = [...rows.messages.keys()].filter((id) => !expected.has(id));
    const duplicates = [...rows.messages.values()].filter((n) => n > 1).length;
    const guildsWithGap = [...byGuild].filter(([, ids]) =>
      ids.some((id) => !rows.messages.has(eventIdForSnowflake(snowflakeTime(id), 1, id))),
    ).length;
    console.log(
      `messages emitted ${expected.size} stored ${rows.messages.size}; reactions emitted ${reactions} stored ${rows.reactions}; guilds with traffic ${byGuild.size}`,
    );
    expect({
      missing: missing.length,
      unexpected: unexpected.length,
      duplicates,
      guildsWithGap,
      reactions: rows.reactions,
    }).toEqual({ missing: 0, unexpected: 0, duplicates: 0, guildsWithGap: 0, reactions });

    // Both generations really delivered events while they overlapped: the writer saw (and dropped) copies.
    const metrics = await (await fetch(`${apiUrl}/metrics`)).text();
    const dup = Number(
      /guildhall_writer_events_total\{[^}]*result="duplicate"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0,
    );
    console.log(`writer dropped ${dup} duplicate events from the overlap`);
    expect(dup).toBeGreaterThan(0);

    // The shards reported every guild to the api (batched `guilds.sync` over the internal RPC), once
    // each, none marked as left by the old generation's closing.
    const guildRows = readEventTables(
      dir.file('guildhall.sqlite'),
      (db) =>
        db.prepare('SELECT COUNT(*) AS n, COUNT(left_at) AS gone FROM guilds').get() as {
          n: number;
          gone: number;
        },
    );
    expect(guildRows).toEqual({ n: GUILDS, gone: 0 });

    // Identify pacing (max_concurrency buckets, 5 s windows, daily budget) and every other rule held.
    expect(sim.violations.list().map((v) => `${v.kind}: ${v.detail} (shard ${v.shardId})`)).toEqual([]);
  }, 240_000);
});
