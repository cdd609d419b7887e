/**
 * Heap bytes per guild a shard keeps: 2,000 guilds of 50 channels / 20 roles / 100 members received over
 * the gateway from the Discord simulator. Each client runs in a fresh child process (`--expose-gc`) that
 * measures its heap after a full GC before connecting and again once every GUILD_CREATE has been handled.
 * Compared in the same run with an unmodified discord.js Client with its default caches (the bare library).
 *
 * Last line: `RESULT memory bytes_per_guild=<shard runtime> ratio=<shard/discord.js>`.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { result } from './_util.js';

const GUILDS = Number(process.env.BENCH_GUILDS ?? 2000);
const WORLD = { guilds: GUILDS, channelsPerGuild: 50, rolesPerGuild: 20, membersPerGuild: 100 };
/** Both clients ask for member lists of guilds up to 250 members (with GUILD_PRESENCES: all 100 arrive). */
const LARGE_THRESHOLD = 250;

type Measured = { kind: 'measured'; bytesPerGuild: number; guilds: number; heapMiB: number };

async function measureIn(client: 'shard' | 'discordjs', restUrl: string, token: string): Promise<Measured> {
  const child = fork(fileURLToPath(import.meta.url), ['--memory-bench-client', client, restUrl, token], {
    execArgv: [...process.execArgv.filter((a) => !a.startsWith('--eval') && a !== '-e'), '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [m] = (await once(child, 'message')) as [Measured];
  await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 5_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
  return m;
}

export async function run(): Promise<void> {
  const { createSimulator } = await import('../src/sim/simulator.js');
  const sim = await createSimulator({ ...WORLD, maxConcurrency: 1 });
  console.log(
    `memory: ${GUILDS} guilds × ${WORLD.channelsPerGuild} channels / ${WORLD.rolesPerGuild} roles / ${WORLD.membersPerGuild} members`,
  );
  try {
    const shard = await measureIn('shard', sim.restUrl, sim.token);
    console.log(
      `  guildhall shard runtime: ${shard.bytesPerGuild} bytes/guild (${shard.guilds} guilds, heap ${shard.heapMiB} MiB)`,
    );
    const djs = await measureIn('discordjs', sim.restUrl, sim.token);
    console.log(
      `  discord.js Client (default caches): ${djs.bytesPerGuild} bytes/guild (${djs.guilds} guilds, heap ${djs.heapMiB} MiB)`,
    );
    result('memory', {
      bytes_per_guild: shard.bytesPerGuild,
      ratio: shard.bytesPerGuild / djs.bytesPerGuild,
    });
  } finally {
    await sim.close();
  }
}

// ---- child process: one client, measured in isolation ----

async function heapAfterGc(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().heapUsed;
}

async function client(kind: string, restUrl: string, token: string): Promise<void> {
  const { GatewayIntentBits } = await import('discord-api-types/v10');
  // GUILD_PRESENCES: without it Discord (and the simulator) send only the bot and voice members in
  // GUILD_CREATE; with it and large_threshold 250 both clients receive all 100 members of every guild.
  const intents =
    GatewayIntentBits.Guilds |
    GatewayIntentBits.GuildMembers |
    GatewayIntentBits.GuildMessages |
    GatewayIntentBits.GuildPresences;
  let seen = 0;
  let stop: () => Promise<void>;
  // Load every module the client needs before the baseline, so code is not counted as guild state.
  if (kind === 'shard') {
    const { createCoordination } = await import('../src/coordination/index.js');
    const { silentLogger } = await import('../src/logging/logger.js');
    const { ShardRuntime } = await import('../src/shard/runtime.js');
    const coordination = await createCoordination({ keyPrefix: 'mem:', log: silentLogger() });
    await coordination.plans.publish(
      { generation: 1, totalShards: 1, maxConcurrency: 1, shardsPerPod: 1 },
      null,
    );
    const runtime = new ShardRuntime({
      podName: 'bench-0',
      token,
      intents,
      apiUrl: restUrl,
      coordination,
      log: silentLogger(),
      largeThreshold: LARGE_THRESHOLD,
      onDispatch: (p) => {
        if (p.t === 'GUILD_CREATE') seen++;
      },
    });
    const base = await heapAfterGc();
    await runtime.start();
    await waitFor(() => seen >= GUILDS && runtime.guilds.size >= GUILDS);
    const after = await heapAfterGc();
    stop = async () => {
      await runtime.stop();
      await coordination.close();
    };
    report(base, after, runtime.guilds.size);
  } else {
    const { Client, Events } = await import('discord.js');
    const c = new Client({ intents, rest: { api: restUrl }, ws: { large_threshold: LARGE_THRESHOLD } });
    c.on(Events.GuildCreate, () => seen++);
    c.on(Events.ClientReady, () => undefined);
    const base = await heapAfterGc();
    await c.login(token);
    await waitFor(() => c.guilds.cache.size >= GUILDS);
    const after = await heapAfterGc();
    stop = async () => {
      await c.destroy();
    };
    const g = c.guilds.cache.first()!;
    console.log(
      `  (discord.js cached per guild: ${g.channels.cache.size} channels, ${g.roles.cache.size} roles, ${g.members.cache.size} members, ${c.users.cache.size} users in total)`,
    );
    report(base, after, c.guilds.cache.size);
  }
  await stop();
  process.exit(0);
}

function report(base: number, after: number, guilds: number): void {
  process.send!({
    kind: 'measured',
    bytesPerGuild: Math.round((after - base) / guilds),
    guilds,
    heapMiB: Math.round(after / 1024 / 1024),
  } satisfies Measured);
}

async function waitFor(cond: () => boolean): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > 120_000) throw new Error('timed out waiting for every GUILD_CREATE');
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 300));
}

const at = process.argv.indexOf('--memory-bench-client');
if (at >= 0) await client(process.argv[at + 1]!, process.argv[at + 2]!, process.argv[at + 3]!);
