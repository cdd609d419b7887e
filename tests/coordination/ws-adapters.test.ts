import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REST } from '@discordjs/rest';
import { CloseCodes, WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import { GatewayIntentBits } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Coordination } from '../../src/coordination/coordination.js';
import { createCoordination, identifyThrottler, sessionInfoCallbacks } from '../../src/coordination/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import { RedisServer } from '../helpers/redis-server.js';

const SESSION_START_LIMIT = { total: 1000, remaining: 1000, reset_after: 86_400_000, max_concurrency: 2 };
const DISPATCHES = 25;

/**
 * The smallest gateway that a real @discordjs/ws WebSocketManager can IDENTIFY and RESUME against:
 * `GET /api/v10/gateway/bot`, HELLO, heartbeat ACKs, READY + a burst of dispatches, RESUMED.
 */
class MiniGateway {
  readonly frames: { op: number; d: Record<string, unknown> }[] = [];
  private readonly sessions = new Map<string, { seq: number }>();
  private n = 0;
  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
  ) {}

  static async start(): Promise<MiniGateway> {
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/api/v10/gateway/bot')) {
        const { port } = server.address() as AddressInfo;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            url: `ws://127.0.0.1:${port}`,
            shards: 2,
            session_start_limit: SESSION_START_LIMIT,
          }),
        );
        return;
      }
      res.writeHead(404).end();
    });
    const wss = new WebSocketServer({ server });
    const gw = new MiniGateway(server, wss);
    wss.on('connection', (ws) => gw.accept(ws));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return gw;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  ops(op: number) {
    return this.frames.filter((f) => f.op === op);
  }

  private accept(ws: WebSocket): void {
    const send = (p: unknown) => ws.send(JSON.stringify(p));
    send({ op: 10, d: { heartbeat_interval: 45_000 } });
    ws.on('message', (raw) => {
      const { op, d } = JSON.parse(String(raw)) as { op: number; d: Record<string, unknown> };
      this.frames.push({ op, d });
      if (op === 1) send({ op: 11 });
      if (op === 2) {
        const sessionId = `session-${++this.n}`;
        const session = { seq: 1 };
        this.sessions.set(sessionId, session);
        const { port } = this.server.address() as AddressInfo;
        send({
          op: 0,
          t: 'READY',
          s: 1,
          d: {
            v: 10,
            user: { id: '1', username: 'bot', discriminator: '0', avatar: null },
            guilds: [],
            session_id: sessionId,
            resume_gateway_url: `ws://127.0.0.1:${port}`,
            shard: d.shard,
            application: { id: '1', flags: 0 },
          },
        });
        for (let i = 0; i < DISPATCHES; i++) {
          session.seq += 1;
          send({
            op: 0,
            t: 'TYPING_START',
            s: session.seq,
            d: { channel_id: '2', user_id: '3', timestamp: 0 },
          });
        }
      }
      if (op === 6) {
        const session = this.sessions.get(String(d.session_id));
        if (!session) {
          send({ op: 9, d: false });
          return;
        }
        session.seq += 1;
        send({ op: 0, t: 'RESUMED', s: session.seq, d: {} });
      }
    });
  }

  async stop(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('@discordjs/ws adapters: shared identify throttler and session store', () => {
  let redis: RedisServer;
  let gateway: MiniGateway;
  let podA: Coordination;
  let podB: Coordination;

  beforeAll(async () => {
    redis = await RedisServer.start();
    gateway = await MiniGateway.start();
    const opts = {
      redisUrl: redis.url,
      keyPrefix: 'ws:',
      log: silentLogger(),
      sessions: { flushIntervalMs: 200 },
    };
    podA = await createCoordination(opts);
    podB = await createCoordination(opts);
  });
  afterAll(async () => {
    await podA?.close();
    await podB?.close();
    await gateway?.stop();
    await redis?.stop();
  });

  const manager = (pod: Coordination) => {
    const sessions = sessionInfoCallbacks(pod.sessions, { shardCount: 2 });
    const rest = new REST({ api: `${gateway.url}/api`, version: '10' }).setToken('token');
    const m = new WebSocketManager({
      token: 'token',
      intents: GatewayIntentBits.Guilds,
      rest,
      shardCount: 2,
      shardIds: [0, 1],
      buildIdentifyThrottler: identifyThrottler(pod.identify),
      retrieveSessionInfo: sessions.retrieveSessionInfo,
      updateSessionInfo: sessions.updateSessionInfo,
    });
    return { m, sessions };
  };

  it('pod A identifies through the shared queue; pod B takes over and RESUMEs from the shared sessions', async () => {
    const a = manager(podA);
    const lastSeq = new Map<number, number>();
    a.m.on(WebSocketShardEvents.Dispatch, (payload, shardId) => void lastSeq.set(shardId, payload.s));
    await a.m.connect();
    await waitFor(() => lastSeq.get(0) === DISPATCHES + 1 && lastSeq.get(1) === DISPATCHES + 1);

    expect(gateway.ops(2).map((f) => f.d.shard)).toEqual(
      expect.arrayContaining([
        [0, 2],
        [1, 2],
      ]),
    );
    expect(gateway.ops(2)).toHaveLength(2);
    // the throttler synced the shared budget from GET /gateway/bot and consumed one start per identify
    expect(await podB.identify.budget()).toMatchObject({ remaining: SESSION_START_LIMIT.remaining - 2 });

    // rolling restart of pod A: hand over (flush + ignore destroy's null session), close resumable
    await a.sessions.handOver();
    await a.m.destroy({ code: CloseCodes.Resuming });
    const stored = await podB.sessions.get(0, 2);
    expect(stored).toMatchObject({ shardId: 0, shardCount: 2, sequence: DISPATCHES + 1 });

    const b = manager(podB);
    let resumed = 0;
    b.m.on(WebSocketShardEvents.Resumed, () => void resumed++);
    await b.m.connect();
    await waitFor(() => resumed === 2);
    const resumes = gateway.ops(6).map((f) => [f.d.session_id, f.d.seq]);
    expect(resumes).toEqual(
      expect.arrayContaining([
        [stored!.sessionId, DISPATCHES + 1],
        [(await podA.sessions.get(1, 2))!.sessionId, DISPATCHES + 1],
      ]),
    );
    expect(gateway.ops(2)).toHaveLength(2); // no new IDENTIFY, no budget spent
    expect(await podA.identify.budget()).toMatchObject({ remaining: SESSION_START_LIMIT.remaining - 2 });
    await b.sessions.handOver();
    await b.m.destroy({ code: CloseCodes.Resuming });
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
