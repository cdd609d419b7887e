// Shard pods as real processes (`guildhall shard`) against the Discord simulator over real WebSockets and
// a real redis-server: lease split, kill -9 takeover by RESUME, SIGTERM hand-over, and an event log with
// every message exactly once.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Coordination, createCoordination } from '../../src/coordination/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import type { ShardEvent } from '../../src/shard/event-pipeline.js';
import { snowflakeTime } from '../../src/shard/normalize.js';
import { EVENT_LOG_NAME } from '../../src/shard/runtime.js';
import { type SimulatorHandle, createSimulator, startLoad } from '../../src/sim/index.js';
import { eventIdForSnowflake } from '../../src/storage/index.js';
import { spawnCli, waitForLine } from '../helpers/cli.js';
import { RedisServer } from '../helpers/redis-server.js';
import { waitUntil } from '../helpers/wait.js';

const SHARDS = 12;
const PER_POD = 4;
const TTL_MS = 3000;
const PREFIX = 'cluster-test:';

let redis: RedisServer;
let sim: SimulatorHandle;
let coordination: Coordination;
const pods = new Map<string, ChildProcess>();

function startPod(name: string): ChildProcess {
  const child = spawnCli(['shard'], {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: PREFIX,
    DISCORD_TOKEN: sim.token,
    DISCORD_API_URL: sim.restUrl,
    API_INTERNAL_URL: 'http://127.0.0.1:9', // domain RPC is not used by this test
    JWT_SECRET: 'x'.repeat(32),
    POD_NAME: name,
    SHARDS_PER_POD: String(PER_POD),
    LEASE_TTL_MS: String(TTL_MS),
    SESSION_FLUSH_MS: '200',
    SHARD_PORT: '0',
    LOG_LEVEL: 'info',
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL') console.error(`pod ${name} exited ${code}/${signal}:\n${out}`);
  });
  pods.set(name, child);
  return child;
}

const connected = () => sim.gateway.sessions().filter((s) => s.connected);
const identifies = () => sim.world.app.sessionStartLimit.total - sim.world.app.sessionStartLimit.remaining;

/** Session id per shard of the live sessions. */
const sessionsByShard = () => new Map(connected().map((s) => [s.shard[0], s.sessionId]));

beforeAll(async () => {
  redis = await RedisServer.start();
  sim = await createSimulator({
    guilds: 240,
    membersPerGuild: 5,
    channelsPerGuild: 4,
    rolesPerGuild: 3,
    maxConcurrency: 6,
  });
  coordination = await createCoordination({ redisUrl: redis.url, keyPrefix: PREFIX, log: silentLogger() });
  await coordination.plans.publish(
    { generation: 1, totalShards: SHARDS, maxConcurrency: 6, shardsPerPod: PER_POD },
    null,
  );
});

afterAll(async () => {
  for (const p of pods.values()) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await coordination?.close();
  await sim?.close();
  await redis?.stop();
});

describe('shard pods (real processes, simulator, real Redis)', () => {
  it('split 12 shards, survive kill -9 and SIGTERM by RESUME, and record every message exactly once', async () => {
    for (let i = 0; i < 3; i++) startPod(`guildhall-shard-${i}`);
    await waitUntil('12 connected shard sessions', () => connected().length === SHARDS, 60_000);
    expect(new Set(connected().map((s) => s.shard[0])).size).toBe(SHARDS);
    expect(connected().every((s) => s.shard[1] === SHARDS)).toBe(true);

    // Leases: every shard held exactly once; each pod holds its own slice.
    const holders = await coordination.leases.holders(1);
    expect(holders.map((h) => h.shardId)).toEqual(Array.from({ length: SHARDS }, (_, i) => i));
    for (const h of holders) expect(h.holder).toBe(`guildhall-shard-${Math.floor(h.shardId / PER_POD)}`);
    expect(identifies()).toBe(SHARDS);

    // Message load over every guild while pods die.
    const emitted: string[] = [];
    const load = startLoad({
      world: sim.world,
      sink: (e) => {
        if (e.t === 'MESSAGE_CREATE') emitted.push((e.d as { id: string }).id);
        sim.gateway.dispatch(e);
      },
      ratePerSecond: 400,
      maxEvents: 0,
      durationMs: 16_000,
      mix: { MESSAGE_CREATE: 1 },
    });
    await new Promise((r) => setTimeout(r, 2_000));

    // kill -9 pod 1: its shards are resumed by the others within TTL + 5 s, with no new IDENTIFY.
    const before = sessionsByShard();
    const victim = pods.get('guildhall-shard-1')!;
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    const victimShards = [4, 5, 6, 7];
    await waitUntil(
      'the killed pod’s sessions to drop',
      () => victimShards.every((s) => !sessionsByShard().has(s)),
      10_000,
    );
    const tookOver = await waitUntil(
      'the killed pod’s shards to be resumed elsewhere',
      async () => {
        const now = sessionsByShard();
        const h = await coordination.leases.holders(1);
        return (
          victimShards.every((s) => now.get(s) === before.get(s)) &&
          victimShards.every((s) => h.find((x) => x.shardId === s && x.holder !== 'guildhall-shard-1'))
        );
      },
      TTL_MS + 5_000 + 5_000,
    );
    const takeoverMs = Date.now() - killedAt;
    console.log(`kill -9 → shards resumed elsewhere after ${takeoverMs} ms (lease TTL ${TTL_MS} ms)`);
    expect(takeoverMs).toBeLessThanOrEqual(TTL_MS + 5_000);
    expect(tookOver).toBeGreaterThan(0);
    expect(identifies()).toBe(SHARDS);

    // SIGTERM pod 2: it hands its shards over (flush, resumable close, release) and exits 0; the others resume them.
    const before2 = sessionsByShard();
    const leaving = pods.get('guildhall-shard-2')!;
    const exited = new Promise<number | null>((r) => leaving.once('exit', (c) => r(c)));
    const closed = waitForLine(leaving, /"msg":"shutdown complete"/, 20_000);
    leaving.kill('SIGTERM');
    await closed;
    expect(await exited).toBe(0);
    const leavingShards = [8, 9, 10, 11];
    await waitUntil(
      'the departed pod’s shards to be resumed elsewhere',
      () => leavingShards.every((s) => sessionsByShard().get(s) === before2.get(s)),
      TTL_MS + 5_000,
    );
    expect(identifies()).toBe(SHARDS);
    const h = await coordination.leases.holders(1);
    expect(h).toHaveLength(SHARDS);
    expect(new Set(h.map((x) => x.holder))).toEqual(new Set(['guildhall-shard-0']));

    const stats = await load.done;
    expect(stats.emitted).toBeGreaterThan(3000);

    // Every emitted message is in the event log exactly once: no gap, no duplicate.
    const expected = new Set(emitted.map((id) => eventIdForSnowflake(snowflakeTime(id), 1, id)));
    const reader = coordination.eventLog<ShardEvent>(EVENT_LOG_NAME, { group: 'verify' });
    const seen: string[] = [];
    await waitUntil(
      'every emitted message to reach the event log',
      async () => {
        for (;;) {
          const entries = await reader.read('verifier', { count: 100, blockMs: 0 });
          if (entries.length === 0) break;
          for (const entry of entries)
            for (const e of entry.events) if (e.event.kind === 'message') seen.push(e.event.id);
          await reader.ack(entries.map((e) => e.id));
        }
        return seen.length >= expected.size;
      },
      15_000,
    ).catch(() => undefined);
    const counts = new Map<string, number>();
    for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
    const duplicates = [...counts].filter(([, n]) => n > 1);
    const missing = [...expected].filter((id) => !counts.has(id));
    const unexpected = [...counts.keys()].filter((id) => !expected.has(id));
    expect({ duplicates: duplicates.length, missing: missing.length, unexpected: unexpected.length }).toEqual(
      {
        duplicates: 0,
        missing: 0,
        unexpected: 0,
      },
    );
    expect(seen.length).toBe(expected.size);

    // The simulator saw no rule broken (identify pacing, rate limits, payloads).
    expect(sim.violations.list().map((v) => `${v.kind}: ${v.detail} (shard ${v.shardId})`)).toEqual([]);
  }, 120_000);
});
