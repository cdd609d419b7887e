import { WebSocketShardEvents } from '@discordjs/ws';
import { GatewayIntentBits } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { type SimulatorHandle, createSimulator } from '../../src/sim/simulator.js';
import {
  type ManagerHarness,
  RawClient,
  type TestGateway,
  expectedShard,
  simRest,
  startManager,
  startTestGateway,
  waitFor,
} from './helpers.js';

const intents = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages;

let sim: TestGateway | undefined;
let harness: ManagerHarness | undefined;
const clients: RawClient[] = [];

let real: SimulatorHandle | undefined;

afterEach(async () => {
  await harness?.destroy();
  harness = undefined;
  await real?.close();
  real = undefined;
  for (const c of clients.splice(0)) c.terminate();
  await sim?.close();
  sim = undefined;
});

async function client(): Promise<RawClient> {
  const c = await RawClient.open(sim!.url);
  clients.push(c);
  await c.next((p) => p.op === 10);
  return c;
}

describe('identify concurrency (real 5 s window)', () => {
  it('an unmodified WebSocketManager with 8 shards and max_concurrency 2 identifies paced per bucket, zero violations', async () => {
    const s = await createSimulator({
      guilds: 64,
      membersPerGuild: 2,
      channelsPerGuild: 2,
      rolesPerGuild: 2,
      maxConcurrency: 2,
      // The real 5 s identify window (default), heartbeats a bit faster than Discord's.
      gateway: { heartbeatIntervalMs: 5_000 },
    });
    real = s;
    expect(s.gateway.settings.identifyWindowMs).toBe(5_000);
    const identifiedAt = new Map<number, number>();
    const started = Date.now();
    harness = startManager({ token: s.token, intents, shardCount: 8, rest: simRest(s) });
    harness.manager.on(WebSocketShardEvents.Ready, (_d, shardId) =>
      identifiedAt.set(shardId, Date.now() - started),
    );
    await harness.manager.connect();

    expect(s.violations.list()).toEqual([]);
    const sessions = s.gateway.sessions();
    expect(sessions.map((x) => x.shard[0]).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(s.world.app.sessionStartLimit.remaining).toBe(1000 - 8);
    // Two buckets (even / odd shard ids), four identifies each → the last one needs ≥ 3 windows.
    for (const bucket of [0, 1]) {
      const times = [...identifiedAt]
        .filter(([id]) => id % 2 === bucket)
        .map(([, t]) => t)
        .sort((a, b) => a - b);
      expect(times).toHaveLength(4);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(4_800);
    }
    // Every shard got READY and exactly its own guilds.
    for (let shardId = 0; shardId < 8; shardId++) {
      const owned = s.world.guildIds().filter((id) => expectedShard(id, 8) === shardId);
      const creates = () =>
        (harness!.dispatches.get(shardId) ?? []).filter((p) => p.t === 'GUILD_CREATE').map((p) => p.d.id);
      await waitFor(() => creates().length >= owned.length, 5_000, `GUILD_CREATEs of shard ${shardId}`);
      expect(creates()).toEqual(owned);
    }
  }, 60_000);

  it('a raw client identifying twice in one bucket within 5 s is refused with INVALID_SESSION(false) and recorded', async () => {
    sim = await startTestGateway({ guilds: 4, maxConcurrency: 2 }, { identifyWindowMs: 5_000 });
    const token = sim.world.app.token;
    const first = await client();
    await first.identifyAndReady(token, { shard: [0, 4], intents });
    // Shard 2 shares bucket 0 (2 % 2) with shard 0: too fast.
    const second = await client();
    second.identify(token, { shard: [2, 4], intents });
    const invalid = await second.next((p) => p.op === 9);
    expect(invalid.d).toBe(false);
    // Bucket 1 is independent.
    const third = await client();
    await third.identifyAndReady(token, { shard: [1, 4], intents });

    const v = sim.violations.list('identify_too_fast');
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ shardId: 2 });
    expect(v[0]!.detail).toContain('bucket 0');
    expect(
      sim.gateway
        .sessions()
        .map((x) => x.shard[0])
        .sort(),
    ).toEqual([0, 1]);
    // A refused identify does not spend the daily budget.
    expect(sim.world.app.sessionStartLimit.remaining).toBe(998);
    // The connection stays open and may identify again later (once the window has passed).
    expect(second.ws.readyState).toBe(second.ws.OPEN);
  });

  it('a raw client identifying again after the window is accepted (short window)', async () => {
    sim = await startTestGateway({ guilds: 1, maxConcurrency: 1 }, { identifyWindowMs: 200 });
    const token = sim.world.app.token;
    const a = await client();
    await a.identifyAndReady(token, { intents });
    const b = await client();
    b.identify(token, { intents });
    expect((await b.next((p) => p.op === 9)).d).toBe(false);
    await new Promise((r) => setTimeout(r, 250));
    b.identify(token, { intents });
    await b.next((p) => p.t === 'READY');
    expect(sim.violations.counts()).toEqual({ identify_too_fast: 1 });
  });
});

describe('daily session start limit', () => {
  it('decrements remaining per IDENTIFY and refuses once exhausted', async () => {
    sim = await startTestGateway({ guilds: 1, sessionStartLimit: 2 }, { identifyWindowMs: 0 });
    const token = sim.world.app.token;
    for (let i = 0; i < 2; i++) {
      const c = await client();
      await c.identifyAndReady(token, { intents });
    }
    expect(sim.world.app.sessionStartLimit.remaining).toBe(0);
    const c = await client();
    c.identify(token, { intents });
    expect((await c.next((p) => p.op === 9)).d).toBe(false);
    expect(sim.violations.list('session_start_limit')).toHaveLength(1);
    expect(sim.gateway.sessions()).toHaveLength(2);
  });

  it('RESUME still works with the budget exhausted', async () => {
    sim = await startTestGateway({ guilds: 1, sessionStartLimit: 1 }, { identifyWindowMs: 0 });
    const token = sim.world.app.token;
    const a = await client();
    const ready = await a.identifyAndReady(token, { intents });
    a.terminate();
    await waitFor(() => sim!.gateway.sessions()[0]?.connected === false);
    const b = await client();
    b.send({ op: 6, d: { token, session_id: (ready.d as { session_id: string }).session_id, seq: 1 } });
    await b.next((p) => p.t === 'RESUMED');
    expect(sim.violations.list()).toEqual([]);
  });
});
