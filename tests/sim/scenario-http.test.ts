import { ChannelType } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DispatchEvent, GatewayControl } from '../../src/sim/contracts.js';
import { startRestServer, type RestServer } from '../../src/sim/rest/server.js';
import { World } from '../../src/sim/world/index.js';

// The scenario API over HTTP, as a test in another process (or the demo) would drive it.
describe('scenario API over HTTP (/__sim/)', () => {
  let world: World;
  let server: RestServer;
  const events: DispatchEvent[] = [];
  const gatewayCalls: unknown[][] = [];

  async function sim<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${server.url}/__sim${path}`, {
      method,
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }
        : {}),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  beforeAll(async () => {
    world = World.create({ guilds: 1, membersPerGuild: 5, channelsPerGuild: 10, rolesPerGuild: 4, seed: 41 });
    world.onDispatch((e) => events.push(e));
    const gateway: GatewayControl = {
      sessions: () => [{ sessionId: 's1', shard: [0, 1], connected: true, seq: 42, intents: 513, guilds: 1 }],
      forceDisconnect: (...args) => (gatewayCalls.push(['disconnect', ...args]), 1),
      requestReconnect: (...args) => (gatewayCalls.push(['reconnect', ...args]), 1),
      invalidateSession: (...args) => (gatewayCalls.push(['invalidate', ...args]), 1),
    };
    server = await startRestServer({ world, gateway, rateLimits: { enabled: false } });
  });

  afterAll(async () => {
    await server.close();
  });

  it('exposes the app, creates guilds in bulk (GUILD_CREATE each) and users who join and talk', async () => {
    const app = await sim<{ id: string; token: string }>('GET', '/app');
    expect(app.body).toMatchObject({ id: world.app.id, token: world.app.token });
    const created = await sim<{ ids: string[] }>('POST', '/guilds', { count: 3, members: 4, channels: 6 });
    expect(created.body.ids).toHaveLength(3);
    expect(events.filter((e) => e.t === 'GUILD_CREATE').map((e) => e.guildId)).toEqual(created.body.ids);
    const guildId = created.body.ids[0] as string;
    const guild = await sim<{ systemChannelId: string; channels: { id: string; type: number }[] }>(
      'GET',
      `/guilds/${guildId}`,
    );
    const user = await sim<{ id: string }>('POST', '/users', { username: 'bob' });
    expect((await sim('POST', `/guilds/${guildId}/members`, { userId: user.body.id })).status).toBe(200);
    const posted = await sim<{ message: { id: string; content: string } }>('POST', '/messages', {
      channelId: guild.body.systemChannelId,
      userId: user.body.id,
      content: 'hi all',
    });
    expect(posted.body.message.content).toBe('hi all');
    const listed = await sim<{ content: string }[]>(
      'GET',
      `/channels/${guild.body.systemChannelId}/messages`,
    );
    expect(listed.body.map((m) => m.content)).toContain('hi all');
    expect(
      (
        await sim<{ changed: boolean }>('POST', '/reactions', {
          channelId: guild.body.systemChannelId,
          messageId: posted.body.message.id,
          userId: user.body.id,
          emoji: '🎉',
        })
      ).body.changed,
    ).toBe(true);
    const voice = guild.body.channels.find((c) => c.type === ChannelType.GuildVoice);
    if (voice) {
      await sim('POST', '/voice', { guildId, userId: user.body.id, channelId: voice.id });
      expect(world.guild(guildId)?.voiceStates.get(user.body.id)?.channelId).toBe(voice.id);
      await sim('POST', '/voice', { guildId, userId: user.body.id, channelId: null });
      expect(world.guild(guildId)?.voiceStates.has(user.body.id)).toBe(false);
    }
    expect((await sim('DELETE', `/guilds/${guildId}/members/${user.body.id}`)).status).toBe(200);
    expect(events.at(-1)?.t).toBe('GUILD_MEMBER_REMOVE');
  });

  it('runs a slash command and waits for the reply the bot sends over REST', async () => {
    const guildId = world.guildIds()[0] as string;
    const channelId = world.guild(guildId)?.systemChannelId as string;
    const userId = world.guild(guildId)?.ownerId as string;
    await fetch(`${server.restUrl}/v10/applications/${world.app.id}/commands`, {
      method: 'PUT',
      headers: { Authorization: `Bot ${world.app.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify([
        {
          name: 'roll',
          description: 'Roll dice',
          options: [{ type: 4, name: 'sides', description: 'Sides', required: true }],
        },
      ]),
    });
    const created = await sim<{ id: string; token: string }>('POST', '/interactions/command', {
      channelId,
      userId,
      name: 'roll',
      options: { sides: 20 },
    });
    expect(created.status).toBe(200);
    const dispatched = events.findLast((e) => e.t === 'INTERACTION_CREATE')?.d as {
      data: { options: { name: string; type: number; value: number }[] };
    };
    expect(dispatched.data.options).toEqual([{ type: 4, name: 'sides', value: 20 }]);
    const waiting = sim<{ message: { content: string } }>(
      'GET',
      `/interactions/${created.body.id}/reply?timeout=5000`,
    );
    await fetch(`${server.restUrl}/v10/interactions/${created.body.id}/${created.body.token}/callback`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 4, data: { content: 'rolled 17' } }),
    });
    expect((await waiting).body.message.content).toBe('rolled 17');
    const timedOut = await sim<{ error: string }>(
      'GET',
      `/interactions/${(await sim<{ id: string }>('POST', '/interactions/command', { channelId, userId, name: 'roll', options: { sides: 6 } })).body.id}/reply?timeout=50`,
    );
    expect(timedOut.status).toBe(408);
    const bad = await sim<{ error: string }>('POST', '/interactions/command', {
      channelId,
      userId,
      name: 'roll',
      options: {},
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('required');
  });

  it('reads violations and sessions, and drives the gateway', async () => {
    await fetch(`${server.restUrl}/v10/users/@me`);
    const v = await sim<{ violations: { kind: string }[]; counts: Record<string, number> }>(
      'GET',
      '/violations',
    );
    expect(v.body.counts.invalid_request).toBeGreaterThanOrEqual(1);
    expect((await sim('DELETE', '/violations')).status).toBe(200);
    expect((await sim<{ counts: Record<string, number> }>('GET', '/violations')).body.counts).toEqual({});
    expect((await sim<{ sessions: unknown[] }>('GET', '/sessions')).body.sessions).toHaveLength(1);
    expect(
      (await sim<{ count: number }>('POST', '/gateway/disconnect', { shardId: 0, closeCode: 4000 })).body
        .count,
    ).toBe(1);
    await sim('POST', '/gateway/reconnect', { sessionId: 's1' });
    await sim('POST', '/gateway/invalidate', { shardId: 0, resumable: true });
    expect(gatewayCalls).toEqual([
      ['disconnect', { shardId: 0 }, 4000],
      ['reconnect', { sessionId: 's1' }],
      ['invalidate', { shardId: 0 }, true],
    ]);
  });

  it('answers bad input with 400 { error } and unknown routes with 404', async () => {
    expect((await sim('POST', '/messages', { channelId: 'abc' })).status).toBe(400);
    expect((await sim('GET', '/nope')).status).toBe(404);
    const malformed = await fetch(`${server.url}/__sim/users`, {
      method: 'POST',
      body: '{nope',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
  });
});
