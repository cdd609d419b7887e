/**
 * How many gateway events per second the simulator pushes into ONE unmodified @discordjs/ws
 * WebSocketManager (shardCount 1, gateway information fetched from the simulator's REST), counted as
 * MESSAGE_CREATE dispatches the client emitted. The server runs in a child process (its own core), the
 * client here. Baseline in the same run: a bare `ws` server that only speaks HELLO/READY/ACK and sends one
 * pre-serialized MESSAGE_CREATE over and over — the client's ceiling with no simulator logic at all.
 *
 * Last line: `RESULT sim events_per_s=<n>`.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { REST } from '@discordjs/rest';
import { WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import { type APIGatewayBotInfo, GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';
import { type WebSocket, WebSocketServer } from 'ws';

const WARMUP_MS = 1_500;
const MEASURE_MS = 5_000;
const BUFFER_LIMIT = 4 * 1024 * 1024;
const INTENTS = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent;

type Command =
  { cmd: 'start-sim' } | { cmd: 'start-bare' } | { cmd: 'load'; durationMs: number } | { cmd: 'exit' };
type Reply =
  | { kind: 'sim'; restUrl: string; gatewayUrl: string; token: string }
  | { kind: 'bare'; gatewayUrl: string; token: string }
  | { kind: 'loaded'; emitted: number };

export async function run(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--sim-bench-server'], {
    execArgv: loaderArgs(process.execArgv),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = <K extends Reply['kind']>(command: Command, kind: K): Promise<Extract<Reply, { kind: K }>> =>
    new Promise((resolve) => {
      const onMessage = (m: Reply) => {
        if (m.kind !== kind) return;
        child.off('message', onMessage);
        resolve(m as Extract<Reply, { kind: K }>);
      };
      child.on('message', onMessage);
      child.send(command);
    });

  try {
    const sim = await ask({ cmd: 'start-sim' }, 'sim');
    console.log(`simulator at ${sim.gatewayUrl} (REST ${sim.restUrl}), server in pid ${child.pid}`);
    const rest = new REST({ api: sim.restUrl }).setToken(sim.token);
    const simRate = await measure('simulator', ask, sim.token, rest);

    const bare = await ask({ cmd: 'start-bare' }, 'bare');
    const info: APIGatewayBotInfo = {
      url: bare.gatewayUrl,
      shards: 1,
      session_start_limit: { total: 1000, remaining: 1000, reset_after: 86_400_000, max_concurrency: 1 },
    };
    const bareRest = { get: async () => info } as unknown as REST;
    const bareRate = await measure('bare ws', ask, bare.token, bareRest);

    console.log(
      `simulator ${simRate} events/s vs bare ws ${bareRate} events/s into the same client (ratio ${(simRate / bareRate).toFixed(2)})`,
    );
    console.log(`RESULT sim events_per_s=${simRate}`);
  } finally {
    child.send({ cmd: 'exit' } satisfies Command);
    await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 2_000))]);
    if (child.exitCode === null) child.kill();
  }
}

async function measure(
  label: string,
  ask: <K extends Reply['kind']>(command: Command, kind: K) => Promise<Extract<Reply, { kind: K }>>,
  token: string,
  rest: REST,
): Promise<number> {
  const manager = new WebSocketManager({ token, intents: INTENTS, shardCount: 1, rest });
  let received = 0;
  manager.on(WebSocketShardEvents.Dispatch, (payload) => {
    if (payload.t === 'MESSAGE_CREATE') received++;
  });
  await manager.connect();
  const loaded = ask({ cmd: 'load', durationMs: WARMUP_MS + MEASURE_MS + 500 }, 'loaded');
  await sleep(WARMUP_MS);
  const from = received;
  const t0 = performance.now();
  await sleep(MEASURE_MS);
  const rate = Math.round(((received - from) * 1000) / (performance.now() - t0));
  const { emitted } = await loaded;
  await manager.destroy({ code: 1000 });
  console.log(`${label}: ${rate} events/s received (server emitted ${emitted} in the run)`);
  return rate;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The parent's node flags minus any script it was given inline (`-e`/`-p`), which the child must not run. */
function loaderArgs(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print') {
      i++;
      continue;
    }
    if (arg.startsWith('--eval=') || arg.startsWith('--print=')) continue;
    out.push(arg);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Server side (child process)

async function serve(): Promise<void> {
  // Never outlive the benchmark.
  process.on('disconnect', () => process.exit(0));
  const { createSimulator } = await import('../src/sim/simulator.js');
  const sim = await createSimulator({
    guilds: 100,
    membersPerGuild: 5,
    channelsPerGuild: 3,
    rolesPerGuild: 2,
  });
  let bare: BareServer | undefined;
  let mode: 'sim' | 'bare' = 'sim';
  const reply = (r: Reply) => process.send!(r);

  process.on('message', (command: Command) => {
    void (async () => {
      switch (command.cmd) {
        case 'start-sim':
          mode = 'sim';
          reply({ kind: 'sim', restUrl: sim.restUrl, gatewayUrl: sim.gatewayUrl, token: sim.token });
          break;
        case 'start-bare':
          mode = 'bare';
          bare = await startBare();
          reply({ kind: 'bare', gatewayUrl: bare.url, token: 'bare-token' });
          break;
        case 'load': {
          if (mode === 'sim') {
            const stats = await sim.load({
              ratePerSecond: 10_000_000,
              maxEvents: 0,
              durationMs: command.durationMs,
              backpressure: () => sim.gateway.maxBufferedBytes() > BUFFER_LIMIT,
            }).done;
            reply({ kind: 'loaded', emitted: stats.emitted });
          } else {
            reply({ kind: 'loaded', emitted: await bare!.blast(command.durationMs) });
          }
          break;
        }
        case 'exit':
          bare?.close();
          await sim.close();
          process.exit(0);
      }
    })();
  });
}

interface BareServer {
  readonly url: string;
  blast(durationMs: number): Promise<number>;
  close(): void;
}

/** The baseline: `ws` and a fixed pre-serialized MESSAGE_CREATE, nothing else. */
async function startBare(): Promise<BareServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const d = JSON.stringify({
    id: '1300000000000000000',
    channel_id: '1200000000000000001',
    guild_id: '1200000000000000000',
    author: {
      id: '1100000000000000000',
      username: 'user1',
      discriminator: '0',
      global_name: null,
      avatar: null,
    },
    content: 'load message 1',
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: 0,
  });
  const tail = `,"op":0,"d":${d}}`;
  let socket: WebSocket | undefined;
  let seq = 1;
  wss.on('connection', (ws) => {
    socket = ws;
    ws.send(
      JSON.stringify({ op: GatewayOpcodes.Hello, d: { heartbeat_interval: 41_250 }, s: null, t: null }),
    );
    ws.on('message', (raw) => {
      const p = JSON.parse(String(raw)) as { op: number };
      if (p.op === GatewayOpcodes.Heartbeat) ws.send('{"op":11,"d":null,"s":null,"t":null}');
      if (p.op === GatewayOpcodes.Identify) {
        ws.send(
          JSON.stringify({
            op: 0,
            t: 'READY',
            s: 1,
            d: {
              v: 10,
              user: {
                id: '1',
                username: 'bare',
                discriminator: '0',
                global_name: null,
                avatar: null,
                bot: true,
              },
              guilds: [],
              session_id: 'bare',
              resume_gateway_url: url,
              shard: [0, 1],
              application: { id: '1', flags: 0 },
            },
          }),
        );
      }
    });
  });
  return {
    url,
    blast: (durationMs) =>
      new Promise((resolve) => {
        const end = Date.now() + durationMs;
        let sent = 0;
        const tick = () => {
          const ws = socket;
          if (!ws || Date.now() >= end) return resolve(sent);
          for (let i = 0; i < 2_000 && ws.bufferedAmount < BUFFER_LIMIT; i++) {
            ws.send(`{"t":"MESSAGE_CREATE","s":${++seq}${tail}`);
            sent++;
          }
          setTimeout(tick, 0);
        };
        tick();
      }),
    close: () => wss.close(),
  };
}

if (process.argv.includes('--sim-bench-server')) await serve();
