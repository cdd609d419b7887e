// The cog host inside a real shard runtime: @discordjs/ws connected to the Discord simulator over a real
// WebSocket, dispatches fed to the host by the runtime's onDispatch, replies through the runtime's REST
// client. A hot reload swaps the answering code while the gateway session stays exactly as it was.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GatewayIntentBits, InteractionType } from 'discord-api-types/v10';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestCogReload } from '../../src/cogs/cli.js';
import {
  CogHost,
  CogLoader,
  MemoryGuildCogSettings,
  type ShardView,
} from '../../src/cogs/framework/index.js';
import systemCog from '../../src/cogs/system/cog.js';
import { type Coordination, createCoordination } from '../../src/coordination/index.js';
import { ShardRuntime } from '../../src/shard/runtime.js';
import { type SimulatorHandle, createSimulator } from '../../src/sim/index.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { LogCapture, eventually, metricValue, slash } from './helpers/harness.js';

const FRAMEWORK = pathToFileURL(join(ROOT, 'src/cogs/framework/index.ts')).href;

const cogSource = (tag: string) => `
import { defineCog } from ${JSON.stringify(FRAMEWORK)};
export default defineCog({
  name: 'hot',
  description: 'answers with its version',
  commands: [{ data: { name: 'hot', description: 'Which version answers?' }, run: (i) => i.reply('reply ${tag}') }],
  events: {
    MESSAGE_CREATE: async (msg, ctx) => {
      if (msg.author.bot) return;
      await ctx.cache.set('seen-${tag}', msg.id, 60_000);
    },
  },
});
`;

const tmp = tempDir('guildhall-cogs-e2e-');
let sim: SimulatorHandle;
let coordination: Coordination;
let runtime: ShardRuntime;
let host: CogHost;
const logs = new LogCapture();
const metrics = new Registry();
const guildsByShard = new Map<number, Set<string>>();

beforeAll(async () => {
  mkdirSync(join(tmp.path, 'hot'));
  writeFileSync(join(tmp.path, 'package.json'), '{ "type": "module" }');
  writeFileSync(join(tmp.path, 'hot', 'cog.ts'), cogSource('A'));

  sim = await createSimulator({
    guilds: 3,
    membersPerGuild: 3,
    channelsPerGuild: 3,
    gateway: { heartbeatIntervalMs: 300 },
  });
  coordination = await createCoordination({ keyPrefix: 'e2e:', log: logs.log });
  await coordination.plans.publish(
    { generation: 1, totalShards: 1, maxConcurrency: 1, shardsPerPod: 1 },
    null,
  );
  runtime = new ShardRuntime({
    podName: 'guildhall-shard-0',
    token: sim.token,
    intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages,
    apiUrl: sim.restUrl,
    coordination,
    log: logs.log,
    onDispatch: (payload, shard) => {
      if (payload.t === 'GUILD_CREATE') {
        let set = guildsByShard.get(shard.shardId);
        if (!set) guildsByShard.set(shard.shardId, (set = new Set()));
        set.add(payload.d.id);
      }
      void host.dispatch(payload, shard.shardId);
    },
  });
  const shard: ShardView = {
    podId: 'guildhall-shard-0',
    startedAt: Date.now(),
    shardCount: () => runtime.pod.currentPlan?.totalShards ?? 1,
    local: () =>
      runtime.pod.status().map((s) => ({
        id: s.shardId,
        latencyMs: s.latencyMs >= 0 ? s.latencyMs : null,
        guilds: guildsByShard.get(s.shardId)?.size ?? 0,
        status: s.ready ? 'ready' : 'connecting',
      })),
  };
  host = new CogHost({
    log: logs.log,
    metrics,
    rest: runtime.rest,
    applicationId: sim.applicationId,
    settings: new MemoryGuildCogSettings(),
    shard,
    cache: coordination.cache,
    read: async () => null,
    write: async () => null,
    pubsub: coordination.pubsub,
    claims: coordination.claims,
    loader: new CogLoader({ dir: tmp.path }),
  });
  await host.start();
  expect((await host.load(systemCog)).ok).toBe(true);
  expect((await host.reload('hot')).ok).toBe(true);
  await runtime.start();
  await eventually(
    () => sim.gateway.sessions().some((s) => s.connected) && (guildsByShard.get(0)?.size ?? 0) === 3,
    20_000,
  );
}, 60_000);

afterAll(async () => {
  await host?.close();
  await runtime?.stop();
  await coordination?.close();
  await sim?.close();
  tmp.cleanup();
});

/** Creates an interaction in the simulator: it travels to the bot over the gateway. */
async function ask(name: string) {
  const world = sim.world;
  const guildId = world.guildIds()[0]!;
  const g = world.requireGuild(guildId);
  const channelId = [...g.channels.values()].find((c) => c.type === 0)!.id;
  const userId = [...g.members.keys()].find((id) => id !== world.botId)!;
  const rec = world.interactions.create({ ...slash(name), guildId, channelId, userId });
  expect(rec.type).toBe(InteractionType.ApplicationCommand);
  return world.interactions.waitForReply(rec.id, 5_000);
}

describe('cogs in a shard runtime connected to the simulator', () => {
  it('answers interactions and handles events that arrive over the gateway, and reloads without reconnecting', async () => {
    expect((await ask('hot')).message?.content).toBe('reply A');

    const world = sim.world;
    const guildId = world.guildIds()[0]!;
    const g = world.requireGuild(guildId);
    const channelId = [...g.channels.values()].find((c) => c.type === 0)!.id;
    const author = [...g.members.keys()].find((id) => id !== world.botId)!;
    const first = world.createMessage(channelId, author, { content: 'hello' });
    await eventually(async () => (await coordination.cache.get('cog:hot:seen-A')) === first.id);

    const before = sim.gateway.sessions().map((s) => ({ id: s.sessionId, connected: s.connected }));
    const identifies = sim.world.app.sessionStartLimit.total - sim.world.app.sessionStartLimit.remaining;

    writeFileSync(join(tmp.path, 'hot', 'cog.ts'), cogSource('B'));
    await requestCogReload(coordination.pubsub, 'hot');
    await eventually(
      async () =>
        (await metricValue(metrics, 'guildhall_cog_reloads_total', {
          cog: 'hot',
          outcome: 'ok',
        })) === 2,
    );

    expect((await ask('hot')).message?.content).toBe('reply B');
    const second = world.createMessage(channelId, author, { content: 'again' });
    await eventually(async () => (await coordination.cache.get('cog:hot:seen-B')) === second.id);
    expect(await coordination.cache.get('cog:hot:seen-A')).toBe(first.id); // the old handler saw nothing new

    // Same gateway session, still connected, no new IDENTIFY.
    expect(sim.gateway.sessions().map((s) => ({ id: s.sessionId, connected: s.connected }))).toEqual(before);
    expect(sim.world.app.sessionStartLimit.total - sim.world.app.sessionStartLimit.remaining).toBe(
      identifies,
    );
    expect(sim.violations.list()).toEqual([]);
  });

  it('reports the live shard in /status', async () => {
    await eventually(() => runtime.pod.status()[0]!.latencyMs >= 0, 5_000);
    const out = await ask('status');
    const fields = (out.data as { embeds: { fields: { name: string; value: string }[] }[] }).embeds[0]!
      .fields;
    const field = (name: string) => fields.find((f) => f.name === name)?.value;
    expect(field('Shard')).toBe('0 of 1');
    expect(field('Gateway latency')).toMatch(/^\d+ ms$/);
    expect(field('Guilds on this shard')).toBe('3');
  });
});
