import {
  ApplicationCommandOptionType as O,
  ApplicationCommandType,
  InteractionResponseType,
  MessageFlags,
} from 'discord-api-types/v10';
import { ContextMenuCommandBuilder, ModalBuilder, SlashCommandBuilder } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCog } from '../../src/cogs/framework/index.js';
import {
  type Harness,
  autocomplete,
  button,
  contextMenu,
  harness,
  histogramCount,
  metricValue,
  modalSubmit,
  slash,
} from './helpers/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const demo = defineCog({
  name: 'demo',
  description: 'Test cog',
  commands: [
    {
      data: new SlashCommandBuilder().setName('ping').setDescription('Ping'),
      run: (i) => i.reply('pong'),
    },
    {
      data: new SlashCommandBuilder()
        .setName('echo')
        .setDescription('Echo')
        .addStringOption((o) => o.setName('text').setDescription('Text').setRequired(true).setMaxLength(20))
        .addIntegerOption((o) => o.setName('times').setDescription('Times').setMinValue(1).setMaxValue(3)),
      run: (i) => i.reply(String(i.options.text).repeat(Number(i.options.times ?? 1))),
    },
    {
      data: new SlashCommandBuilder()
        .setName('days')
        .setDescription('Days')
        .addIntegerOption((o) => o.setName('days').setDescription('Days').setRequired(true)),
      options: z.object({ days: z.number().int().max(30, { error: 'must be 30 or less' }) }),
      run: (i) => i.reply(`in ${i.options.days + 0} days`),
    },
    {
      data: new SlashCommandBuilder()
        .setName('pick')
        .setDescription('Pick a fruit')
        .addStringOption((o) => o.setName('fruit').setDescription('Fruit').setAutocomplete(true)),
      run: (i) => i.reply(`picked ${String(i.options.fruit)}`),
      autocomplete: (i) =>
        ['apple', 'apricot', 'banana']
          .filter((f) => f.startsWith(String(i.focused.value)))
          .map((f) => ({ name: f, value: f })),
    },
    {
      data: new SlashCommandBuilder()
        .setName('cfg')
        .setDescription('Config')
        .addSubcommand((s) => s.setName('show').setDescription('Show'))
        .addSubcommandGroup((g) =>
          g
            .setName('set')
            .setDescription('Set')
            .addSubcommand((s) =>
              s
                .setName('color')
                .setDescription('Color')
                .addStringOption((o) =>
                  o
                    .setName('value')
                    .setDescription('Value')
                    .setRequired(true)
                    .addChoices({ name: 'Red', value: 'red' }, { name: 'Blue', value: 'blue' }),
                ),
            ),
        ),
      run: (i) =>
        i.reply(`${i.subcommandGroup ?? '-'}/${i.subcommand ?? '-'}/${String(i.options.value ?? '')}`),
    },
    {
      data: new SlashCommandBuilder().setName('slow').setDescription('Slow'),
      run: async (i) => {
        await sleep(600);
        await i.reply({ content: 'late answer', ephemeral: true });
      },
    },
    {
      data: new SlashCommandBuilder()
        .setName('lookup')
        .setDescription('Autocomplete that finds nothing')
        .addStringOption((o) => o.setName('q').setDescription('Query').setAutocomplete(true)),
      run: (i) => i.reply('looked up'),
      autocomplete: () => undefined,
    },
    {
      data: new SlashCommandBuilder().setName('boom').setDescription('Throws'),
      run: () => {
        throw new Error('kaboom');
      },
    },
    {
      data: new SlashCommandBuilder().setName('boomlater').setDescription('Defers then throws'),
      run: async (i) => {
        await i.defer({ ephemeral: true });
        throw new Error('late kaboom');
      },
    },
    {
      data: new SlashCommandBuilder().setName('long').setDescription('Replies with too much text'),
      run: (i) => i.reply('x'.repeat(2001)),
    },
    {
      data: new SlashCommandBuilder().setName('silent').setDescription('Never answers'),
      run: () => undefined,
    },
    {
      data: new SlashCommandBuilder().setName('form').setDescription('Opens a modal'),
      run: (i, ctx) =>
        i.showModal(
          new ModalBuilder()
            .setCustomId(ctx.customId('feedback', 'ticket', 7))
            .setTitle('Feedback')
            .addComponents({
              type: 1,
              components: [{ type: 4, custom_id: 'text', label: 'Text', style: 1 }],
            } as never),
        ),
    },
    {
      data: new ContextMenuCommandBuilder().setName('Inspect').setType(ApplicationCommandType.User),
      run: (i) => i.reply({ content: `target ${i.targetId}`, ephemeral: true }),
    },
  ],
  components: {
    page: (i) => i.update({ content: `page ${i.args.join(',')}` }),
    'page:last': (i) => i.update({ content: 'the last page' }),
    quiet: () => undefined,
    explode: async (i) => {
      await i.deferUpdate();
      throw new Error('component failed');
    },
  },
  modals: {
    mute: () => undefined,
    feedback: (i) =>
      i.reply({ content: `thanks for ${i.args.join('#')}: ${i.field('text')}`, ephemeral: true }),
  },
});

const other = defineCog({
  name: 'other',
  description: 'Another cog',
  commands: [
    {
      data: new SlashCommandBuilder().setName('other').setDescription('Other'),
      run: (i) => i.reply('other here'),
    },
  ],
  components: { go: (i) => i.reply('went') },
});

let h: Harness;

beforeAll(async () => {
  h = await harness({ autoDeferMs: 250 });
  expect((await h.host.load(demo)).ok).toBe(true);
  expect((await h.host.load(other)).ok).toBe(true);
  await h.settings.update(h.otherGuildId, 'other', { enabled: false });
});

afterEach(() => {
  // Whatever a test did, the bot never broke Discord's interaction rules (double acks, late acks, …).
  expect(h.sim.violations.list()).toEqual([]);
});

afterAll(async () => {
  await h.close();
});

const REF = /^Something went wrong \(ref ([0-9a-f]{8})\)\.$/;
const ephemeral = (flags: number | undefined) => ((flags ?? 0) & MessageFlags.Ephemeral) !== 0;
const callbacksFor = (id: string) => h.calls.filter((c) => c.path.startsWith(`/interactions/${id}/`));

describe('routing', () => {
  it('routes a slash command by name and answers through the interaction callback', async () => {
    const rec = await h.interact(slash('ping'));
    const out = h.sim.world.interactions.outcome(rec.id);
    expect(out.responseType).toBe(InteractionResponseType.ChannelMessageWithSource);
    expect(out.data).toEqual({ content: 'pong', allowed_mentions: { parse: [] } });
    expect(out.message?.content).toBe('pong');
    const calls = callbacksFor(rec.id);
    expect(calls).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: `/interactions/${rec.id}/${rec.token}/callback`,
        status: 204,
      }),
    ]);
    expect(calls[0]!.authorized).toBe(false); // interaction callbacks go without the bot token
  });

  it('passes validated options, subcommand groups and context menu targets', async () => {
    const echo = await h.ask(
      slash('echo', [
        { name: 'text', type: O.String, value: 'ab' },
        { name: 'times', type: O.Integer, value: 3 },
      ]),
    );
    expect(echo.message?.content).toBe('ababab');

    const cfg = await h.ask(
      slash('cfg', [
        {
          name: 'set',
          type: O.SubcommandGroup,
          options: [
            {
              name: 'color',
              type: O.Subcommand,
              options: [{ name: 'value', type: O.String, value: 'blue' }],
            },
          ],
        },
      ]),
    );
    expect(cfg.message?.content).toBe('set/color/blue');

    const show = await h.ask(slash('cfg', [{ name: 'show', type: O.Subcommand, options: [] }]));
    expect(show.message?.content).toBe('-/show/');

    const target = h.userFor(h.guildId, 'owner');
    const inspect = await h.ask(contextMenu('Inspect', ApplicationCommandType.User, target));
    expect(inspect.message?.content).toBe(`target ${target}`);
    expect(ephemeral(inspect.message?.flags)).toBe(true);
  });

  it('routes autocomplete to the command’s autocomplete handler', async () => {
    const out = await h.ask(
      autocomplete('pick', [{ name: 'fruit', type: O.String, value: 'ap', focused: true }]),
    );
    expect(out.responseType).toBe(InteractionResponseType.ApplicationCommandAutocompleteResult);
    expect(out.data).toEqual({
      choices: [
        { name: 'apple', value: 'apple' },
        { name: 'apricot', value: 'apricot' },
      ],
    });
  });

  it('routes components by custom id prefix, longest prefix first, with the remaining parts as args', async () => {
    const paged = await h.ask(button('demo:page:3:x', h.panel()));
    expect(paged.responseType).toBe(InteractionResponseType.UpdateMessage);
    expect(paged.message?.content).toBe('page 3,x'); // the panel message itself was edited
    expect((await h.ask(button('demo:page:last', h.panel()))).message?.content).toBe('the last page');
    expect((await h.ask(button('other:go', h.panel()))).message?.content).toBe('went');
  });

  it('opens a modal and routes its submit by prefix with fields', async () => {
    const opened = await h.ask(slash('form'));
    expect(opened.responseType).toBe(InteractionResponseType.Modal);
    expect((opened.data as { custom_id: string }).custom_id).toBe('demo:feedback:ticket:7');

    const submitted = await h.ask(modalSubmit('demo:feedback:ticket:7', { text: 'great bot' }));
    expect(submitted.message?.content).toBe('thanks for ticket#7: great bot');
    expect(ephemeral(submitted.message?.flags)).toBe(true);
  });

  it('acknowledges a component handler that stayed silent with a deferred update', async () => {
    const out = await h.ask(button('demo:quiet', h.panel()));
    expect(out.responseType).toBe(InteractionResponseType.DeferredMessageUpdate);
  });

  it('answers an autocomplete handler that returned nothing with no choices', async () => {
    const out = await h.ask(
      autocomplete('lookup', [{ name: 'q', type: O.String, value: 'x', focused: true }]),
    );
    expect(out).toMatchObject({
      responseType: InteractionResponseType.ApplicationCommandAutocompleteResult,
      data: { choices: [] },
    });
  });

  it('treats a silent handler of a modal that did not come from a message as an error', async () => {
    const out = await h.ask(modalSubmit('demo:mute', { text: 'x' }));
    expect(out.message?.content).toMatch(/^Something went wrong \(ref [0-9a-f]{8}\)\.$/);
  });

  it('answers unknown commands and stale custom ids ephemerally', async () => {
    const unknown = await h.ask(slash('nope'));
    expect(unknown.message?.content).toMatch(/not available/);
    expect(ephemeral(unknown.message?.flags)).toBe(true);
    const stale = await h.ask(button('gone:thing', h.panel()));
    expect(stale.message?.content).toBe('This control is no longer active.');
    expect(
      await metricValue(h.metrics, 'guildhall_cog_interactions_total', {
        cog: 'unknown',
        kind: 'command',
        outcome: 'unknown',
      }),
    ).toBe(1);
  });
});

describe('errors', () => {
  it('turns a handler error into an ephemeral message with a ref that is logged', async () => {
    const out = await h.ask(slash('boom'));
    expect(out.responseType).toBe(InteractionResponseType.ChannelMessageWithSource);
    expect(ephemeral(out.message?.flags)).toBe(true);
    const ref = REF.exec(out.message?.content ?? '')?.[1];
    expect(ref).toBeDefined();
    const logged = h.logs.find((l) => l.ref === ref);
    expect(logged).toMatchObject({
      cog: 'demo',
      guildId: h.guildId,
      event: 'command:boom',
      msg: 'cog handler failed',
    });
    expect((logged?.err as { message: string }).message).toBe('kaboom');
    expect(
      await metricValue(h.metrics, 'guildhall_cog_handler_errors_total', {
        cog: 'demo',
        event: 'command:boom',
      }),
    ).toBe(1);
  });

  it('edits the deferred response when the handler fails after deferring', async () => {
    const out = await h.ask(slash('boomlater'));
    expect(out.responseType).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    expect(out.message?.content).toMatch(REF);
    expect(ephemeral(out.message?.flags)).toBe(true);
    expect(out.message?.edited_timestamp).not.toBeNull();
  });

  it('sends an ephemeral follow-up when a component fails after its deferred update', async () => {
    const out = await h.ask(button('demo:explode', h.panel()));
    expect(out.responseType).toBe(InteractionResponseType.DeferredMessageUpdate);
    expect(out.followups).toHaveLength(1);
    expect(out.followups[0]!.content).toMatch(REF);
    expect(ephemeral(out.followups[0]!.flags)).toBe(true);
  });

  it('still answers when Discord rejects the handler’s reply (the rejected callback did not count)', async () => {
    const rec = await h.interact(slash('long'));
    const out = h.sim.world.interactions.outcome(rec.id);
    expect(out.message?.content).toMatch(REF);
    expect(callbacksFor(rec.id).map((c) => c.status)).toEqual([400, 204]);
    const logged = h.logs.find((l) => l.event === 'command:long' && l.msg === 'cog handler failed');
    expect((logged?.err as { message: string }).message).toMatch(/2000 or fewer in length/);
  });

  it('treats a command handler that never answers as an error (the user still gets an answer)', async () => {
    const out = await h.ask(slash('silent'));
    expect(out.message?.content).toMatch(REF);
    expect(
      h.logs.find((l) => l.msg === 'handler finished without answering' && l.event === 'command:silent'),
    ).toBeDefined();
  });

  it('defers for a handler that has not answered in time, then its reply edits the deferred response', async () => {
    const rec = await h.interact(slash('slow'));
    const out = h.sim.world.interactions.outcome(rec.id);
    expect(out.responseType).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    expect(out.message?.content).toBe('late answer');
    expect(ephemeral(out.message?.flags)).toBe(true);
    expect(await metricValue(h.metrics, 'guildhall_cog_auto_defers_total', { cog: 'demo' })).toBe(1);
    expect(callbacksFor(rec.id)).toHaveLength(1); // exactly one initial response
  });

  it('records handler durations per cog and event', async () => {
    expect(
      await histogramCount(h.metrics, 'guildhall_cog_handler_duration_seconds', {
        cog: 'demo',
        event: 'command:ping',
      }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('option validation', () => {
  const reply = async (...args: Parameters<typeof slash>) => {
    const out = await h.ask(slash(...args));
    expect(ephemeral(out.message?.flags)).toBe(true);
    return out.message?.content;
  };

  it('explains a wrong option type, naming the option', async () => {
    expect(await reply('echo', [{ name: 'text', type: O.Integer, value: 5 }] as never)).toBe(
      'Option `text` must be a text.',
    );
  });

  it('explains a missing required option', async () => {
    expect(await reply('echo', [{ name: 'times', type: O.Integer, value: 2 }])).toBe(
      'Missing required option `text`.',
    );
  });

  it('checks ranges, lengths and choices from the builder definition', async () => {
    expect(
      await reply('echo', [
        { name: 'text', type: O.String, value: 'a' },
        { name: 'times', type: O.Integer, value: 9 },
      ]),
    ).toBe('Option `times` must be at most 3.');
    expect(await reply('echo', [{ name: 'text', type: O.String, value: 'x'.repeat(21) }])).toBe(
      'Option `text` must be at most 20 characters.',
    );
    expect(
      await reply('cfg', [
        {
          name: 'set',
          type: O.SubcommandGroup,
          options: [
            {
              name: 'color',
              type: O.Subcommand,
              options: [{ name: 'value', type: O.String, value: 'green' }],
            },
          ],
        },
      ]),
    ).toBe('Option `value` must be one of: Red, Blue.');
  });

  it('rejects options the definition does not know (a stale registration)', async () => {
    expect(
      await reply('echo', [
        { name: 'text', type: O.String, value: 'a' },
        { name: 'loud', type: O.Boolean, value: true },
      ]),
    ).toMatch(/^Unknown option `loud`/);
  });

  it('applies a declared zod schema after the structural check', async () => {
    expect(
      (await h.ask(slash('days', [{ name: 'days', type: O.Integer, value: 12 }]))).message?.content,
    ).toBe('in 12 days');
    expect(await reply('days', [{ name: 'days', type: O.Integer, value: 90 }])).toBe(
      'Option `days`: must be 30 or less.',
    );
    expect(
      await metricValue(h.metrics, 'guildhall_cog_interactions_total', {
        cog: 'demo',
        kind: 'command',
        outcome: 'invalid_options',
      }),
    ).toBeGreaterThanOrEqual(2);
  });
});

describe('per-guild enablement', () => {
  it('refuses a disabled cog’s command and component in that guild only', async () => {
    const off = await h.ask(slash('other'), { guild: 'other' });
    expect(off.message?.content).toBe('The other feature is disabled on this server.');
    expect(ephemeral(off.message?.flags)).toBe(true);
    const panel = h.sim.world.createMessage(h.channelOf(h.otherGuildId), h.sim.world.botId, {
      content: 'p',
    }).id;
    const offButton = await h.ask(button('other:go', panel), { guild: 'other' });
    expect(offButton.message?.content).toBe('The other feature is disabled on this server.');
    expect((await h.ask(slash('other'))).message?.content).toBe('other here');
    expect((await h.ask(slash('other'), { as: 'dm' })).message?.content).toBe('other here');
  });
});
