import { REST } from '@discordjs/rest';
import {
  ComponentType,
  InteractionResponseType,
  InteractionType,
  Routes,
  type APIMessage,
} from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DispatchEvent } from '../../src/sim/contracts.js';
import { startRestServer, type RestServer } from '../../src/sim/rest/server.js';
import type { Scenario } from '../../src/sim/scenario/index.js';
import { World } from '../../src/sim/world/index.js';

// Message components played by the scenario: selects (string and user, with resolved data), a deferred
// update (type 6) followed by an edit of @original (the component's message), and the checks the
// scenario makes before it lets a user click.
describe('scenario components', () => {
  let world: World;
  let server: RestServer;
  let rest: REST;
  let scenario: Scenario;
  let channelId: string;
  let guildId: string;
  let user: string;
  let menu: APIMessage;
  const events: DispatchEvent[] = [];

  beforeAll(async () => {
    world = World.create({ guilds: 1, membersPerGuild: 6, channelsPerGuild: 6, rolesPerGuild: 4, seed: 61 });
    world.onDispatch((e) => events.push(e));
    server = await startRestServer({ world, rateLimits: { enabled: false } });
    rest = new REST({ api: server.restUrl }).setToken(world.app.token);
    scenario = server.handler.scenario;
    guildId = world.guildIds()[0] as string;
    channelId = world.guild(guildId)?.systemChannelId as string;
    user = scenario.createUser({ username: 'picker' }).id;
    scenario.joinGuild(guildId, user);
    menu = (await rest.post(Routes.channelMessages(channelId), {
      body: {
        content: 'Pick roles',
        components: [
          {
            type: 1,
            components: [
              {
                type: 3,
                custom_id: 'colour',
                min_values: 1,
                max_values: 2,
                options: [
                  { label: 'Red', value: 'red' },
                  { label: 'Blue', value: 'blue' },
                  { label: 'Green', value: 'green' },
                ],
              },
            ],
          },
          { type: 1, components: [{ type: 5, custom_id: 'who' }] },
          { type: 1, components: [{ type: 2, style: 1, custom_id: 'off', label: 'Off', disabled: true }] },
        ],
      },
    })) as APIMessage;
  });

  afterAll(async () => {
    await server.close();
  });

  it('a string select sends the chosen values; a deferred update then an edit of @original changes the menu message', async () => {
    const rec = scenario.selectMenu({
      channelId,
      messageId: menu.id,
      userId: user,
      customId: 'colour',
      values: ['red', 'green'],
    });
    const payload = events.findLast((e) => e.t === 'INTERACTION_CREATE')?.d as {
      type: number;
      data: { custom_id: string; component_type: number; values: string[] };
      message: { id: string };
    };
    expect(payload.type).toBe(InteractionType.MessageComponent);
    expect(payload.data).toEqual({
      custom_id: 'colour',
      component_type: ComponentType.StringSelect,
      values: ['red', 'green'],
    });
    expect(payload.message.id).toBe(menu.id);
    const waiting = scenario.awaitReply(rec.id, 5000);
    await rest.post(Routes.interactionCallback(rec.id, rec.token), {
      body: { type: InteractionResponseType.DeferredMessageUpdate },
      auth: false,
    });
    const edited = (await rest.patch(Routes.webhookMessage(world.app.id, rec.token, '@original'), {
      body: { content: 'Saved: red, green', components: [] },
      auth: false,
    })) as APIMessage;
    expect(edited.id).toBe(menu.id);
    const outcome = await waiting;
    expect(outcome.responseType).toBe(InteractionResponseType.DeferredMessageUpdate);
    expect(outcome.message?.content).toBe('Saved: red, green');
    expect(world.message(channelId, menu.id)?.message.components).toEqual([]);
  });

  it('a user select carries resolved users and members', () => {
    const fresh = world.createMessage(channelId, world.botId, {
      content: 'who?',
      components: [{ type: 1, components: [{ type: 5, custom_id: 'who' }] }],
    });
    scenario.selectMenu({ channelId, messageId: fresh.id, userId: user, customId: 'who', values: [user] });
    const payload = events.findLast((e) => e.t === 'INTERACTION_CREATE')?.d as {
      data: {
        resolved: {
          users: Record<string, { username: string }>;
          members: Record<string, { roles: string[] }>;
        };
      };
    };
    expect(payload.data.resolved.users[user]?.username).toBe('picker');
    expect(payload.data.resolved.members[user]).toBeDefined();
  });

  it('components on an ephemeral reply work: the click updates the ephemeral message (type 7)', async () => {
    await rest.put(Routes.applicationCommands(world.app.id), {
      body: [{ name: 'settings', description: 'Your settings' }],
    });
    const cmd = scenario.slashCommand({ channelId, userId: user, name: 'settings' });
    await rest.post(Routes.interactionCallback(cmd.id, cmd.token), {
      body: {
        type: 4,
        data: {
          content: 'Notifications: off',
          flags: 64,
          components: [
            { type: 1, components: [{ type: 2, style: 1, custom_id: 'toggle', label: 'Toggle' }] },
          ],
        },
      },
      auth: false,
    });
    const panel = (await scenario.awaitReply(cmd.id)).message as APIMessage;
    expect(world.message(channelId, panel.id)).toBeUndefined();
    const click = scenario.clickButton({ channelId, messageId: panel.id, userId: user, customId: 'toggle' });
    await rest.post(Routes.interactionCallback(click.id, click.token), {
      body: { type: 7, data: { content: 'Notifications: on' } },
      auth: false,
    });
    const outcome = await scenario.awaitReply(click.id);
    expect(outcome.message).toMatchObject({ id: panel.id, content: 'Notifications: on', flags: 64 });
    expect(scenario.interactionOutcome(cmd.id).message?.content).toBe('Notifications: on');
  });

  it('refuses what a Discord client would not let a user do', () => {
    const fresh = world.createMessage(channelId, world.botId, {
      content: 'x',
      components: [
        { type: 1, components: [{ type: 3, custom_id: 'c', options: [{ label: 'A', value: 'a' }] }] },
        {
          type: 1,
          components: [
            { type: 2, style: 1, custom_id: 'off', label: 'Off', disabled: true },
            { type: 2, style: 1, custom_id: 'on', label: 'On' },
          ],
        },
      ],
    });
    expect(() =>
      scenario.selectMenu({ channelId, messageId: fresh.id, userId: user, customId: 'c', values: ['zzz'] }),
    ).toThrow(/not an option/);
    expect(() =>
      scenario.selectMenu({ channelId, messageId: fresh.id, userId: user, customId: 'c', values: [] }),
    ).toThrow(/takes 1..1/);
    expect(() =>
      scenario.clickButton({ channelId, messageId: fresh.id, userId: user, customId: 'off' }),
    ).toThrow(/disabled/);
    expect(() =>
      scenario.clickButton({ channelId, messageId: fresh.id, userId: user, customId: 'missing' }),
    ).toThrow(/no component/);
    const outsider = scenario.createUser({ username: 'outsider' }).id;
    expect(() =>
      scenario.clickButton({ channelId, messageId: fresh.id, userId: outsider, customId: 'on' }),
    ).toThrow(/not a member/);
    expect(scenario.clickButton({ channelId, messageId: fresh.id, userId: user, customId: 'on' }).type).toBe(
      InteractionType.MessageComponent,
    );
  });
});
