import { REST } from '@discordjs/rest';
import {
  GatewayIntentBits,
  Routes,
  type APIGuildMember,
  type APIMessage,
  type RESTAPIPartialCurrentUserGuild,
} from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRestServer, type RestServer } from '../../src/sim/rest/server.js';
import { World } from '../../src/sim/world/index.js';

// List endpoints page like Discord's: limit bounds, snowflake cursors (before/after/around), id order.
describe('REST pagination', () => {
  let world: World;
  let server: RestServer;
  let rest: REST;

  beforeAll(async () => {
    world = World.create({
      guilds: 450,
      membersPerGuild: 120,
      channelsPerGuild: 4,
      rolesPerGuild: 3,
      seed: 71,
    });
    server = await startRestServer({ world, rateLimits: { enabled: false } });
    rest = new REST({ api: server.restUrl }).setToken(world.app.token);
  });

  afterAll(async () => {
    await server.close();
  });

  it('GET /users/@me/guilds pages 200 at a time with after, in id order', async () => {
    const seen: string[] = [];
    let after = '0';
    for (;;) {
      const page = (await rest.get(Routes.userGuilds(), {
        query: new URLSearchParams({ after }),
      })) as RESTAPIPartialCurrentUserGuild[];
      if (page.length === 0) break;
      expect(page.length).toBeLessThanOrEqual(200);
      seen.push(...page.map((g) => g.id));
      after = page.at(-1)?.id as string;
    }
    const expected = [...world.guildIds()].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    expect(seen).toEqual(expected);
    const before = (await rest.get(Routes.userGuilds(), {
      query: new URLSearchParams({ before: expected[10] as string, limit: '5' }),
    })) as RESTAPIPartialCurrentUserGuild[];
    expect(before.map((g) => g.id)).toEqual(expected.slice(5, 10));
  });

  it('GET /guilds/:id/members: limit 1..1000 with after, and 50001 without the GUILD_MEMBERS privileged intent', async () => {
    const guildId = world.guildIds()[0] as string;
    const first = (await rest.get(Routes.guildMembers(guildId), {
      query: new URLSearchParams({ limit: '100' }),
    })) as APIGuildMember[];
    const second = (await rest.get(Routes.guildMembers(guildId), {
      query: new URLSearchParams({ limit: '100', after: first.at(-1)?.user.id as string }),
    })) as APIGuildMember[];
    expect(first).toHaveLength(100);
    expect(second).toHaveLength(21);
    const ids = [...first, ...second].map((m) => m.user.id);
    expect(new Set(ids).size).toBe(121);
    expect(ids).toEqual([...ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)));
    const bad = await fetch(`${server.restUrl}/v10/guilds/${guildId}/members?limit=1001`, {
      headers: { Authorization: `Bot ${world.app.token}` },
    });
    expect(bad.status).toBe(400);
    world.app.privilegedIntents &= ~GatewayIntentBits.GuildMembers;
    const denied = await fetch(`${server.restUrl}/v10/guilds/${guildId}/members`, {
      headers: { Authorization: `Bot ${world.app.token}` },
    });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { code: number }).code).toBe(50001);
    world.app.privilegedIntents |= GatewayIntentBits.GuildMembers;
  });

  it('GET /channels/:id/messages: newest first, before/after/around', async () => {
    const guildId = world.guildIds()[1] as string;
    const g = world.guild(guildId);
    const channelId = g?.systemChannelId as string;
    const author = g?.ownerId as string;
    const sent = Array.from(
      { length: 30 },
      (_, i) => world.createMessage(channelId, author, { content: `m${i}` }).id,
    );
    const latest = (await rest.get(Routes.channelMessages(channelId), {
      query: new URLSearchParams({ limit: '5' }),
    })) as APIMessage[];
    expect(latest.map((m) => m.content)).toEqual(['m29', 'm28', 'm27', 'm26', 'm25']);
    const before = (await rest.get(Routes.channelMessages(channelId), {
      query: new URLSearchParams({ limit: '3', before: sent[10] as string }),
    })) as APIMessage[];
    expect(before.map((m) => m.content)).toEqual(['m9', 'm8', 'm7']);
    const after = (await rest.get(Routes.channelMessages(channelId), {
      query: new URLSearchParams({ limit: '3', after: sent[10] as string }),
    })) as APIMessage[];
    expect(after.map((m) => m.content)).toEqual(['m13', 'm12', 'm11']);
    const around = (await rest.get(Routes.channelMessages(channelId), {
      query: new URLSearchParams({ limit: '5', around: sent[15] as string }),
    })) as APIMessage[];
    expect(around.map((m) => m.content)).toEqual(['m17', 'm16', 'm15', 'm14', 'm13']);
  });
});
