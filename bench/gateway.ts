/**
 * Gateway events per second through a guildhall shard pod (ShardRuntime: lease, @discordjs/ws, replay
 * guard, compact guild state, activity normalization, event pipeline into the event log, and the cogs'
 * dispatch) against a raw @discordjs/ws WebSocketManager that only decodes the same stream, in the same
 * run. The Discord simulator runs in a child process (its own core) and pushes MESSAGE_CREATEs as fast as
 * the client reads them (socket backpressure), so each side is measured at its own ceiling.
 *
 * Last line: `RESULT gateway ratio=<shard/raw> events_per_s=<shard>`.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { REST } from '@discordjs/rest';
import { WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import { GatewayIntentBits } from 'discord-api-types/v10';
import { createCoordination } from '../src/coordination/index.js';
import { silentLogger } from '../src/logging/logger.js';
import { Registry } from 'prom-client';
import type { CogHost } from '../src/cogs/framework/index.js';
import { applicationIdFromToken, startShardCogs } from '../src/shard/cogs.js';
import { ShardRuntime } from '../src/shard/runtime.js';
import { median, result } from './_util.js';

const WARMUP_MS = 1_500;
const MEASURE_MS = 4_000;
const ROUNDS = 3;
const INTENTS =
  GatewayIntentBits.Guilds |
  GatewayIntentBits.GuildMessages |
  GatewayIntentBits.MessageContent |
  GatewayIntentBits.GuildMembers |
  GatewayIntentBits.GuildVoiceStates |
  GatewayIntentBits.GuildMessageReactions;

type Command = { cmd: 'load'; durationMs: number } | { cmd: 'exit' };
type Reply = { kind: 'sim'; restUrl: string; token: string } | { kind: 'loaded'; emitted: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts MESSAGE_CREATEs while the simulator blasts, and returns events/s over the measure window. */
async function measure(
  label: string,
  load: () => Promise<number>,
  connect: (onMessage: () => void) => Promise<() => Promise<void>>,
): Promise<number> {
  let received = 0;
  const stop = await connect(() => received++);
  const loaded = load();
  await sleep(WARMUP_MS);
  const from = received;
  const t0 = performance.now();
  await sleep(MEASURE_MS);
  const rate = ((received - from) * 1000) / (performance.now() - t0);
  await loaded;
  await stop();
  console.log(`  ${label}: ${Math.round(rate)} events/s`);
  return rate;
}

export async function run(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--gateway-bench-server'], {
    execArgv: process.execArgv.filter((a) => !a.startsWith('--eval') && a !== '-e'),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <K extends Reply['kind']>(kind: K): Promise<Extract<Reply, { kind: K }>> =>
    new Promise((resolve) => {
      const on = (m: Reply) => {
        if (m.kind !== kind) return;
        child.off('message', on);
        resolve(m as Extract<Reply, { kind: K }>);
      };
      child.on('message', on);
    });
  try {
    const sim = await next('sim');
    const load = async () => {
      const done = next('loaded');
      child.send({ cmd: 'load', durationMs: WARMUP_MS + MEASURE_MS + 300 } satisfies Command);
      return (await done).emitted;
    };
    console.log(`gateway: simulator in pid ${child.pid}, ${ROUNDS} rounds of ${MEASURE_MS} ms each side`);
    const raw: number[] = [];
    const shard: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      raw.push(
        await measure('raw @discordjs/ws', load, async (onMessage) => {
          const rest = new REST({ api: sim.restUrl, version: '10' }).setToken(sim.token);
          const manager = new WebSocketManager({ token: sim.token, intents: INTENTS, shardCount: 1, rest });
          manager.on(WebSocketShardEvents.Dispatch, (p) => {
            if (p.t === 'MESSAGE_CREATE') onMessage();
          });
          await manager.connect();
          await sleep(300);
          return async () => {
            await manager.destroy({ code: 1000 });
          };
        }),
      );
      shard.push(
        await measure('guildhall shard runtime', load, async (onMessage) => {
          const coordination = await createCoordination({ keyPrefix: 'bench:', log: silentLogger() });
          await coordination.plans.publish(
            { generation: 1, totalShards: 1, maxConcurrency: 1, shardsPerPod: 1 },
            null,
          );
          const late: { cogs?: CogHost } = {};
          const runtime = new ShardRuntime({
            podName: 'bench-0',
            token: sim.token,
            intents: INTENTS,
            apiUrl: sim.restUrl,
            coordination,
            log: silentLogger(),
            onDispatch: (p, shard) => {
              void late.cogs?.dispatch(p, shard.shardId);
              if (p.t === 'MESSAGE_CREATE') onMessage();
            },
          });
          // Every cog under src/cogs loaded, as in a shard pod.
          const cogs = await startShardCogs({
            runtime,
            coordination,
            log: silentLogger(),
            metrics: new Registry(),
            applicationId: applicationIdFromToken(sim.token)!,
            podName: 'bench-0',
          });
          late.cogs = cogs;
          const loaded = cogs.list().map((c) => c.name);
          await runtime.start();
          const t0 = Date.now();
          while (!runtime.pod.status().some((s) => s.ready) && Date.now() - t0 < 10_000) await sleep(50);
          await sleep(300);
          console.log(`    (cogs loaded: ${loaded.join(', ')})`);
          return async () => {
            await runtime.stop();
            await cogs.close();
            await coordination.close();
          };
        }),
      );
    }
    const rawRate = median(raw);
    const shardRate = median(shard);
    console.log(`  median: raw ${Math.round(rawRate)} events/s, shard ${Math.round(shardRate)} events/s`);
    result('gateway', { ratio: shardRate / rawRate, events_per_s: Math.round(shardRate) });
  } finally {
    child.send({ cmd: 'exit' } satisfies Command);
    await Promise.race([once(child, 'exit'), sleep(3_000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

// Child process: the simulator.
async function serve(): Promise<void> {
  process.on('disconnect', () => process.exit(0));
  const { createSimulator } = await import('../src/sim/simulator.js');
  const sim = await createSimulator({
    guilds: 50,
    membersPerGuild: 5,
    channelsPerGuild: 3,
    rolesPerGuild: 2,
  });
  process.send!({ kind: 'sim', restUrl: sim.restUrl, token: sim.token } satisfies Reply);
  process.on('message', (command: Command) => {
    void (async () => {
      if (command.cmd === 'exit') {
        await sim.close();
        process.exit(0);
      }
      const stats = await sim.load({
        ratePerSecond: 10_000_000,
        maxEvents: 0,
        durationMs: command.durationMs,
        mix: { MESSAGE_CREATE: 1 },
        backpressure: () => sim.gateway.maxBufferedBytes() > 4 * 1024 * 1024,
      }).done;
      process.send!({ kind: 'loaded', emitted: stats.emitted } satisfies Reply);
    })();
  });
}

if (process.argv.includes('--gateway-bench-server')) await serve();
