import {
  ApplicationCommandOptionType as O,
  ApplicationCommandType,
  InteractionResponseType,
  MessageFlags,
} from 'discord-api-types/v10';
import { ContextMenuCommandBuilder, ModalBuilder, SlashCommandBuilder } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCog } from '../../src/cogs/framework/index.js';
import {
  GUILD,
  type Harness,
  OTHER_GUILD,
  USER,
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
  await h.settings.update(OTHER_GUILD, 'other', { enabled: false });
});

afterAll(async () => {
  await h.close();
});

/** Sends the interaction through the host and returns the recorded calls for its token. */
async function send(payload: ReturnType<typeof slash>, expectedCalls = 1) {
  await h.host.dispatch({ t: 'INTERACTION_CREATE', d: payload });
  return h.fake.waitForCalls(payload.token, expectedCalls);
}

function callbackOf(calls: { path: string; body: unknown }[]) {
  const cb = calls.find((c) => c.path.endsWith('/callback'));
  return cb?.body as { type: number; data?: { content?: string; flags?: number; choices?: unknown[] } };
}

describe('routing', () => {
  it('routes a slash command by name and answers through the interaction callback', async () => {
    const payload = slash('ping');
    const calls = await send(payload);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.method).toBe('POST');
    expect(calls[0]!.path).toBe(`/interactions/${payload.id}/${payload.token}/callback`);
    expect(calls[0]!.auth).toBeUndefined(); // interaction callbacks are sent without the bot token
    expect(callbackOf(calls)).toEqual({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { content: 'pong', allowed_mentions: { parse: [] } },
    });
  });

  it('passes validated options, subcommand groups and context menu targets', async () => {
    const echo = callbackOf(
      await send(
        slash('echo', [
          { name: 'text', type: O.String, value: 'ab' },
          { name: 'times', type: O.Integer, value: 3 },
        ]),
      ),
    );
    expect(echo.data?.content).toBe('ababab');

    const cfg = callbackOf(
      await send(
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
      ),
    );
    expect(cfg.data?.content).toBe('set/color/blue');

    const show = callbackOf(await send(slash('cfg', [{ name: 'show', type: O.Subcommand, options: [] }])));
    expect(show.data?.content).toBe('-/show/');

    const inspect = callbackOf(await send(contextMenu('Inspect', ApplicationCommandType.User, USER)));
    expect(inspect.data).toMatchObject({ content: `target ${USER}`, flags: MessageFlags.Ephemeral });
  });

  it('routes autocomplete to the command’s autocomplete handler', async () => {
    const payload = autocomplete('pick', [{ name: 'fruit', type: O.String, value: 'ap', focused: true }]);
    const cb = callbackOf(await send(payload));
    expect(cb.type).toBe(InteractionResponseType.ApplicationCommandAutocompleteResult);
    expect(cb.data?.choices).toEqual([
      { name: 'apple', value: 'apple' },
      { name: 'apricot', value: 'apricot' },
    ]);
  });

  it('routes components by custom id prefix, longest prefix first, with the remaining parts as args', async () => {
    const paged = callbackOf(await send(button('demo:page:3:x')));
    expect(paged).toMatchObject({
      type: InteractionResponseType.UpdateMessage,
      data: { content: 'page 3,x' },
    });
    const last = callbackOf(await send(button('demo:page:last')));
    expect(last.data?.content).toBe('the last page');
    const elsewhere = callbackOf(await send(button('other:go')));
    expect(elsewhere.data?.content).toBe('went');
  });

  it('opens a modal and routes its submit by prefix with fields', async () => {
    const opened = callbackOf(await send(slash('form')));
    expect(opened.type).toBe(InteractionResponseType.Modal);
    expect((opened.data as unknown as { custom_id: string }).custom_id).toBe('demo:feedback:ticket:7');

    const submitted = callbackOf(await send(modalSubmit('demo:feedback:ticket:7', { text: 'great bot' })));
    expect(submitted.data).toMatchObject({
      content: 'thanks for ticket#7: great bot',
      flags: MessageFlags.Ephemeral,
    });
  });

  it('acknowledges a component handler that stayed silent with a deferred update', async () => {
    const cb = callbackOf(await send(button('demo:quiet')));
    expect(cb).toEqual({ type: InteractionResponseType.DeferredMessageUpdate });
  });

  it('answers unknown commands and stale custom ids ephemerally', async () => {
    const unknown = callbackOf(await send(slash('nope')));
    expect(unknown.data).toMatchObject({ flags: MessageFlags.Ephemeral });
    expect(unknown.data?.content).toMatch(/not available/);
    const stale = callbackOf(await send(button('gone:thing')));
    expect(stale.data?.content).toBe('This control is no longer active.');
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
    const before = await metricValue(h.metrics, 'guildhall_cog_handler_errors_total', {
      cog: 'demo',
      event: 'command:boom',
    });
    const cb = callbackOf(await send(slash('boom')));
    expect(cb.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    expect(cb.data?.flags).toBe(MessageFlags.Ephemeral);
    const ref = /^Something went wrong \(ref ([0-9a-f]{8})\)\.$/.exec(cb.data?.content ?? '')?.[1];
    expect(ref).toBeDefined();
    const logged = h.logs.find((l) => l.ref === ref);
    expect(logged).toMatchObject({
      cog: 'demo',
      guildId: GUILD,
      event: 'command:boom',
      msg: 'cog handler failed',
    });
    expect((logged?.err as { message: string }).message).toBe('kaboom');
    expect(
      await metricValue(h.metrics, 'guildhall_cog_handler_errors_total', {
        cog: 'demo',
        event: 'command:boom',
      }),
    ).toBe(before + 1);
  });

  it('edits the deferred response when the handler fails after deferring', async () => {
    const payload = slash('boomlater');
    const calls = await send(payload, 2);
    expect(callbackOf(calls)).toEqual({
      type: InteractionResponseType.DeferredChannelMessageWithSource,
      data: { flags: MessageFlags.Ephemeral },
    });
    const edit = calls.find((c) => c.method === 'PATCH');
    expect(edit?.path).toBe(`/webhooks/${payload.application_id}/${payload.token}/messages/@original`);
    expect((edit?.body as { content: string }).content).toMatch(
      /^Something went wrong \(ref [0-9a-f]{8}\)\.$/,
    );
  });

  it('sends an ephemeral follow-up when a component fails after its deferred update', async () => {
    const payload = button('demo:explode');
    const calls = await send(payload, 2);
    expect(callbackOf(calls)).toEqual({ type: InteractionResponseType.DeferredMessageUpdate });
    const followUp = calls.find(
      (c) => c.method === 'POST' && c.path === `/webhooks/${payload.application_id}/${payload.token}`,
    );
    expect(followUp?.body).toMatchObject({ flags: MessageFlags.Ephemeral });
    expect((followUp?.body as { content: string }).content).toMatch(/ref [0-9a-f]{8}/);
  });

  it('still answers when Discord rejects the handler’s reply (the rejected callback did not count)', async () => {
    const payload = slash('long');
    const calls = await send(payload, 2);
    const callbacks = calls.filter((c) => c.path.endsWith('/callback'));
    expect(callbacks).toHaveLength(2);
    expect((callbacks[1]!.body as { data: { content: string; flags: number } }).data).toMatchObject({
      content: expect.stringMatching(/^Something went wrong \(ref [0-9a-f]{8}\)\.$/),
      flags: MessageFlags.Ephemeral,
    });
    const logged = h.logs.find((l) => l.event === 'command:long' && l.msg === 'cog handler failed');
    expect((logged?.err as { message: string }).message).toMatch(/Must be 2000 or fewer in length/);
  });

  it('treats a command handler that never answers as an error (the user still gets an answer)', async () => {
    const cb = callbackOf(await send(slash('silent')));
    expect(cb.data?.content).toMatch(/^Something went wrong \(ref [0-9a-f]{8}\)\.$/);
    expect(h.logs.find((l) => l.msg === 'command handler finished without answering')).toBeDefined();
  });

  it('defers for a handler that has not answered in time, then its reply edits the deferred response', async () => {
    const payload = slash('slow');
    const calls = await send(payload, 2);
    expect(callbackOf(calls)).toEqual({
      type: InteractionResponseType.DeferredChannelMessageWithSource,
      data: { flags: MessageFlags.Ephemeral },
    });
    const edit = calls.find((c) => c.method === 'PATCH');
    expect((edit?.body as { content: string }).content).toBe('late answer');
    expect(await metricValue(h.metrics, 'guildhall_cog_auto_defers_total', { cog: 'demo' })).toBe(1);
    // exactly one initial response
    expect(calls.filter((c) => c.path.endsWith('/callback'))).toHaveLength(1);
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
  it('explains a wrong option type, naming the option', async () => {
    const cb = callbackOf(await send(slash('echo', [{ name: 'text', type: O.Integer, value: 5 }] as never)));
    expect(cb.data).toMatchObject({
      flags: MessageFlags.Ephemeral,
      content: 'Option `text` must be a text.',
    });
  });

  it('explains a missing required option', async () => {
    const cb = callbackOf(await send(slash('echo', [{ name: 'times', type: O.Integer, value: 2 }])));
    expect(cb.data?.content).toBe('Missing required option `text`.');
  });

  it('checks ranges, lengths and choices from the builder definition', async () => {
    const range = callbackOf(
      await send(
        slash('echo', [
          { name: 'text', type: O.String, value: 'a' },
          { name: 'times', type: O.Integer, value: 9 },
        ]),
      ),
    );
    expect(range.data?.content).toBe('Option `times` must be at most 3.');
    const length = callbackOf(
      await send(slash('echo', [{ name: 'text', type: O.String, value: 'x'.repeat(21) }])),
    );
    expect(length.data?.content).toBe('Option `text` must be at most 20 characters.');
    const choice = callbackOf(
      await send(
        slash('cfg', [
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
      ),
    );
    expect(choice.data?.content).toBe('Option `value` must be one of: Red, Blue.');
  });

  it('rejects options the definition does not know (a stale registration)', async () => {
    const cb = callbackOf(
      await send(
        slash('echo', [
          { name: 'text', type: O.String, value: 'a' },
          { name: 'loud', type: O.Boolean, value: true },
        ]),
      ),
    );
    expect(cb.data?.content).toMatch(/^Unknown option `loud`/);
  });

  it('applies a declared zod schema after the structural check', async () => {
    const ok = callbackOf(await send(slash('days', [{ name: 'days', type: O.Integer, value: 12 }])));
    expect(ok.data?.content).toBe('in 12 days');
    const bad = callbackOf(await send(slash('days', [{ name: 'days', type: O.Integer, value: 90 }])));
    expect(bad.data).toMatchObject({
      flags: MessageFlags.Ephemeral,
      content: 'Option `days`: must be 30 or less.',
    });
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
    const off = callbackOf(await send(slash('other', [], { guildId: OTHER_GUILD })));
    expect(off.data).toMatchObject({
      flags: MessageFlags.Ephemeral,
      content: 'The other feature is disabled on this server.',
    });
    const offButton = callbackOf(await send(button('other:go', { guildId: OTHER_GUILD })));
    expect(offButton.data?.content).toBe('The other feature is disabled on this server.');
    const on = callbackOf(await send(slash('other')));
    expect(on.data?.content).toBe('other here');
    const dm = callbackOf(await send(slash('other', [], { guildId: null })));
    expect(dm.data?.content).toBe('other here');
  });
});
