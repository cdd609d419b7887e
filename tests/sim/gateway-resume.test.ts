import { CompressionMethod } from '@discordjs/ws';
import { GatewayIntentBits } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { type SimulatorHandle, createSimulator } from '../../src/sim/simulator.js';
import {
  type ManagerHarness,
  RawClient,
  type TestGateway,
  postMessage,
  simRest,
  startManager,
  startTestGateway,
  waitFor,
} from './helpers.js';

const intents = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent;

let sim: TestGateway | undefined;
let harness: ManagerHarness | undefined;
const clients: RawClient[] = [];

async function client(): Promise<RawClient> {
  const c = await RawClient.open(sim!.url);
  clients.push(c);
  await c.next((p) => p.op === 10);
  return c;
}

afterEach(async () => {
  await harness?.destroy();
  harness = undefined;
  for (const c of clients.splice(0)) c.terminate();
  await sim?.close();
  sim = undefined;
});

function contents(payloads: { t: string | null; d: unknown }[]): string[] {
  return payloads.filter((p) => p.t === 'MESSAGE_CREATE').map((p) => (p.d as { content: string }).content);
}

describe('RESUME with raw clients', () => {
  it('replays exactly the events missed while dropped, in order, then RESUMED; nothing twice', async () => {
    sim = await startTestGateway({ guilds: 3, privilegedIntents: GatewayIntentBits.MessageContent });
    const guild = sim.world.guildIds()[0]!;
    const a = await client();
    const ready = await a.identifyAndGuilds(sim.world.app.token, { intents });
    const sessionId = (ready.d as { session_id: string }).session_id;
    for (let i = 0; i < 5; i++) sim.world.emitMessage(guild, `before ${i}`);
    await waitFor(() => contents(a.received).length === 5);
    const seenSeq = a.lastSeq;

    expect(sim.gateway.forceDisconnect({ sessionId })).toBe(1);
    const dropped = await a.closed;
    expect(dropped.code).toBe(1006);
    await waitFor(() => sim!.gateway.sessions()[0]?.connected === false);
    for (let i = 0; i < 7; i++) sim.world.emitMessage(guild, `missed ${i}`);
    expect(sim.gateway.sessions()[0]).toMatchObject({ sessionId, connected: false, seq: seenSeq + 7 });

    const b = await client();
    b.send({ op: 6, d: { token: sim.world.app.token, session_id: sessionId, seq: seenSeq } });
    const resumed = await b.next((p) => p.t === 'RESUMED');
    const replayed = b.received.filter((p) => p.op === 0 && p.t !== 'RESUMED');
    expect(replayed.map((p) => p.s)).toEqual(Array.from({ length: 7 }, (_, i) => seenSeq + 1 + i));
    expect(contents(replayed)).toEqual(Array.from({ length: 7 }, (_, i) => `missed ${i}`));
    expect(resumed.s).toBe(seenSeq + 7);
    expect(b.received.indexOf(resumed)).toBe(b.received.length - 1);

    sim.world.emitMessage(guild, 'after');
    const after = await b.next(
      (p) => p.t === 'MESSAGE_CREATE' && (p.d as { content: string }).content === 'after',
    );
    expect(after.s).toBe(seenSeq + 8);
    // RESUME does not spend the daily identify budget.
    expect(sim.world.app.sessionStartLimit.remaining).toBe(999);
    expect(sim.violations.list('close_code')).toEqual([]);
  });

  it('replays from an older seq too (events the client never processed)', async () => {
    sim = await startTestGateway({ guilds: 1 });
    const a = await client();
    const ready = await a.identifyAndGuilds(sim.world.app.token);
    for (let i = 0; i < 4; i++) sim.world.emitMessage(sim.world.guildIds()[0]!, `m${i}`);
    await waitFor(() => a.dispatches('MESSAGE_CREATE').length === 4);
    a.terminate();
    const b = await client();
    b.send({
      op: 6,
      d: { token: sim.world.app.token, session_id: (ready.d as { session_id: string }).session_id, seq: 1 },
    });
    await b.next((p) => p.t === 'RESUMED');
    // seq 1 was READY: the GUILD_CREATE (seq 2) and the four messages come back.
    expect(b.dispatches().map((p) => p.t)).toEqual([
      'GUILD_CREATE',
      ...Array(4).fill('MESSAGE_CREATE'),
      'RESUMED',
    ]);
  });

  it.each([1000, 1001])(
    'refuses to resume after the client closed with %i (INVALID_SESSION false)',
    async (code) => {
      sim = await startTestGateway({ guilds: 1 });
      const a = await client();
      const ready = await a.identifyAndGuilds(sim.world.app.token);
      await a.close(code);
      await waitFor(() => sim!.gateway.sessions().length === 0, 2_000, 'session to be invalidated');
      const b = await client();
      b.send({
        op: 6,
        d: {
          token: sim.world.app.token,
          session_id: (ready.d as { session_id: string }).session_id,
          seq: a.lastSeq,
        },
      });
      const invalid = await b.next((p) => p.op === 9);
      expect(invalid.d).toBe(false);
      expect(b.dispatches('RESUMED')).toEqual([]);
    },
  );

  it.each([4000, 4200, 3000])('keeps the session resumable after a client close with %i', async (code) => {
    sim = await startTestGateway({ guilds: 1 });
    const a = await client();
    const ready = await a.identifyAndGuilds(sim.world.app.token);
    await a.close(code);
    const b = await client();
    b.send({
      op: 6,
      d: {
        token: sim.world.app.token,
        session_id: (ready.d as { session_id: string }).session_id,
        seq: a.lastSeq,
      },
    });
    await b.next((p) => p.t === 'RESUMED');
  });

  it('refuses unknown sessions, expired sessions and sessions whose replay buffer overflowed', async () => {
    sim = await startTestGateway({ guilds: 1 }, { resumeWindowMs: 300, replayBufferSize: 5 });
    const token = sim.world.app.token;
    const guild = sim.world.guildIds()[0]!;

    const unknown = await client();
    unknown.send({ op: 6, d: { token, session_id: 'f'.repeat(32), seq: 0 } });
    expect((await unknown.next((p) => p.op === 9)).d).toBe(false);

    const a = await client();
    const readyA = await a.identifyAndGuilds(token);
    a.terminate();
    await new Promise((r) => setTimeout(r, 600));
    const late = await client();
    late.send({
      op: 6,
      d: { token, session_id: (readyA.d as { session_id: string }).session_id, seq: a.lastSeq },
    });
    expect((await late.next((p) => p.op === 9)).d).toBe(false);

    sim.violations.clear();
    await new Promise((r) => setTimeout(r, 300)); // identify window of the test gateway
    const b = await client();
    const readyB = await b.identifyAndGuilds(token);
    b.terminate();
    await waitFor(() => sim!.gateway.sessions()[0]?.connected === false);
    for (let i = 0; i < 6; i++) sim.world.emitMessage(guild, `overflow ${i}`);
    const c = await client();
    c.send({
      op: 6,
      d: { token, session_id: (readyB.d as { session_id: string }).session_id, seq: b.lastSeq },
    });
    expect((await c.next((p) => p.op === 9)).d).toBe(false);
    expect(sim.gateway.sessions()).toEqual([]);
  });

  it('closes a connection that ignores op 7 RECONNECT, keeping the session resumable', async () => {
    sim = await startTestGateway({ guilds: 1 }, { reconnectGraceMs: 200 });
    const a = await client();
    const ready = await a.identifyAndGuilds(sim.world.app.token);
    expect(sim.gateway.requestReconnect({})).toBe(1);
    await a.next((p) => p.op === 7);
    expect((await a.closed).code).toBe(4000);
    const b = await client();
    b.send({
      op: 6,
      d: {
        token: sim.world.app.token,
        session_id: (ready.d as { session_id: string }).session_id,
        seq: a.lastSeq,
      },
    });
    await b.next((p) => p.t === 'RESUMED');
  });

  it('a RESUME of a session still attached elsewhere moves it and closes the old connection', async () => {
    sim = await startTestGateway({ guilds: 1 });
    const a = await client();
    const ready = await a.identifyAndGuilds(sim.world.app.token);
    const b = await client();
    b.send({
      op: 6,
      d: {
        token: sim.world.app.token,
        session_id: (ready.d as { session_id: string }).session_id,
        seq: a.lastSeq,
      },
    });
    await b.next((p) => p.t === 'RESUMED');
    expect((await a.closed).code).toBe(4000);
    sim.world.emitMessage(sim.world.guildIds()[0]!, 'to b');
    await b.next((p) => p.t === 'MESSAGE_CREATE');
    expect(a.dispatches('MESSAGE_CREATE')).toEqual([]);
  });
});

describe('RESUME with an unmodified @discordjs/ws WebSocketManager (real simulator, REST /gateway/bot)', () => {
  let real: SimulatorHandle | undefined;

  afterEach(async () => {
    await harness?.destroy();
    harness = undefined;
    await real?.close();
    real = undefined;
  });

  async function start(
    compression: CompressionMethod | null = null,
  ): Promise<[SimulatorHandle, ManagerHarness]> {
    real = await createSimulator({
      guilds: 3,
      membersPerGuild: 4,
      channelsPerGuild: 3,
      rolesPerGuild: 2,
      gateway: { heartbeatIntervalMs: 2_000, identifyWindowMs: 300 },
    });
    harness = startManager({ token: real.token, intents, shardCount: 1, compression, rest: simRest(real) });
    await harness.manager.connect();
    const h = harness;
    await waitFor(() => (h.dispatches.get(0) ?? []).filter((p) => p.t === 'GUILD_CREATE').length === 3);
    return [real, h];
  }

  it.each([
    ['plain JSON', null],
    ['zlib-stream', CompressionMethod.ZlibNative],
  ] as const)(
    'forced disconnect → the client resumes and gets every missed event once (%s)',
    async (_n, compression) => {
      const [s, h] = await start(compression);
      const guild = s.world.guildIds()[0]!;
      for (let i = 0; i < 10; i++) postMessage(s.world, guild, `live ${i}`);
      await waitFor(() => contents(h.dispatches.get(0)!).length === 10);
      const sessionId = s.gateway.sessions()[0]!.sessionId;

      expect(s.gateway.forceDisconnect({ shardId: 0 })).toBe(1);
      await waitFor(() => s.gateway.sessions()[0]?.connected === false);
      for (let i = 0; i < 25; i++) postMessage(s.world, guild, `missed ${i}`);
      await waitFor(() => h.dispatches.get(0)!.some((p) => p.t === 'RESUMED'), 10_000, 'RESUMED');
      for (let i = 0; i < 5; i++) postMessage(s.world, guild, `after ${i}`);
      await waitFor(() => contents(h.dispatches.get(0)!).length === 40);

      const got = h.dispatches.get(0)!;
      const seqs = got.filter((p) => p.t !== 'RESUMED').map((p) => p.s);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(contents(got)).toEqual([
        ...Array.from({ length: 10 }, (_, i) => `live ${i}`),
        ...Array.from({ length: 25 }, (_, i) => `missed ${i}`),
        ...Array.from({ length: 5 }, (_, i) => `after ${i}`),
      ]);
      expect(s.gateway.sessions()).toMatchObject([{ sessionId, connected: true }]);
      expect(got.filter((p) => p.t === 'READY')).toHaveLength(1);
      expect(s.world.app.sessionStartLimit.remaining).toBe(999);
      expect(s.violations.list()).toEqual([
        expect.objectContaining({ kind: 'forced_disconnect', sessionId }),
      ]);
    },
  );

  it('op 7 RECONNECT → the client closes, resumes the same session, no new IDENTIFY', async () => {
    const [s, h] = await start();
    const sessionId = s.gateway.sessions()[0]!.sessionId;
    expect(s.gateway.requestReconnect({ shardId: 0 })).toBe(1);
    await waitFor(() => h.dispatches.get(0)!.some((p) => p.t === 'RESUMED'), 10_000, 'RESUMED');
    expect(s.gateway.sessions()).toMatchObject([{ sessionId, connected: true }]);
    expect(h.closes.map((c) => c.code)).toEqual([4200]);
    expect(s.world.app.sessionStartLimit.remaining).toBe(999);
    expect(s.violations.list()).toEqual([]);
  });

  it('INVALID_SESSION(true) → resumed on the same connection; INVALID_SESSION(false) → a new session', async () => {
    const [s, h] = await start();
    const first = s.gateway.sessions()[0]!.sessionId;
    expect(s.gateway.invalidateSession({ sessionId: first }, true)).toBe(1);
    await waitFor(() => h.dispatches.get(0)!.some((p) => p.t === 'RESUMED'), 10_000, 'RESUMED');
    expect(s.gateway.sessions()).toMatchObject([{ sessionId: first, connected: true }]);
    expect(h.closes).toEqual([]);

    expect(s.gateway.invalidateSession({ sessionId: first }, false)).toBe(1);
    await waitFor(
      () => h.dispatches.get(0)!.filter((p) => p.t === 'READY').length === 2,
      10_000,
      'second READY',
    );
    const [second] = s.gateway.sessions();
    expect(second!.sessionId).not.toBe(first);
    expect(second!.connected).toBe(true);
    expect(s.world.app.sessionStartLimit.remaining).toBe(998);
    expect(s.violations.list()).toEqual([]);
  });
});
