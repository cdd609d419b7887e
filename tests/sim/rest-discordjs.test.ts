import { REST } from '@discordjs/rest';
import {
  InteractionResponseType,
  MessageFlags,
  Routes,
  type APIApplicationCommand,
  type APIMessage,
  type RESTGetAPIGatewayBotResult,
} from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DispatchEvent } from '../../src/sim/contracts.js';
import { Scenario } from '../../src/sim/scenario/index.js';
import { startRestServer, type RestServer } from '../../src/sim/rest/server.js';
import { World } from '../../src/sim/world/index.js';

// An unmodified @discordjs/rest client (the one discord.js uses) talks to the simulator over real HTTP.
describe('@discordjs/rest against the simulated REST API', () => {
  let world: World;
  let server: RestServer;
  let rest: REST;
  let scenario: Scenario;
  const events: DispatchEvent[] = [];
  let guildId: string;
  let channelId: string;
  let alice: string;

  beforeAll(async () => {
    world = World.create({
      guilds: 5,
      membersPerGuild: 30,
      channelsPerGuild: 12,
      rolesPerGuild: 6,
      seed: 11,
    });
    world.onDispatch((e) => events.push(e));
    // Small windows so that a burst needs the client to honour the headers, without making the test slow.
    server = await startRestServer({
      world,
      rateLimits: {
        routes: {
          'POST /channels/:channel_id/messages': { limit: 3, windowMs: 400 },
          // Discord allows 2 bulk overwrites per minute; the test does more than that.
          'PUT /applications/:application_id/commands': { limit: 10, windowMs: 1000 },
        },
      },
    });
    rest = new REST({ api: server.restUrl }).setToken(world.app.token);
    scenario = new Scenario({
      world,
      gateway: {
        sessions: () => [],
        forceDisconnect: () => 0,
        requestReconnect: () => 0,
        invalidateSession: () => 0,
      },
      violations: server.violations,
    });
    guildId = world.guildIds()[0] as string;
    const g = world.guild(guildId);
    channelId = g?.systemChannelId as string;
    alice = scenario.createUser({ username: 'alice' }).id;
    scenario.joinGuild(guildId, alice);
  });

  afterAll(async () => {
    await server.close();
  });

  it('GET /gateway/bot reports the gateway URL, recommended shards and the session start limit', async () => {
    const info = (await rest.get(Routes.gatewayBot())) as RESTGetAPIGatewayBotResult;
    expect(info.url).toBe(server.url.replace('http', 'ws'));
    expect(info.shards).toBe(1);
    expect(info.session_start_limit).toEqual({
      total: 1000,
      remaining: 1000,
      reset_after: 86_400_000,
      max_concurrency: 1,
    });
  });

  it('sends a message with an embed, the world stores it and MESSAGE_CREATE goes out with GUILD_MESSAGES', async () => {
    events.length = 0;
    const sent = (await rest.post(Routes.channelMessages(channelId), {
      body: { content: `hi <@${alice}>`, embeds: [{ title: 'Welcome', description: 'to the sim' }] },
    })) as APIMessage;
    expect(sent.content).toBe(`hi <@${alice}>`);
    expect(sent.author.id).toBe(world.botId);
    expect(sent.mentions.map((u) => u.id)).toEqual([alice]);
    expect(world.message(channelId, sent.id)?.message.embeds[0]?.title).toBe('Welcome');
    const create = events.find((e) => e.t === 'MESSAGE_CREATE');
    expect(create).toMatchObject({ guildId, intents: 1 << 9, messageContent: true });
    expect((create?.d as { member?: unknown }).member).toBeDefined();
  });

  it('edits a message (MESSAGE_UPDATE, edited_timestamp) and reads it back', async () => {
    const sent = (await rest.post(Routes.channelMessages(channelId), {
      body: { content: 'draft' },
    })) as APIMessage;
    events.length = 0;
    const edited = (await rest.patch(Routes.channelMessage(channelId, sent.id), {
      body: { content: 'final' },
    })) as APIMessage;
    expect(edited.content).toBe('final');
    expect(edited.edited_timestamp).not.toBeNull();
    expect(events.map((e) => e.t)).toEqual(['MESSAGE_UPDATE']);
    const fetched = (await rest.get(Routes.channelMessage(channelId, sent.id))) as APIMessage;
    expect(fetched.content).toBe('final');
  });

  it('uploads attachments with multipart payload_json + files[n] and serves them back', async () => {
    const data = Buffer.from('hello attachment');
    const sent = (await rest.post(Routes.channelMessages(channelId), {
      body: { content: 'file', attachments: [{ id: 0, description: 'greeting' }] },
      files: [{ name: 'hello.txt', data, contentType: 'text/plain' }],
    })) as APIMessage;
    expect(sent.attachments).toHaveLength(1);
    expect(sent.attachments[0]).toMatchObject({
      filename: 'hello.txt',
      size: data.length,
      description: 'greeting',
      content_type: 'text/plain',
    });
    const res = await fetch(sent.attachments[0]?.url as string);
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe('hello attachment');
  });

  it('a burst of sends over a 3-per-400ms bucket completes with zero 429s because the client honours X-RateLimit-*', async () => {
    server.violations.clear();
    const sends = Array.from({ length: 10 }, (_, i) =>
      rest.post(Routes.channelMessages(channelId), { body: { content: `burst ${i}` } }),
    );
    const out = (await Promise.all(sends)) as APIMessage[];
    expect(out.map((m) => m.content)).toEqual(Array.from({ length: 10 }, (_, i) => `burst ${i}`));
    expect(server.violations.list('rate_limited')).toEqual([]);
  });

  it('registers slash commands by bulk overwrite; GET returns the same set; an identical re-PUT keeps ids and versions', async () => {
    const body = [
      { name: 'ping', description: 'Replies with pong' },
      {
        name: 'warn',
        description: 'Warn a member',
        options: [
          { type: 6, name: 'user', description: 'Who', required: true },
          { type: 3, name: 'reason', description: 'Why' },
        ],
      },
      { name: 'Report message', type: 3 },
    ];
    const first = (await rest.put(Routes.applicationCommands(world.app.id), {
      body,
    })) as APIApplicationCommand[];
    expect(first.map((c) => c.name)).toEqual(['ping', 'warn', 'Report message']);
    const listed = (await rest.get(Routes.applicationCommands(world.app.id))) as APIApplicationCommand[];
    expect(listed).toEqual(first);
    const again = (await rest.put(Routes.applicationCommands(world.app.id), {
      body,
    })) as APIApplicationCommand[];
    expect(again.map((c) => [c.id, c.version])).toEqual(first.map((c) => [c.id, c.version]));

    const changed = structuredClone(body);
    (changed[0] as { description: string }).description = 'Replies with pong, faster';
    const third = (await rest.put(Routes.applicationCommands(world.app.id), {
      body: changed.slice(0, 2),
    })) as APIApplicationCommand[];
    expect(third).toHaveLength(2);
    expect(third[0]?.id).toBe(first[0]?.id);
    expect(third[0]?.version).not.toBe(first[0]?.version);
    expect(third[1]?.version).toBe(first[1]?.version);
    expect(world.globalCommands.size).toBe(2);

    const guildCmds = (await rest.put(Routes.applicationGuildCommands(world.app.id, guildId), {
      body: [{ name: 'setup', description: 'Configure' }],
    })) as APIApplicationCommand[];
    expect(guildCmds[0]).toMatchObject({ name: 'setup', guild_id: guildId });
    const created = (await rest.post(Routes.applicationGuildCommands(world.app.id, guildId), {
      body: { name: 'setup', description: 'Configure v2' },
    })) as APIApplicationCommand;
    expect(created.id).toBe(guildCmds[0]?.id);
    await rest.delete(Routes.applicationGuildCommand(world.app.id, guildId, created.id));
    expect(await rest.get(Routes.applicationGuildCommands(world.app.id, guildId))).toEqual([]);
  });

  it('answers an interaction: callback, follow-up and edit of @original, and the scenario reads the reply', async () => {
    await rest.put(Routes.applicationCommands(world.app.id), {
      body: [{ name: 'ping', description: 'Replies with pong' }],
    });
    events.length = 0;
    const rec = scenario.slashCommand({ channelId, userId: alice, name: 'ping' });
    const create = events.find((e) => e.t === 'INTERACTION_CREATE');
    expect(create).toMatchObject({ intents: 0, guildId });
    const payload = create?.d as {
      id: string;
      token: string;
      data: { name: string };
      member: { user: { id: string } };
    };
    expect(payload.data.name).toBe('ping');
    expect(payload.member.user.id).toBe(alice);

    await rest.post(Routes.interactionCallback(payload.id, payload.token), {
      body: { type: InteractionResponseType.ChannelMessageWithSource, data: { content: 'pong' } },
      auth: false,
    });
    const follow = (await rest.post(Routes.webhook(world.app.id, payload.token), {
      body: { content: 'and a follow-up', flags: MessageFlags.Ephemeral },
      auth: false,
    })) as APIMessage;
    expect(follow.flags ?? 0).toBe(MessageFlags.Ephemeral);
    const edited = (await rest.patch(Routes.webhookMessage(world.app.id, payload.token, '@original'), {
      body: { content: 'pong!' },
      auth: false,
    })) as APIMessage;
    expect(edited.content).toBe('pong!');
    const original = (await rest.get(Routes.webhookMessage(world.app.id, payload.token, '@original'), {
      auth: false,
    })) as APIMessage;
    expect(original.id).toBe(edited.id);

    const outcome = await scenario.awaitReply(rec.id);
    expect(outcome.responseType).toBe(InteractionResponseType.ChannelMessageWithSource);
    expect(outcome.message?.content).toBe('pong!');
    expect(outcome.message?.interaction_metadata?.id).toBe(rec.id);
    expect(outcome.followups.map((m) => m.content)).toEqual(['and a follow-up']);
    // The ephemeral follow-up is not a channel message; the public reply is.
    expect(world.message(channelId, edited.id)).toBeDefined();
    expect(world.message(channelId, follow.id)).toBeUndefined();
  });

  it('a deferred reply counts as answered once @original is edited', async () => {
    const rec = scenario.slashCommand({ channelId, userId: alice, name: 'ping' });
    const waiting = scenario.awaitReply(rec.id, 5000);
    await rest.post(Routes.interactionCallback(rec.id, rec.token), {
      body: { type: InteractionResponseType.DeferredChannelMessageWithSource },
      auth: false,
    });
    expect(scenario.interactionOutcome(rec.id).message?.flags).toBe(MessageFlags.Loading);
    await rest.patch(Routes.webhookMessage(world.app.id, rec.token, '@original'), {
      body: { content: 'done thinking' },
      auth: false,
    });
    const outcome = await waiting;
    expect(outcome.message?.content).toBe('done thinking');
    expect(outcome.message?.flags ?? 0).toBe(0);
  });
});
