import { once } from 'node:events';
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  ModalBuilder,
  SlashCommandBuilder,
  TextInputBuilder,
  TextInputStyle,
  type Message,
} from 'discord.js';
import { InteractionResponseType } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scenario } from '../../src/sim/scenario/index.js';
import { createSimulator, type SimulatorHandle } from '../../src/sim/simulator.js';

// An unmodified discord.js Client logs in to the simulator, registers slash commands, receives
// INTERACTION_CREATE from the scenario API and answers; the scenario reads the answers back.
describe('discord.js Client + scenario API', () => {
  let sim: SimulatorHandle;
  let client: Client;
  let scenario: Scenario;
  let guildId: string;
  let channelId: string;
  let alice: string;
  const messages: Message[] = [];

  beforeAll(async () => {
    sim = await createSimulator({
      guilds: 3,
      membersPerGuild: 10,
      channelsPerGuild: 6,
      rolesPerGuild: 4,
      seed: 4,
      // The 3 s acknowledgement rule is covered in rest-errors; here noisy shared cores must not make it flaky.
      interactionAckTimeoutMs: 15_000,
    });
    scenario = sim.http.scenario;
    guildId = sim.world.guildIds()[0] as string;
    channelId = sim.world.guild(guildId)?.systemChannelId as string;
    alice = scenario.createUser({ username: 'alice' }).id;
    scenario.joinGuild(guildId, alice);

    client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
      rest: { api: sim.restUrl },
    });
    client.on(Events.MessageCreate, (m) => messages.push(m));
    client.on(Events.InteractionCreate, async (i) => {
      if (i.isChatInputCommand() && i.commandName === 'ping') {
        const word = i.options.getString('word') ?? 'pong';
        const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
          new ButtonBuilder().setCustomId('again').setLabel('Again').setStyle(ButtonStyle.Primary),
        );
        await i.reply({ content: `${word} from ${i.user.username}`, components: [row] });
      } else if (i.isChatInputCommand() && i.commandName === 'slow') {
        await i.deferReply({ flags: MessageFlags.Ephemeral });
        await i.editReply(`slow answer for ${i.options.getUser('target')?.username ?? 'nobody'}`);
      } else if (i.isChatInputCommand() && i.commandName === 'form') {
        const modal = new ModalBuilder()
          .setCustomId('profile')
          .setTitle('Profile')
          .addComponents(
            new ActionRowBuilder<TextInputBuilder>().addComponents(
              new TextInputBuilder().setCustomId('nick').setLabel('Nick').setStyle(TextInputStyle.Short),
            ),
          );
        await i.showModal(modal);
      } else if (i.isModalSubmit() && i.customId === 'profile') {
        await i.reply({
          content: `saved ${i.fields.getTextInputValue('nick')}`,
          flags: MessageFlags.Ephemeral,
        });
      } else if (i.isButton() && i.customId === 'again') {
        await i.update({ content: 'clicked', components: [] });
      } else if (i.isAutocomplete()) {
        const typed = String(i.options.getFocused());
        await i.respond(
          ['pong', 'ping', 'pang'].filter((w) => w.startsWith(typed)).map((w) => ({ name: w, value: w })),
        );
      }
    });
    const ready = once(client, Events.ClientReady);
    await client.login(sim.token);
    await ready;
    await client.application?.commands.set([
      new SlashCommandBuilder()
        .setName('ping')
        .setDescription('Ping')
        .addStringOption((o) => o.setName('word').setDescription('What to answer').setAutocomplete(true))
        .toJSON(),
      new SlashCommandBuilder()
        .setName('slow')
        .setDescription('Deferred')
        .addUserOption((o) => o.setName('target').setDescription('Who'))
        .toJSON(),
      new SlashCommandBuilder().setName('form').setDescription('Opens a modal').toJSON(),
    ]);
  }, 60_000);

  afterAll(async () => {
    await client?.destroy();
    await sim?.close();
  });

  it('registered the commands through discord.js (bulk overwrite)', () => {
    expect([...sim.world.globalCommands.values()].map((c) => c.name)).toEqual(['ping', 'slow', 'form']);
  });

  it('a slash command reaches the bot over the gateway and the scenario reads the reply', async () => {
    const rec = scenario.slashCommand({ channelId, userId: alice, name: 'ping', options: { word: 'hello' } });
    const outcome = await scenario.awaitReply(rec.id, 10_000);
    expect(outcome.responseType).toBe(InteractionResponseType.ChannelMessageWithSource);
    expect(outcome.message?.content).toBe('hello from alice');
    expect(outcome.message?.components).toHaveLength(1);
  });

  it('clicking the button makes the bot update the message (type 7)', async () => {
    const first = scenario.slashCommand({ channelId, userId: alice, name: 'ping' });
    const reply = await scenario.awaitReply(first.id, 10_000);
    const click = scenario.clickButton({
      channelId,
      messageId: reply.message?.id as string,
      userId: alice,
      customId: 'again',
    });
    const outcome = await scenario.awaitReply(click.id, 10_000);
    expect(outcome.responseType).toBe(InteractionResponseType.UpdateMessage);
    expect(outcome.message?.content).toBe('clicked');
    expect(sim.world.message(channelId, reply.message?.id as string)?.message.components).toEqual([]);
  });

  it('a deferred ephemeral reply with a user option resolves once edited', async () => {
    const rec = scenario.slashCommand({ channelId, userId: alice, name: 'slow', options: { target: alice } });
    const outcome = await scenario.awaitReply(rec.id, 10_000);
    expect(outcome.responseType).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    expect(outcome.message?.content).toBe('slow answer for alice');
    expect((outcome.message?.flags ?? 0) & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
  });

  it('autocomplete, modal and modal submit round-trip', async () => {
    const ac = scenario.autocomplete({
      channelId,
      userId: alice,
      name: 'ping',
      options: { word: 'pi' },
      focused: 'word',
    });
    const choices = await scenario.awaitReply(ac.id, 10_000);
    expect(choices.responseType).toBe(InteractionResponseType.ApplicationCommandAutocompleteResult);
    expect(choices.data).toEqual({ choices: [{ name: 'ping', value: 'ping' }] });

    const form = scenario.slashCommand({ channelId, userId: alice, name: 'form' });
    const modal = await scenario.awaitReply(form.id, 10_000);
    expect(modal.responseType).toBe(InteractionResponseType.Modal);
    const submit = scenario.submitModal({ fromInteractionId: form.id, fields: { nick: 'ali' } });
    const saved = await scenario.awaitReply(submit.id, 10_000);
    expect(saved.message?.content).toBe('saved ali');
  });

  it('a user message reaches the bot with content (MESSAGE_CONTENT intent)', async () => {
    const before = messages.length;
    scenario.postMessage({ channelId, userId: alice, content: 'hello bot' });
    const deadline = Date.now() + 10_000;
    while (!messages.slice(before).some((m) => m.content === 'hello bot') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(messages.slice(before).find((m) => m.author.id === alice)?.content).toBe('hello bot');
  });

  it('left no protocol violations', () => {
    expect(sim.violations.list()).toEqual([]);
  });
});
