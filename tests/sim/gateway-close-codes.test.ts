import { connect } from 'node:net';
import { GatewayIntentBits } from 'discord-api-types/v10';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RawClient, type TestGateway, startTestGateway } from './helpers.js';

const TOKEN = 'sim-token-abc.def.ghi';
const props = { os: 'linux', browser: 'raw', device: 'raw' };
const identify = (extra: Record<string, unknown> = {}) => ({
  op: 2,
  d: { token: TOKEN, intents: GatewayIntentBits.Guilds, properties: props, shard: [0, 2], ...extra },
});

interface Case {
  readonly code: number;
  readonly what: string;
  readonly query?: string;
  /** Drives the client after HELLO until the server should close. */
  readonly run: (c: RawClient) => Promise<void> | void;
}

const cases: Case[] = [
  { code: 4001, what: 'unknown opcode', run: (c) => c.send({ op: 42, d: null }) },
  { code: 4001, what: 'a server-only opcode (op 10 HELLO)', run: (c) => c.send({ op: 10, d: {} }) },
  { code: 4002, what: 'invalid JSON', run: (c) => c.send('{"op":1,') },
  { code: 4002, what: 'JSON that is not an object', run: (c) => c.send('[1,2,3]') },
  { code: 4002, what: 'a payload without an integer op', run: (c) => c.send({ op: '1', d: null }) },
  { code: 4002, what: 'a binary frame of garbage', run: (c) => c.ws.send(Buffer.from([0, 1, 2, 255])) },
  {
    code: 4002,
    what: 'a payload over 4096 bytes',
    run: (c) => c.send({ op: 1, d: null, padding: 'x'.repeat(4_100) }),
  },
  {
    code: 4002,
    what: 'an IDENTIFY without properties',
    run: (c) => c.send({ op: 2, d: { token: TOKEN, intents: 1 } }),
  },
  {
    code: 4002,
    what: 'a RESUME without session_id',
    run: (c) => c.send({ op: 6, d: { token: TOKEN, seq: 1 } }),
  },
  {
    code: 4003,
    what: 'a presence update before IDENTIFY',
    run: (c) => c.send({ op: 3, d: { status: 'online' } }),
  },
  {
    code: 4003,
    what: 'REQUEST_GUILD_MEMBERS before IDENTIFY',
    run: (c) => c.send({ op: 8, d: { guild_id: '1', query: '', limit: 0 } }),
  },
  { code: 4004, what: 'a wrong token', run: (c) => c.send(identify({ token: 'nope' })) },
  {
    code: 4004,
    what: 'a wrong token on RESUME',
    run: (c) => c.send({ op: 6, d: { token: 'nope', session_id: 'x', seq: 0 } }),
  },
  {
    code: 4005,
    what: 'a second IDENTIFY',
    run: async (c) => {
      c.send(identify());
      await c.next((p) => p.t === 'READY');
      c.send(identify());
    },
  },
  {
    code: 4005,
    what: 'RESUME on an identified connection',
    run: async (c) => {
      c.send(identify());
      const ready = await c.next((p) => p.t === 'READY');
      c.send({
        op: 6,
        d: { token: TOKEN, session_id: (ready.d as { session_id: string }).session_id, seq: 1 },
      });
    },
  },
  {
    code: 4007,
    what: 'RESUME from a sequence the session never reached',
    run: async (c) => {
      // Needs a resumable session: make one on another connection and drop it.
      const other = await RawClient.open(c.ws.url.replace(/\/\?.*$/, ''));
      await other.next((p) => p.op === 10);
      other.send(identify());
      const ready = await other.next((p) => p.t === 'READY');
      other.terminate();
      await new Promise((r) => setTimeout(r, 50));
      c.send({
        op: 6,
        d: { token: TOKEN, session_id: (ready.d as { session_id: string }).session_id, seq: 999 },
      });
    },
  },
  {
    code: 4008,
    what: '121 commands within 60 s (heartbeats count)',
    run: (c) => {
      for (let i = 0; i < 121; i++) c.send({ op: 1, d: null });
    },
  },
  { code: 4010, what: 'shard id ≥ shard count', run: (c) => c.send(identify({ shard: [4, 4] })) },
  { code: 4010, what: 'shard count 0', run: (c) => c.send(identify({ shard: [0, 0] })) },
  { code: 4010, what: 'a malformed shard', run: (c) => c.send(identify({ shard: ['0', 2] })) },
  {
    code: 4011,
    what: 'a shard that would hold too many guilds',
    run: (c) => c.send(identify({ shard: [0, 1] })),
  },
  { code: 4012, what: 'gateway version 6', query: '?v=6&encoding=json', run: () => undefined },
  { code: 4012, what: 'no gateway version', query: '?encoding=json', run: () => undefined },
  { code: 4013, what: 'an undefined intent bit', run: (c) => c.send(identify({ intents: 1 << 30 })) },
  { code: 4013, what: 'negative intents', run: (c) => c.send(identify({ intents: -1 })) },
  { code: 4013, what: 'missing intents', run: (c) => c.send(identify({ intents: undefined })) },
  {
    code: 4014,
    what: 'MESSAGE_CONTENT without it being enabled',
    run: (c) => c.send(identify({ intents: GatewayIntentBits.MessageContent })),
  },
  {
    code: 4014,
    what: 'GUILD_PRESENCES without it being enabled',
    run: (c) => c.send(identify({ intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildPresences })),
  },
];

let sim: TestGateway;

beforeAll(async () => {
  // 20 guilds and at most 12 per shard: shard [0, 1] needs sharding, [x, 2] does not.
  sim = await startTestGateway(
    { guilds: 20, maxGuildsPerShard: 12, privilegedIntents: GatewayIntentBits.GuildMembers },
    { identifyWindowMs: 0 },
  );
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => sim.violations.clear());

describe('gateway close codes', () => {
  it.each(cases)('$code for $what', async ({ code, query, run }) => {
    const c = await RawClient.open(sim.url, query);
    try {
      if (!query) await c.next((p) => p.op === 10);
      await run(c);
      const closed = await c.closed;
      expect(closed.code).toBe(code);
      expect(sim.violations.list('close_code').map((v) => v.code)).toContain(code);
    } finally {
      c.terminate();
    }
    // The server is still healthy afterwards.
    const probe = await RawClient.open(sim.url);
    await probe.next((p) => p.op === 10);
    probe.terminate();
  });

  it('keeps the session resumable after a reconnectable close code (4001)', async () => {
    const c = await RawClient.open(sim.url);
    await c.next((p) => p.op === 10);
    c.send(identify({ intents: GatewayIntentBits.GuildMembers | GatewayIntentBits.Guilds, shard: [0, 2] }));
    await c.next((p) => p.t === 'READY');
    const sessions = sim.gateway.sessions().length;
    c.send({ op: 42 });
    expect((await c.closed).code).toBe(4001);
    // 4001 is a reconnect-and-resume code: the session survives.
    expect(sim.gateway.sessions().length).toBe(sessions);
  });
});

describe('forced disconnects (GatewayControl)', () => {
  it.each([
    [4321, 4321],
    [1000, 1000],
    [1006, 1006], // not sendable in a close frame: the link is dropped instead
    [99, 1006],
  ])('closeCode %i → the client sees %i and the session stays resumable', async (code, seen) => {
    const c = await RawClient.open(sim.url);
    await c.next((p) => p.op === 10);
    c.send(identify());
    const ready = await c.next((p) => p.t === 'READY');
    const sessionId = (ready.d as { session_id: string }).session_id;
    expect(sim.gateway.forceDisconnect({ sessionId }, code)).toBe(1);
    expect((await c.closed).code).toBe(seen);
    await new Promise((r) => setTimeout(r, 20));
    expect(sim.gateway.sessions().find((x) => x.sessionId === sessionId)).toMatchObject({ connected: false });
    expect(sim.violations.list('close_code').map((v) => v.code)).toEqual([code]);
  });
});

describe('malformed frames never crash the server', () => {
  const rawFrames: [string, Buffer][] = [
    ['a text frame with invalid UTF-8', Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28])],
    ['an unmasked client frame', Buffer.from([0x81, 0x02, 0x7b, 0x7d])],
    ['a reserved opcode', Buffer.from([0x83, 0x80, 0, 0, 0, 0])],
    ['a fragmented ping', Buffer.from([0x09, 0x80, 0, 0, 0, 0])],
    [
      'a frame claiming 2^63 bytes',
      Buffer.from([0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    ],
    ['RSV bits set without an extension', Buffer.from([0xf1, 0x80, 0, 0, 0, 0])],
  ];

  it.each(rawFrames)('%s', async (_name, frame) => {
    const { port } = new URL(sim.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'GET /?v=10&encoding=json HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    let response = '';
    socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
    await new Promise((r) => setTimeout(r, 50));
    expect(response).toContain('101 Switching Protocols');
    socket.write(frame);
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const probe = await RawClient.open(sim.url);
    await probe.next((p) => p.op === 10);
    probe.terminate();
  });

  it('refuses frames over the hard limit without buffering them', async () => {
    const c = await RawClient.open(sim.url);
    await c.next((p) => p.op === 10);
    c.ws.send(Buffer.alloc(2 * 1024 * 1024, 0x20));
    expect((await c.closed).code).toBe(1009);
  });

  it('answers 404 to upgrades outside the gateway path', async () => {
    const c = new RawClient(`${sim.url}/api/v10`, '');
    const err = await new Promise<Error>((resolve) => c.ws.once('error', resolve));
    expect(err.message).toContain('404');
  });
});
