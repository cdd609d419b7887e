import type { REST } from '@discordjs/rest';
import { ApplicationCommandType, InteractionContextType, PermissionFlagsBits } from 'discord-api-types/v10';
import { ContextMenuCommandBuilder, SlashCommandBuilder } from 'discord.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { syncAllCogCommands } from '../../src/cogs/cli.js';
import { type Cog, defineCog, syncCommands } from '../../src/cogs/framework/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import systemCog from '../../src/cogs/system/cog.js';
import { type SimulatorHandle, createSimulator } from '../../src/sim/index.js';
import { type RestCall, recordingRest } from './helpers/harness.js';

const run = () => undefined;

function cogA(description = 'Roll dice'): Cog {
  return defineCog({
    name: 'dice',
    description: 'Dice',
    commands: [
      {
        data: new SlashCommandBuilder()
          .setName('roll')
          .setDescription(description)
          .addIntegerOption((o) => o.setName('sides').setDescription('Sides').setMinValue(2).setMaxValue(100))
          .addStringOption((o) =>
            o
              .setName('mode')
              .setDescription('Mode')
              .addChoices({ name: 'Sum', value: 'sum' }, { name: 'Max', value: 'max' }),
          ),
        run,
      },
      { data: new ContextMenuCommandBuilder().setName('Roll for').setType(ApplicationCommandType.User), run },
    ],
  });
}

const cogB = defineCog({
  name: 'mod',
  description: 'Moderation',
  commands: [
    {
      data: new SlashCommandBuilder()
        .setName('warn')
        .setDescription('Warn a member')
        .setDefaultMemberPermissions(PermissionFlagsBits.ModerateMembers)
        .setContexts(InteractionContextType.Guild)
        .addUserOption((o) => o.setName('member').setDescription('Member').setRequired(true)),
      run,
    },
  ],
});

let sim: SimulatorHandle;
let rest: REST;
let calls: RestCall[];
let APP_ID: string;
let GUILD: string;
beforeEach(async () => {
  sim = await createSimulator({ guilds: 1, membersPerGuild: 2, channelsPerGuild: 2, seed: 3 });
  ({ rest, calls } = recordingRest(sim));
  APP_ID = sim.applicationId;
  GUILD = sim.world.guildIds()[0]!;
});
afterEach(() => sim.close());

const callsTo = (fragment: string, method: string) =>
  calls.filter((c) => c.path.includes(fragment) && c.method === method);
/** What Discord (the simulator) has registered: global, or in a guild. */
const registered = (guildId?: string) => [
  ...(guildId ? sim.world.requireGuild(guildId).commands : sim.world.globalCommands).values(),
];

describe('syncCommands', () => {
  it('creates everything on the first run and makes no PUT on the second (idempotent)', async () => {
    const cogs = [cogA(), cogB, systemCog];
    const first = await syncCommands(rest, APP_ID, cogs);
    expect(first).toEqual({
      changed: true,
      created: ['Roll for (user)', 'cogs', 'help', 'roll', 'status', 'warn'],
      updated: [],
      deleted: [],
    });
    expect(callsTo('/commands', 'PUT')).toHaveLength(1);
    expect(registered().map((c) => c.name)).toEqual(['roll', 'Roll for', 'warn', 'status', 'help', 'cogs']);

    // Discord answers GET with ids, versions and defaults filled in; the comparison still sees no change.
    const second = await syncCommands(rest, APP_ID, [systemCog, cogB, cogA()]);
    expect(second).toEqual({ changed: false, created: [], updated: [], deleted: [] });
    expect(callsTo('/commands', 'PUT')).toHaveLength(1);
    expect(callsTo('/commands', 'GET')).toHaveLength(2);
  });

  it('reports updated, created and deleted commands and overwrites the whole list', async () => {
    await syncCommands(rest, APP_ID, [cogA(), cogB]);
    const extra = defineCog({
      name: 'extra',
      description: 'Extra',
      commands: [{ data: new SlashCommandBuilder().setName('extra').setDescription('Extra'), run }],
    });
    const result = await syncCommands(rest, APP_ID, [cogA('Roll some dice'), extra]);
    expect(result).toEqual({ changed: true, created: ['extra'], updated: ['roll'], deleted: ['warn'] });
    expect(callsTo('/commands', 'PUT')).toHaveLength(2);
    expect(
      registered()
        .map((c) => c.name)
        .sort(),
    ).toEqual(['Roll for', 'extra', 'roll']);
    expect(registered().find((c) => c.name === 'roll')?.description).toBe('Roll some dice');
  });

  it('notices option-level changes (a new choice, a changed permission)', async () => {
    await syncCommands(rest, APP_ID, [cogB]);
    const stricter = defineCog({
      name: 'mod',
      description: 'Moderation',
      commands: [
        {
          data: new SlashCommandBuilder()
            .setName('warn')
            .setDescription('Warn a member')
            .setDefaultMemberPermissions(PermissionFlagsBits.BanMembers)
            .setContexts(InteractionContextType.Guild)
            .addUserOption((o) => o.setName('member').setDescription('Member').setRequired(true)),
          run,
        },
      ],
    });
    expect(await syncCommands(rest, APP_ID, [stricter])).toMatchObject({ changed: true, updated: ['warn'] });
    expect(await syncCommands(rest, APP_ID, [stricter])).toMatchObject({ changed: false });
  });

  it('registers per guild when given a guild id', async () => {
    const result = await syncCommands(rest, APP_ID, [cogB], { guildId: GUILD });
    expect(result.created).toEqual(['warn']);
    expect(callsTo(`/guilds/${GUILD}/commands`, 'PUT')).toHaveLength(1);
    expect(registered(GUILD).map((c) => c.name)).toEqual(['warn']);
    expect(registered()).toEqual([]);
    expect((await syncCommands(rest, APP_ID, [cogB], { guildId: GUILD })).changed).toBe(false);
  });

  it('refuses two cogs defining the same command', async () => {
    const clash = defineCog({
      name: 'clash',
      description: 'Clash',
      commands: [{ data: new SlashCommandBuilder().setName('warn').setDescription('Other warn'), run }],
    });
    await expect(syncCommands(rest, APP_ID, [cogB, clash])).rejects.toThrow(/more than one cog/);
    expect(callsTo('/commands', 'PUT')).toHaveLength(0);
  });
});

describe('syncAllCogCommands (the `guildhall cogs sync` step)', () => {
  it('discovers the cogs under src/cogs, registers their commands, and is idempotent', async () => {
    const first = await syncAllCogCommands({ rest, applicationId: APP_ID, log: silentLogger() });
    expect(first.changed).toBe(true);
    expect(first.created).toEqual(expect.arrayContaining(['cogs', 'help', 'status']));
    const second = await syncAllCogCommands({ rest, applicationId: APP_ID, log: silentLogger() });
    expect(second.changed).toBe(false);
    expect(callsTo('/commands', 'PUT')).toHaveLength(1);
  });
});
