import {
  ChannelType,
  InteractionType,
  OverwriteType,
  PermissionFlagsBits as P,
  type APIRole,
} from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRestServer, type RestServer } from '../../src/sim/rest/server.js';
import { snowflakeFrom } from '../../src/sim/world/snowflake.js';
import { World } from '../../src/sim/world/index.js';

interface Call {
  method: string;
  path: string;
  body?: unknown;
  rawBody?: string | Buffer;
  contentType?: string;
  auth?: 'bot' | 'none' | string;
  /** Path prefix after /api (default `/v10`). */
  version?: string;
}

interface Reply {
  status: number;
  headers: Headers;
  json: Record<string, unknown> | null;
}

async function call(server: RestServer, world: World, c: Call): Promise<Reply> {
  const headers: Record<string, string> = {};
  const auth = c.auth ?? 'bot';
  if (auth === 'bot') headers.Authorization = `Bot ${world.app.token}`;
  else if (auth !== 'none') headers.Authorization = auth;
  let body: string | Buffer | undefined;
  if (c.rawBody !== undefined) {
    body = c.rawBody;
    headers['Content-Type'] = c.contentType ?? 'application/json';
  } else if (c.body !== undefined) {
    body = JSON.stringify(c.body);
    headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(`${server.restUrl}${c.version ?? '/v10'}${c.path}`, {
    method: c.method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : null;
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, json };
}

/** Reads `errors.a.b._errors[0].code` of a 50035 body. */
function fieldCode(
  json: Record<string, unknown> | null,
  path: readonly (string | number)[],
): string | undefined {
  let node: unknown = json?.errors;
  for (const k of path) node = (node as Record<string, unknown> | undefined)?.[String(k)];
  return ((node as { _errors?: { code: string }[] } | undefined)?._errors ?? [])[0]?.code;
}

describe('REST errors as Discord sends them (table-driven)', () => {
  let world: World;
  let server: RestServer;
  let guildId: string;
  let general: string;
  let mutedChannel: string;
  let hiddenChannel: string;
  let victim: string;
  let boss: string;
  let ownerId: string;
  let oldMessage: string;
  let freshMessages: string[];
  let interaction: { id: string; token: string };

  beforeAll(async () => {
    world = World.create({ guilds: 2, membersPerGuild: 20, channelsPerGuild: 10, rolesPerGuild: 6, seed: 5 });
    server = await startRestServer({ world, rateLimits: { enabled: false }, maxBodyBytes: 2 * 1024 * 1024 });
    guildId = world.guildIds()[0] as string;
    const g = world.guild(guildId);
    if (!g) throw new Error('no guild');
    ownerId = g.ownerId;
    general = g.systemChannelId as string;
    const botRole = [...g.roles.values()].find((r) => r.managed) as APIRole;
    const adminRole = [...g.roles.values()].find((r) => r.name === 'Admin') as APIRole;
    victim = world.createUser({ username: 'victim' }).id;
    boss = world.createUser({ username: 'boss' }).id;
    world.addMember(guildId, victim);
    world.addMember(guildId, boss, { roles: [adminRole.id] });
    mutedChannel = world.createChannel(guildId, {
      type: ChannelType.GuildText,
      name: 'announcements-only',
      permissionOverwrites: [
        { id: botRole.id, type: OverwriteType.Role, allow: '0', deny: P.SendMessages.toString() },
      ],
    }).id;
    hiddenChannel = world.createChannel(guildId, {
      type: ChannelType.GuildText,
      name: 'secret',
      permissionOverwrites: [
        { id: guildId, type: OverwriteType.Role, allow: '0', deny: P.ViewChannel.toString() },
      ],
    }).id;
    oldMessage = world.createMessage(
      general,
      victim,
      { content: 'ancient' },
      { timestampMs: Date.now() - 20 * 86_400_000 },
    ).id;
    freshMessages = [1, 2, 3].map((i) => world.createMessage(general, victim, { content: `fresh ${i}` }).id);
    world.globalCommands.clear();
    const rec = world.interactions.create({
      type: InteractionType.ApplicationCommand,
      guildId,
      channelId: general,
      userId: victim,
      data: { id: '1', name: 'x', type: 1 },
    });
    interaction = { id: rec.id, token: rec.token };
  });

  afterAll(async () => {
    await server.close();
  });

  const unknownId = snowflakeFrom(Date.UTC(2020, 0, 1), 9, 9, 9);

  interface Row {
    name: string;
    call: () => Call | Promise<Call>;
    status: number;
    code?: number;
    message?: string;
    field?: readonly (string | number)[];
    fieldCode?: string;
  }

  const rows: Row[] = [
    {
      name: 'no Authorization header → 401 code 0',
      call: () => ({ method: 'GET', path: '/users/@me', auth: 'none' }),
      status: 401,
      code: 0,
      message: '401: Unauthorized',
    },
    {
      name: 'wrong bot token → 401',
      call: () => ({ method: 'GET', path: '/users/@me', auth: 'Bot not-the-token' }),
      status: 401,
      code: 0,
    },
    {
      name: 'bearer token on a bot-only route → 401',
      call: () => ({ method: 'GET', path: `/channels/${general}`, auth: 'Bearer nope' }),
      status: 401,
      code: 0,
    },
    {
      name: 'unknown route → 404 code 0',
      call: () => ({ method: 'GET', path: '/no/such/route' }),
      status: 404,
      code: 0,
      message: '404: Not Found',
    },
    {
      name: 'wrong method → 405',
      call: () => ({ method: 'PUT', path: `/channels/${general}/messages` }),
      status: 405,
      code: 0,
    },
    {
      name: 'unknown channel → 10003',
      call: () => ({ method: 'GET', path: `/channels/${unknownId}` }),
      status: 404,
      code: 10003,
      message: 'Unknown Channel',
    },
    {
      name: 'unknown guild → 10004',
      call: () => ({ method: 'GET', path: `/guilds/${unknownId}` }),
      status: 404,
      code: 10004,
    },
    {
      name: 'unknown member → 10007',
      call: () => ({ method: 'GET', path: `/guilds/${guildId}/members/${unknownId}` }),
      status: 404,
      code: 10007,
    },
    {
      name: 'unknown message → 10008',
      call: () => ({ method: 'GET', path: `/channels/${general}/messages/${unknownId}` }),
      status: 404,
      code: 10008,
    },
    {
      name: 'unknown role → 10011',
      call: () => ({ method: 'PATCH', path: `/guilds/${guildId}/roles/${unknownId}`, body: { name: 'x' } }),
      status: 404,
      code: 10011,
    },
    {
      name: 'unknown user → 10013',
      call: () => ({ method: 'GET', path: `/users/${unknownId}` }),
      status: 404,
      code: 10013,
    },
    {
      name: 'unknown ban → 10026',
      call: () => ({ method: 'GET', path: `/guilds/${guildId}/bans/${victim}` }),
      status: 404,
      code: 10026,
    },
    {
      name: 'unknown emoji → 10014',
      call: () => ({
        method: 'PUT',
        path: `/channels/${general}/messages/${freshMessages[0]}/reactions/notanemoji/@me`,
      }),
      status: 404,
      code: 10014,
    },
    {
      name: 'unknown application command → 10063',
      call: () => ({ method: 'GET', path: `/applications/${world.app.id}/commands/${unknownId}` }),
      status: 404,
      code: 10063,
    },
    {
      name: 'unknown interaction → 10062',
      call: () => ({
        method: 'POST',
        path: `/interactions/${unknownId}/nope/callback`,
        body: { type: 4, data: { content: 'x' } },
        auth: 'none',
      }),
      status: 404,
      code: 10062,
    },
    {
      name: 'unknown AutoMod rule → 10066',
      call: () => ({ method: 'GET', path: `/guilds/${guildId}/auto-moderation/rules/${unknownId}` }),
      status: 404,
      code: 10066,
    },
    {
      name: 'unknown scheduled event → 10070',
      call: () => ({ method: 'GET', path: `/guilds/${guildId}/scheduled-events/${unknownId}` }),
      status: 404,
      code: 10070,
    },
    {
      name: 'unknown interaction webhook → 10015',
      call: () => ({
        method: 'POST',
        path: `/webhooks/${world.app.id}/not-a-token`,
        body: { content: 'x' },
        auth: 'none',
      }),
      status: 404,
      code: 10015,
    },
    {
      name: 'channel the bot cannot view → 403 50001 Missing Access',
      call: () => ({ method: 'GET', path: `/channels/${hiddenChannel}` }),
      status: 403,
      code: 50001,
      message: 'Missing Access',
    },
    {
      name: 'send where the bot lacks SEND_MESSAGES → 403 50013',
      call: () => ({ method: 'POST', path: `/channels/${mutedChannel}/messages`, body: { content: 'hi' } }),
      status: 403,
      code: 50013,
      message: 'Missing Permissions',
    },
    {
      name: 'kick a member whose top role is above the bot → 50013',
      call: () => ({ method: 'DELETE', path: `/guilds/${guildId}/members/${boss}` }),
      status: 403,
      code: 50013,
    },
    {
      name: 'ban the guild owner → 50013 (owner immune)',
      call: () => ({ method: 'PUT', path: `/guilds/${guildId}/bans/${ownerId}`, body: {} }),
      status: 403,
      code: 50013,
    },
    {
      name: 'timeout the owner → 50013',
      call: () => ({
        method: 'PATCH',
        path: `/guilds/${guildId}/members/${ownerId}`,
        body: { communication_disabled_until: new Date(Date.now() + 60_000).toISOString() },
      }),
      status: 403,
      code: 50013,
    },
    {
      name: 'timeout an Administrator → 50013',
      call: () => ({
        method: 'PATCH',
        path: `/guilds/${guildId}/members/${boss}`,
        body: { communication_disabled_until: new Date(Date.now() + 60_000).toISOString() },
      }),
      status: 403,
      code: 50013,
    },
    {
      name: 'timeout longer than 28 days → 50035 on communication_disabled_until',
      call: () => ({
        method: 'PATCH',
        path: `/guilds/${guildId}/members/${victim}`,
        body: { communication_disabled_until: new Date(Date.now() + 29 * 86_400_000).toISOString() },
      }),
      status: 400,
      code: 50035,
      field: ['communication_disabled_until'],
      fieldCode: 'INVALID_COMMUNICATION_DISABLED_TIMESTAMP',
    },
    {
      name: 'content over 2000 chars → 50035 BASE_TYPE_MAX_LENGTH on content',
      call: () => ({
        method: 'POST',
        path: `/channels/${general}/messages`,
        body: { content: 'x'.repeat(2001) },
      }),
      status: 400,
      code: 50035,
      message: 'Invalid Form Body',
      field: ['content'],
      fieldCode: 'BASE_TYPE_MAX_LENGTH',
    },
    {
      name: 'nested embed field error → errors.embeds.0.title',
      call: () => ({
        method: 'POST',
        path: `/channels/${general}/messages`,
        body: { embeds: [{ title: 't'.repeat(257) }] },
      }),
      status: 400,
      code: 50035,
      field: ['embeds', 0, 'title'],
      fieldCode: 'BASE_TYPE_MAX_LENGTH',
    },
    {
      name: 'wrong type → 50035 on that field',
      call: () => ({ method: 'POST', path: `/channels/${general}/messages`, body: { content: 42 } }),
      status: 400,
      code: 50035,
      field: ['content'],
      fieldCode: 'STRING_TYPE_CONVERT',
    },
    {
      name: 'invalid command name → 50035 APPLICATION_COMMAND_INVALID_NAME',
      call: () => ({
        method: 'POST',
        path: `/applications/${world.app.id}/commands`,
        body: { name: 'Bad Name', description: 'x' },
      }),
      status: 400,
      code: 50035,
      field: ['name'],
      fieldCode: 'APPLICATION_COMMAND_INVALID_NAME',
    },
    {
      name: 'missing required field → BASE_TYPE_REQUIRED',
      call: () => ({ method: 'POST', path: `/guilds/${guildId}/channels`, body: {} }),
      status: 400,
      code: 50035,
      field: ['name'],
      fieldCode: 'BASE_TYPE_REQUIRED',
    },
    {
      name: 'empty message → 50006',
      call: () => ({ method: 'POST', path: `/channels/${general}/messages`, body: {} }),
      status: 400,
      code: 50006,
    },
    {
      name: 'body without a Discord content type → 50035 CONTENT_TYPE_INVALID',
      call: () => ({
        method: 'POST',
        path: `/channels/${general}/messages`,
        rawBody: '{"content":"x"}',
        contentType: 'text/plain',
      }),
      status: 400,
      code: 50035,
      field: [],
      fieldCode: 'CONTENT_TYPE_INVALID',
    },
    {
      name: 'malformed JSON → 50109',
      call: () => ({ method: 'POST', path: `/channels/${general}/messages`, rawBody: '{"content": "x"' }),
      status: 400,
      code: 50109,
    },
    {
      name: 'oversized body → 413 40005',
      call: () => ({
        method: 'POST',
        path: `/channels/${general}/messages`,
        rawBody: Buffer.alloc(3 * 1024 * 1024, 32),
      }),
      status: 413,
      code: 40005,
    },
    {
      name: 'bulk delete of one message → 50016',
      call: () => ({
        method: 'POST',
        path: `/channels/${general}/messages/bulk-delete`,
        body: { messages: [freshMessages[0]] },
      }),
      status: 400,
      code: 50016,
    },
    {
      name: 'bulk delete of 101 messages → 50016',
      call: () => ({
        method: 'POST',
        path: `/channels/${general}/messages/bulk-delete`,
        body: { messages: Array.from({ length: 101 }, () => freshMessages[0]) },
      }),
      status: 400,
      code: 50016,
    },
    {
      name: 'bulk delete including a message older than 14 days → 50034',
      call: () => ({
        method: 'POST',
        path: `/channels/${general}/messages/bulk-delete`,
        body: { messages: [freshMessages[1], oldMessage] },
      }),
      status: 400,
      code: 50034,
    },
    {
      name: 'second response to an interaction → 40060',
      call: async () => {
        const first = await call(server, world, {
          method: 'POST',
          path: `/interactions/${interaction.id}/${interaction.token}/callback`,
          body: { type: 4, data: { content: 'one' } },
          auth: 'none',
        });
        expect(first.status).toBe(204);
        return {
          method: 'POST',
          path: `/interactions/${interaction.id}/${interaction.token}/callback`,
          body: { type: 4, data: { content: 'two' } },
          auth: 'none',
        };
      },
      status: 400,
      code: 40060,
      message: 'Interaction has already been acknowledged.',
    },
    {
      name: 'API version 6 → 400 50041',
      call: () => ({ method: 'GET', path: '/users/@me', version: '/v6' }),
      status: 400,
      code: 50041,
    },
  ];

  it.each(rows)('$name', async (row) => {
    const c = await row.call();
    const res = await call(server, world, c);
    expect(res.status).toBe(row.status);
    if (row.code !== undefined) expect(res.json?.code).toBe(row.code);
    if (row.message !== undefined) expect(res.json?.message).toBe(row.message);
    if (row.field) expect(fieldCode(res.json, row.field)).toBe(row.fieldCode);
    expect(res.headers.get('content-type')).toContain('application/json');
  });

  it('records a double acknowledgement as a violation (two processes answering the same interaction)', () => {
    expect(server.violations.list('interaction_already_acknowledged')).toEqual([
      expect.objectContaining({
        code: 40060,
        route: 'POST /interactions/:interaction_id/:interaction_token/callback',
      }),
    ]);
  });

  it('a DM to a user who shares no guild with the bot → 50007', async () => {
    const stranger = world.createUser({ username: 'stranger' }).id;
    const dm = await call(server, world, {
      method: 'POST',
      path: '/users/@me/channels',
      body: { recipient_id: stranger },
    });
    expect(dm.status).toBe(200);
    const sent = await call(server, world, {
      method: 'POST',
      path: `/channels/${String(dm.json?.id)}/messages`,
      body: { content: 'hi' },
    });
    expect(sent.status).toBe(403);
    expect(sent.json?.code).toBe(50007);
    const memberDm = await call(server, world, {
      method: 'POST',
      path: '/users/@me/channels',
      body: { recipient_id: victim },
    });
    expect(
      (
        await call(server, world, {
          method: 'POST',
          path: `/channels/${String(memberDm.json?.id)}/messages`,
          body: { content: 'hi' },
        })
      ).status,
    ).toBe(200);
  });

  it('records 401/403 as invalid_request violations with route and code', () => {
    const invalid = server.violations.list('invalid_request');
    expect(invalid.some((v) => v.code === 50013 && v.route === 'POST /channels/:channel_id/messages')).toBe(
      true,
    );
    expect(invalid.some((v) => v.code === 0 && v.route === 'GET /users/@me')).toBe(true);
  });

  it('a failed bulk delete deleted nothing; a valid one deletes, emits MESSAGE_DELETE_BULK and writes the audit log', async () => {
    expect(world.message(general, freshMessages[1] as string)).toBeDefined();
    const events: string[] = [];
    const off = world.onDispatch((e) => events.push(e.t));
    const res = await call(server, world, {
      method: 'POST',
      path: `/channels/${general}/messages/bulk-delete`,
      body: { messages: [freshMessages[1], freshMessages[2]] },
    });
    off();
    expect(res.status).toBe(204);
    expect(events).toContain('MESSAGE_DELETE_BULK');
    expect(world.message(general, freshMessages[1] as string)).toBeUndefined();
    const log = await call(server, world, {
      method: 'GET',
      path: `/guilds/${guildId}/audit-logs?action_type=73`,
    });
    expect((log.json?.audit_log_entries as { options: { count: string } }[])[0]?.options.count).toBe('2');
  });
});

describe('rate limits (manual clock)', () => {
  let now = Date.UTC(2026, 0, 1);
  let world: World;
  let server: RestServer;
  let channelA: string;
  let channelB: string;

  beforeAll(async () => {
    world = World.create({
      guilds: 1,
      membersPerGuild: 5,
      channelsPerGuild: 8,
      rolesPerGuild: 4,
      seed: 9,
      clock: () => now,
    });
    server = await startRestServer({
      world,
      rateLimits: {
        globalPerSecond: 20,
        routes: { 'POST /channels/:channel_id/messages': { limit: 2, windowMs: 10_000 } },
        invalidRequests: { limit: 5, windowMs: 600_000 },
        banMs: 60_000,
      },
    });
    const g = world.guild(world.guildIds()[0] as string);
    const texts = [...(g?.channels.values() ?? [])].filter((c) => c.type === ChannelType.GuildText);
    channelA = texts[0]?.id as string;
    channelB = texts[1]?.id as string;
  });

  afterAll(async () => {
    await server.close();
  });

  it('per-route bucket: the third send in the window is a 429 with real headers, scope user; another channel is independent', async () => {
    server.handler.rateLimiter.reset();
    server.violations.clear();
    const first = await call(server, world, {
      method: 'POST',
      path: `/channels/${channelA}/messages`,
      body: { content: '1' },
    });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(first.headers.get('x-ratelimit-reset-after')).toBe('10.000');
    expect(first.headers.get('x-ratelimit-reset')).toBe(((now + 10_000) / 1000).toFixed(3));
    const bucket = first.headers.get('x-ratelimit-bucket');
    expect(bucket).toMatch(/^[0-9a-f]{32}$/);
    now += 2_500;
    await call(server, world, {
      method: 'POST',
      path: `/channels/${channelA}/messages`,
      body: { content: '2' },
    });
    const limited = await call(server, world, {
      method: 'POST',
      path: `/channels/${channelA}/messages`,
      body: { content: '3' },
    });
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual({ message: 'You are being rate limited.', retry_after: 7.5, global: false });
    expect(limited.headers.get('retry-after')).toBe('8');
    expect(limited.headers.get('x-ratelimit-scope')).toBe('user');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('x-ratelimit-bucket')).toBe(bucket);
    expect(limited.headers.get('x-ratelimit-global')).toBeNull();
    const other = await call(server, world, {
      method: 'POST',
      path: `/channels/${channelB}/messages`,
      body: { content: 'b' },
    });
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-bucket')).toBe(bucket);
    expect(server.violations.list('rate_limited')).toEqual([
      expect.objectContaining({ route: 'POST /channels/:channel_id/messages' }),
    ]);
    now += 7_500;
    const after = await call(server, world, {
      method: 'POST',
      path: `/channels/${channelA}/messages`,
      body: { content: '4' },
    });
    expect(after.status).toBe(200);
  });

  it('global limit: request 21 within one second is a 429 scope global with X-RateLimit-Global; interaction callbacks are exempt', async () => {
    server.handler.rateLimiter.reset();
    now += 60_000;
    for (let i = 0; i < 20; i++) {
      const ok = await call(server, world, { method: 'GET', path: '/users/@me' });
      expect(ok.status).toBe(200);
    }
    const limited = await call(server, world, { method: 'GET', path: `/channels/${channelA}` });
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({ message: 'You are being rate limited.', global: true });
    expect(limited.headers.get('x-ratelimit-global')).toBe('true');
    expect(limited.headers.get('x-ratelimit-scope')).toBe('global');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const rec = world.interactions.create({
      type: InteractionType.ApplicationCommand,
      guildId: world.guildIds()[0] as string,
      channelId: channelA,
      userId: world.guild(world.guildIds()[0] as string)?.ownerId as string,
      data: { id: '1', name: 'x', type: 1 },
    });
    const cb = await call(server, world, {
      method: 'POST',
      path: `/interactions/${rec.id}/${rec.token}/callback`,
      body: { type: 4, data: { content: 'still fine' } },
      auth: 'none',
    });
    expect(cb.status).toBe(204);
    now += 1_000;
    expect((await call(server, world, { method: 'GET', path: '/users/@me' })).status).toBe(200);
  });

  it('channel name/topic edits: 2 per 10 minutes per channel, then a shared-scope 429 that is not an invalid request', async () => {
    server.handler.rateLimiter.reset();
    server.violations.clear();
    now += 60_000;
    expect(
      (await call(server, world, { method: 'PATCH', path: `/channels/${channelA}`, body: { name: 'one' } }))
        .status,
    ).toBe(200);
    now += 1_000;
    expect(
      (await call(server, world, { method: 'PATCH', path: `/channels/${channelA}`, body: { topic: 'two' } }))
        .status,
    ).toBe(200);
    now += 1_000;
    const third = await call(server, world, {
      method: 'PATCH',
      path: `/channels/${channelA}`,
      body: { name: 'three' },
    });
    expect(third.status).toBe(429);
    expect(third.headers.get('x-ratelimit-scope')).toBe('shared');
    expect(third.json).toMatchObject({
      message: 'The resource is being rate limited.',
      global: false,
      retry_after: 598,
    });
    expect(world.channel(channelA)?.name).toBe('one');
    // Non-name edits still go through, and other channels have their own budget.
    expect(
      (
        await call(server, world, {
          method: 'PATCH',
          path: `/channels/${channelA}`,
          body: { rate_limit_per_user: 5 },
        })
      ).status,
    ).toBe(200);
    expect(
      (await call(server, world, { method: 'PATCH', path: `/channels/${channelB}`, body: { name: 'b-one' } }))
        .status,
    ).toBe(200);
    expect(server.handler.rateLimiter.invalidCount()).toBe(0);
    expect(server.violations.list('rate_limited')).toHaveLength(1);
    now += 598_000;
    expect(
      (await call(server, world, { method: 'PATCH', path: `/channels/${channelA}`, body: { name: 'four' } }))
        .status,
    ).toBe(200);
  });

  it('an initial response after 3 s is too late: 10062 and an interaction_ack_late violation', async () => {
    server.violations.clear();
    const guildId = world.guildIds()[0] as string;
    const rec = world.interactions.create({
      type: InteractionType.ApplicationCommand,
      guildId,
      channelId: channelA,
      userId: world.guild(guildId)?.ownerId as string,
      data: { id: '1', name: 'x', type: 1 },
    });
    now += 3_001;
    const late = await call(server, world, {
      method: 'POST',
      path: `/interactions/${rec.id}/${rec.token}/callback`,
      body: { type: 4, data: { content: 'sorry' } },
      auth: 'none',
    });
    expect(late.status).toBe(404);
    expect(late.json).toEqual({ message: 'Unknown interaction', code: 10062 });
    expect(server.violations.list('interaction_ack_late')).toHaveLength(1);
  });

  it('invalid requests (401/403/429) past the limit record a violation and start a Cloudflare ban', async () => {
    server.handler.rateLimiter.reset();
    server.violations.clear();
    now += 60_000;
    for (let i = 0; i < 6; i++)
      await call(server, world, { method: 'GET', path: '/users/@me', auth: 'Bot wrong' });
    expect(server.violations.list('invalid_request_limit')).toHaveLength(1);
    const banned = await fetch(`${server.restUrl}/v10/users/@me`, {
      headers: { Authorization: `Bot ${world.app.token}` },
    });
    expect(banned.status).toBe(429);
    expect(await banned.text()).toBe('error code: 1015');
    expect(server.violations.list('rate_limited').at(-1)?.detail).toContain('1015');
    now += 60_000;
    expect((await call(server, world, { method: 'GET', path: '/users/@me' })).status).toBe(200);
  });
});
