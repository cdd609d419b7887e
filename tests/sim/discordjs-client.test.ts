import { once } from 'node:events';
import { Client, Events, GatewayIntentBits, type GatewayDispatchPayload } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimulatorHandle, createSimulator } from '../../src/sim/simulator.js';
import { expectedShard, waitFor } from './helpers.js';

const SHARDS = 4;
const GUILDS = SHARDS * 200;

describe('an unmodified discord.js 14 Client against the simulator', () => {
  let sim: SimulatorHandle;
  let client: Client;
  const ready = new Map<number, string[]>();
  const guildCreates = new Map<number, string[]>();
  const shardReady: number[] = [];

  beforeAll(async () => {
    sim = await createSimulator({
      guilds: GUILDS,
      membersPerGuild: 3,
      channelsPerGuild: 3,
      rolesPerGuild: 2,
      maxConcurrency: SHARDS,
      gateway: { heartbeatIntervalMs: 5_000 },
    });
    client = new Client({
      intents: [
        GatewayIntentBits.Guilds,
        GatewayIntentBits.GuildMessages,
        GatewayIntentBits.GuildMessageTyping,
      ],
      shards: [0, 1, 2, 3],
      shardCount: SHARDS,
      rest: { api: sim.restUrl },
    });
    client.on(Events.Raw, (packet: GatewayDispatchPayload, shardId: number) => {
      if (packet.t === 'READY')
        ready.set(
          shardId,
          packet.d.guilds.map((g) => g.id),
        );
      if (packet.t === 'GUILD_CREATE') {
        const list = guildCreates.get(shardId) ?? [];
        list.push(packet.d.id);
        guildCreates.set(shardId, list);
      }
    });
    client.on(Events.ShardReady, (id) => shardReady.push(id));
    const readyEvent = once(client, Events.ClientReady);
    await client.login(sim.token);
    await readyEvent;
  }, 60_000);

  afterAll(async () => {
    await client?.destroy();
    await sim?.close();
  });

  it('logs in through REST /gateway/bot and gets READY on every shard', () => {
    expect(client.ws.shards.size).toBe(SHARDS);
    expect([...shardReady].sort()).toEqual([0, 1, 2, 3]);
    expect(client.user?.id).toBe(sim.applicationId);
    expect(client.application?.id).toBe(sim.applicationId);
    expect([...ready.keys()].sort()).toEqual([0, 1, 2, 3]);
  });

  it('each shard receives exactly the GUILD_CREATEs of its guilds ((guild_id >> 22) % 4)', async () => {
    const all = sim.world.guildIds();
    expect(all).toHaveLength(GUILDS);
    await waitFor(() => client.guilds.cache.size === GUILDS, 10_000, 'every guild cached');
    for (let shardId = 0; shardId < SHARDS; shardId++) {
      const owned = all.filter((id) => expectedShard(id, SHARDS) === shardId).sort();
      expect(owned.length).toBeGreaterThan(0);
      expect([...(ready.get(shardId) ?? [])].sort()).toEqual(owned);
      expect([...(guildCreates.get(shardId) ?? [])].sort()).toEqual(owned);
    }
    for (const guild of client.guilds.cache.values()) {
      expect(guild.shardId).toBe(expectedShard(guild.id, SHARDS));
      expect(guild.available).toBe(true);
    }
  });

  it('receives world events on the owning shard, and the simulator recorded no violation', async () => {
    const guildId = sim.world.guildIds()[7]!;
    const seen = new Promise<number>((resolve) =>
      client.on(Events.Raw, (packet: GatewayDispatchPayload, shardId: number) => {
        if (packet.t === 'TYPING_START' && packet.d.guild_id === guildId) resolve(shardId);
      }),
    );
    const channelId = client.guilds.cache.get(guildId)!.channels.cache.find((c) => c.isTextBased())!.id;
    const userId = client.guilds.cache.get(guildId)!.ownerId;
    sim.world.emit(
      'TYPING_START',
      { channel_id: channelId, guild_id: guildId, user_id: userId, timestamp: 1 },
      guildId,
    );
    expect(await seen).toBe(expectedShard(guildId, SHARDS));
    expect(sim.violations.list()).toEqual([]);
  });
});
