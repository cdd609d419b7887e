import { ApplicationCommandOptionType as O, MessageFlags } from 'discord-api-types/v10';
import { SlashCommandBuilder } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineCog, shardForGuild } from '../../src/cogs/framework/index.js';
import systemCog from '../../src/cogs/system/cog.js';
import { VERSION } from '../../src/version.js';
import { type Harness, type Where, autocomplete, harness, slash, testShardView } from './helpers/harness.js';

const fun = defineCog({
  name: 'fun',
  description: 'Games',
  commands: [
    {
      data: new SlashCommandBuilder().setName('coin').setDescription('Flip a coin'),
      run: (i) => i.reply('heads'),
    },
  ],
});
const quiet = defineCog({
  name: 'quiet',
  description: 'Off by default',
  defaultEnabled: false,
  commands: [
    { data: new SlashCommandBuilder().setName('hush').setDescription('Hush'), run: (i) => i.reply('shh') },
  ],
});

let h: Harness;

beforeAll(async () => {
  h = await harness({
    shard: testShardView({
      cluster: async () => [
        { pod: 'shard-0', shards: [0, 1], ready: true },
        { pod: 'shard-1', shards: [], ready: false },
      ],
    }),
  });
  for (const cog of [systemCog, fun, quiet]) expect((await h.host.load(cog)).ok).toBe(true);
});
afterAll(() => h.close());

async function answer(init: ReturnType<typeof slash>, where?: Where) {
  const out = await h.ask(init, where);
  return out.data as { content?: string; flags?: number; embeds?: unknown[]; choices?: unknown[] };
}

const MANAGER: Where = { as: 'manager' };
const cogsSub = (sub: string, cog?: string) =>
  answer(
    slash('cogs', [
      { name: sub, type: O.Subcommand, options: cog ? [{ name: 'cog', type: O.String, value: cog }] : [] },
    ]),
    MANAGER,
  );

describe('/status', () => {
  it('shows the guild’s shard, its latency and guild count, uptime, version, pod and the cluster view', async () => {
    const data = await answer(slash('status'));
    const embed = data.embeds?.[0] as { title: string; fields: { name: string; value: string }[] };
    const field = (name: string) => embed.fields.find((f) => f.name === name)?.value;
    const shardId = shardForGuild(h.guildId, 2);
    expect(field('Shard')).toBe(`${shardId} of 2`);
    expect(field('Gateway latency')).toBe(shardId === 0 ? '42 ms' : 'n/a');
    expect(field('Guilds on this shard')).toBe(shardId === 0 ? '12' : '3');
    expect(field('Uptime')).toMatch(/^1d 1h 1m [0-9]+s$/);
    expect(field('Version')).toBe(VERSION);
    expect(field('Pod')).toBe('shard-0 (shards 0, 1)');
    expect(field('Cluster (2 pods)')).toBe('🟢 shard-0: 0, 1\n🟠 shard-1: —');
  });
});

describe('/help', () => {
  it('lists the commands of the cogs enabled in this guild', async () => {
    const data = await answer(slash('help'));
    expect(data.flags).toBe(MessageFlags.Ephemeral);
    expect(data.content).toContain('`/coin` Flip a coin');
    expect(data.content).toContain('`/status`');
    expect(data.content).not.toContain('/hush'); // quiet is off by default
  });
});

describe('/cogs', () => {
  it('refuses members without Manage Server or Administrator', async () => {
    const data = await answer(slash('cogs', [{ name: 'list', type: O.Subcommand, options: [] }]));
    expect(data).toMatchObject({ flags: MessageFlags.Ephemeral });
    expect(data.content).toMatch(/^You need the Manage Server or Administrator permission/);
    const disable = await answer(
      slash('cogs', [
        { name: 'disable', type: O.Subcommand, options: [{ name: 'cog', type: O.String, value: 'fun' }] },
      ]),
    );
    expect(disable.content).toMatch(/^You need the Manage Server/);
    expect(await h.host.isEnabled(h.guildId, 'fun')).toBe(true);
  });

  it('lists features with their state for a manager (Administrator counts too)', async () => {
    const data = await cogsSub('list');
    expect(data.content).toBe(
      [
        '✅ **fun** — Games',
        '❌ **quiet** — Off by default',
        '✅ **system** — Status, help and per-server feature switches. (always on)',
      ].join('\n'),
    );
    const admin = await answer(slash('cogs', [{ name: 'list', type: O.Subcommand, options: [] }]), {
      as: 'owner',
    });
    expect(admin.content).toContain('**fun**');
  });

  it('disables and enables a feature for this guild', async () => {
    expect((await cogsSub('disable', 'fun')).content).toBe('The fun feature is now disabled on this server.');
    expect((await answer(slash('coin'))).content).toBe('The fun feature is disabled on this server.');
    expect((await h.settings.load(h.guildId)).fun).toEqual({ enabled: false });

    expect((await cogsSub('enable', 'quiet')).content).toBe(
      'The quiet feature is now enabled on this server.',
    );
    expect((await answer(slash('hush'))).content).toBe('shh');

    expect((await cogsSub('enable', 'fun')).content).toBe('The fun feature is now enabled on this server.');
    expect((await answer(slash('coin'))).content).toBe('heads');
  });

  it('refuses to disable the system cog and names unknown features', async () => {
    expect((await cogsSub('disable', 'system')).content).toBe('The system feature cannot be disabled.');
    expect(await h.host.isEnabled(h.guildId, 'system')).toBe(true);
    expect((await cogsSub('enable', 'nope')).content).toBe(
      'There is no feature named `nope`. Try `/cogs list`.',
    );
  });

  it('autocompletes feature names that can be switched', async () => {
    const data = await answer(
      autocomplete('cogs', [
        {
          name: 'disable',
          type: O.Subcommand,
          options: [{ name: 'cog', type: O.String, value: 'u', focused: true }],
        },
      ]),
    );
    expect(data.choices).toEqual([
      { name: 'fun', value: 'fun' },
      { name: 'quiet', value: 'quiet' },
    ]);
  });
});
