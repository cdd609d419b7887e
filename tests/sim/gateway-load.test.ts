import { GatewayIntentBits } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { startLoad } from '../../src/sim/load.js';
import { RawClient, type TestGateway, expectedShard, startTestGateway, waitFor } from './helpers.js';

const { Guilds, GuildMessages, GuildMessageTyping, MessageContent } = GatewayIntentBits;

let sim: TestGateway | undefined;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await sim?.close();
  sim = undefined;
});

async function shardClient(shard: [number, number], intents: number): Promise<RawClient> {
  const c = await RawClient.open(sim!.url);
  clients.push(c);
  await c.identifyAndGuilds(sim!.world.app.token, { shard, intents });
  return c;
}

describe('load generator', () => {
  it('emits exactly maxEvents, spread over every guild, through the shard fan-out', async () => {
    sim = await startTestGateway({ guilds: 10, privilegedIntents: MessageContent }, { identifyWindowMs: 0 });
    const intents = Guilds | GuildMessages | MessageContent;
    const shards = [await shardClient([0, 2], intents), await shardClient([1, 2], intents)];
    const gateway = sim.gateway;
    const run = startLoad({
      world: sim.world,
      sink: (e) => gateway.dispatch(e),
      ratePerSecond: 1_000,
      maxEvents: 200,
      durationMs: 0,
    });
    const stats = await run.done;
    expect(stats.emitted).toBe(200);
    expect(stats.byKind.MESSAGE_CREATE).toBe(200);
    // 200 events at 1,000/s cannot be done in much less than 200 ms.
    expect(stats.elapsedMs).toBeGreaterThanOrEqual(150);
    await waitFor(() => shards.reduce((n, c) => n + c.dispatches('MESSAGE_CREATE').length, 0) === 200);
    for (const [i, c] of shards.entries()) {
      const guilds = new Set(
        c.dispatches('MESSAGE_CREATE').map((p) => (p.d as { guild_id: string }).guild_id),
      );
      const owned = sim.world.guildIds().filter((id) => expectedShard(id, 2) === i);
      expect([...guilds].sort()).toEqual([...owned].sort());
      const d = c.dispatches('MESSAGE_CREATE')[0]!.d as Record<string, unknown>;
      expect(d['channel_id']).toBe(sim.world.channelOf(d['guild_id'] as string));
      expect((d['content'] as string).startsWith('load message')).toBe(true);
    }
  });

  it('stops at the time bound and honours the mix and intents', async () => {
    sim = await startTestGateway({ guilds: 3 });
    const typingOnly = await shardClient([0, 1], Guilds | GuildMessageTyping);
    const gateway = sim.gateway;
    const run = startLoad({
      world: sim.world,
      sink: (e) => gateway.dispatch(e),
      ratePerSecond: 300,
      maxEvents: 0,
      durationMs: 300,
      mix: { MESSAGE_CREATE: 1, TYPING_START: 1, MESSAGE_REACTION_ADD: 1 },
    });
    const stats = await run.done;
    expect(stats.elapsedMs).toBeGreaterThanOrEqual(300);
    expect(stats.emitted).toBeGreaterThan(10);
    expect(stats.emitted).toBeLessThanOrEqual(300 * (stats.elapsedMs / 1000) + 1);
    const { MESSAGE_CREATE, TYPING_START, MESSAGE_REACTION_ADD } = stats.byKind;
    expect(
      Math.max(MESSAGE_CREATE, TYPING_START, MESSAGE_REACTION_ADD) -
        Math.min(MESSAGE_CREATE, TYPING_START, MESSAGE_REACTION_ADD),
    ).toBeLessThanOrEqual(1);
    await waitFor(() => typingOnly.dispatches('TYPING_START').length === TYPING_START);
    // No GUILD_MESSAGES / GUILD_MESSAGE_REACTIONS intent → none of those.
    expect(typingOnly.dispatches('MESSAGE_CREATE')).toEqual([]);
    expect(typingOnly.dispatches('MESSAGE_REACTION_ADD')).toEqual([]);
  });

  it('pauses while backpressure says so and can be stopped', async () => {
    sim = await startTestGateway({ guilds: 1 });
    let paused = true;
    let emittedWhilePaused = 0;
    const run = startLoad({
      world: sim.world,
      sink: () => {
        if (paused) emittedWhilePaused++;
      },
      ratePerSecond: 10_000,
      maxEvents: 0,
      durationMs: 10_000,
      backpressure: () => paused,
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(run.emitted()).toBe(0);
    paused = false;
    await waitFor(() => run.emitted() > 100);
    run.stop();
    const stats = await run.done;
    expect(emittedWhilePaused).toBe(0);
    expect(stats.pausedTicks).toBeGreaterThan(0);
    expect(stats.elapsedMs).toBeLessThan(10_000);
  });

  it('refuses an unbounded run', async () => {
    sim = await startTestGateway({ guilds: 1 });
    expect(() =>
      startLoad({ world: sim!.world, sink: () => undefined, maxEvents: 0, durationMs: 0 }),
    ).toThrow(/bounded/);
  });
});
