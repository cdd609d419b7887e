import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { SlashCommandBuilder } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CogHost, defineCog } from '../../src/cogs/framework/index.js';
import { GUILD, type Harness, harness, slash, testShardView, APP_ID } from './helpers/harness.js';

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
      rest: h.fake.rest(),
      applicationId: APP_ID,
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
    const payload = slash('once');
    await Promise.all([
      h.host.dispatch({ t: 'INTERACTION_CREATE', d: payload }),
      second.dispatch({ t: 'INTERACTION_CREATE', d: payload }),
    ]);
    const calls = await h.fake.waitForCalls(payload.token, 1);
    expect(calls).toHaveLength(1);
    expect(runs).toBe(1);
  });

  it('lets an event handler claim the event so its side effect happens once', async () => {
    const join = {
      t: GatewayDispatchEvents.GuildMemberAdd,
      d: {
        guild_id: GUILD,
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
