import { ApplicationCommandOptionType as O } from 'discord-api-types/v10';
import { SlashCommandBuilder } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CommandOptionValidator, parseDeclared, readInvocation } from './options.js';

const command = new SlashCommandBuilder()
  .setName('t')
  .setDescription('t')
  .addSubcommand((s) =>
    s
      .setName('num')
      .setDescription('n')
      .addIntegerOption((o) =>
        o
          .setName('level')
          .setDescription('l')
          .setRequired(true)
          .addChoices({ name: 'One', value: 1 }, { name: 'Two', value: 2 }),
      )
      .addNumberOption((o) => o.setName('ratio').setDescription('r').setMinValue(0).setMaxValue(1))
      .addBooleanOption((o) => o.setName('flag').setDescription('f'))
      .addUserOption((o) => o.setName('who').setDescription('w'))
      .addStringOption((o) => o.setName('note').setDescription('n').setMinLength(3)),
  )
  .addSubcommandGroup((g) =>
    g
      .setName('grp')
      .setDescription('g')
      .addSubcommand((s) => s.setName('leaf').setDescription('l')),
  );

const validator = new CommandOptionValidator(command.toJSON());
const num = (options: unknown[]) =>
  validator.validate(readInvocation([{ name: 'num', type: O.Subcommand, options } as never]));

describe('readInvocation', () => {
  it('finds group, subcommand and leaf options', () => {
    expect(readInvocation(undefined)).toEqual({ group: null, subcommand: null, options: [] });
    const inv = readInvocation([
      { name: 'grp', type: O.SubcommandGroup, options: [{ name: 'leaf', type: O.Subcommand, options: [] }] },
    ]);
    expect(inv).toEqual({ group: 'grp', subcommand: 'leaf', options: [] });
  });
});

describe('CommandOptionValidator', () => {
  it('accepts valid values of every type', () => {
    const r = num([
      { name: 'level', type: O.Integer, value: 2 },
      { name: 'ratio', type: O.Number, value: 0.5 },
      { name: 'flag', type: O.Boolean, value: false },
      { name: 'who', type: O.User, value: '300000000000000001' },
      { name: 'note', type: O.String, value: 'abc' },
    ]);
    expect(r).toEqual({
      ok: true,
      values: { level: 2, ratio: 0.5, flag: false, who: '300000000000000001', note: 'abc' },
    });
  });

  it('names the option and the problem', () => {
    expect(num([{ name: 'level', type: O.Integer, value: 3 }])).toEqual({
      ok: false,
      message: 'Option `level` must be one of: One, Two.',
    });
    expect(num([{ name: 'level', type: O.Integer, value: 1.5 }])).toMatchObject({
      message: 'Option `level` must be a whole number.',
    });
    expect(
      num([
        { name: 'level', type: O.Integer, value: 1 },
        { name: 'ratio', type: O.Number, value: 2 },
      ]),
    ).toMatchObject({
      message: 'Option `ratio` must be at most 1.',
    });
    expect(
      num([
        { name: 'level', type: O.Integer, value: 1 },
        { name: 'flag', type: O.String, value: 'yes' },
      ]),
    ).toMatchObject({
      message: 'Option `flag` must be a true/false.',
    });
    expect(
      num([
        { name: 'level', type: O.Integer, value: 1 },
        { name: 'who', type: O.User, value: 'bob' },
      ]),
    ).toMatchObject({
      message: 'Option `who` must be an id.',
    });
    expect(
      num([
        { name: 'level', type: O.Integer, value: 1 },
        { name: 'note', type: O.String, value: 'ab' },
      ]),
    ).toMatchObject({
      message: 'Option `note` must be at least 3 characters.',
    });
    expect(num([])).toMatchObject({ message: 'Missing required option `level`.' });
  });

  it('rejects a subcommand the definition does not have', () => {
    const r = validator.validate(readInvocation([{ name: 'gone', type: O.Subcommand, options: [] }]));
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/^Unknown subcommand `gone`/) });
    expect(validator.validate(readInvocation([]))).toMatchObject({ ok: false });
  });
});

describe('parseDeclared', () => {
  it('returns the typed value or names the first bad option', () => {
    const schema = z.object({ days: z.number().max(30), label: z.string().default('x') });
    expect(parseDeclared(schema, { days: 3 })).toEqual({ ok: true, value: { days: 3, label: 'x' } });
    expect(parseDeclared(schema, { days: 31 })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^Option `days`: /),
    });
  });
});
