import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { SlashCommandBuilder } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CogHost, defineCog } from '../../src/cogs/framework/index.js';
import { type Harness, harness, slash, testShardView } from './helpers/harness.js';

// Two pods (hosts) sharing one claims store, as two shard generations overlapping during a reshard do.
describe('overlapping shard generations', () => {
  let h: Harness;
  let second: CogHost;
  let runs = 0;
  let welcomed = 0;

  const cog = defineCog({
    name: 'once',
    description: 'counts side effects',
    commands: [
      {
        data: new SlashCommandBuilder().setName('once').setDescription('Once'),
        run: async (i) => {
          runs += 1;
          await i.reply('done');
        },
      },
    ],
    events: {
      GUILD_MEMBER_ADD: async (member, ctx) => {
        if (await ctx.claim(`join:${member.user.id}:${member.joined_at}`)) welcomed += 1;
      },
    },
  });

  beforeAll(async () => {
    h = await harness();
    second = new CogHost({
      log: h.logs.log,
      metrics: h.metrics,
      rest: h.rest,
      applicationId: h.sim.applicationId,
      settings: h.settings,
      shard: testShardView(),
      cache: h.coordination.cache,
      read: async () => null,
      write: async () => null,
      claims: h.coordination.claims,
    });
    await h.host.load(cog);
    await second.load(cog);
  });
  afterAll(async () => {
    await second.close();
    await h.close();
  });

  it('answers an interaction seen by both pods once, and runs its handler once', async () => {
    const rec = h.sim.world.interactions.create({
      ...slash('once'),
      guildId: h.guildId,
      channelId: h.channelOf(h.guildId),
      userId: h.userFor(h.guildId, 'member'),
    });
    await Promise.all([
      h.host.dispatch({ t: 'INTERACTION_CREATE', d: rec.payload }),
      second.dispatch({ t: 'INTERACTION_CREATE', d: rec.payload }),
    ]);
    expect(h.sim.world.interactions.outcome(rec.id).message?.content).toBe('done');
    expect(h.calls.filter((c) => c.path.startsWith(`/interactions/${rec.id}/`))).toHaveLength(1);
    expect(h.sim.violations.list()).toEqual([]);
    expect(runs).toBe(1);
  });

  it('lets an event handler claim the event so its side effect happens once', async () => {
    const join = {
      t: GatewayDispatchEvents.GuildMemberAdd,
      d: {
        guild_id: h.guildId,
        user: {
          id: '300000000000000009',
          username: 'new',
          discriminator: '0',
          global_name: null,
          avatar: null,
        },
        joined_at: '2026-01-01T00:00:00.000Z',
        roles: [],
        deaf: false,
        mute: false,
        flags: 0,
      },
    };
    await Promise.all([h.host.dispatch(join), second.dispatch(join)]);
    expect(welcomed).toBe(1);
  });
});
