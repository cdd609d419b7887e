import { SlashCommandBuilder } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { customId, defineCog, isCog, matchPrefix } from './define-cog.js';

const ping = () => ({
  data: new SlashCommandBuilder().setName('ping').setDescription('Ping'),
  run: () => undefined,
});

describe('defineCog', () => {
  it('builds a branded cog with defaults parsed and commands keyed by type and name', () => {
    const cog = defineCog({
      name: 'demo',
      description: 'd',
      config: z.object({ greeting: z.string().default('hi') }),
      commands: [ping()],
    });
    expect(isCog(cog)).toBe(true);
    expect(isCog({ name: 'demo' })).toBe(false);
    expect(cog.defaults).toEqual({ greeting: 'hi' });
    expect(cog.commands.map((c) => c.key)).toEqual(['1:ping']);
    expect(cog.canDisable).toBe(true);
    expect(cog.defaultEnabled).toBe(true);
  });

  it('rejects bad names, configs without defaults, duplicate commands and invalid builders', () => {
    expect(() => defineCog({ name: 'Bad Name', description: 'd' })).toThrow(/must match/);
    expect(() => defineCog({ name: 'x', description: 'd', config: z.object({ key: z.string() }) })).toThrow(
      /must accept \{\}/,
    );
    expect(() => defineCog({ name: 'x', description: 'd', commands: [ping(), ping()] })).toThrow(
      /defined twice/,
    );
    expect(() =>
      defineCog({
        name: 'x',
        description: 'd',
        commands: [{ data: new SlashCommandBuilder().setName('NoDescription'), run: () => undefined }],
      }),
    ).toThrow();
  });
});

describe('custom ids', () => {
  it('joins parts under the cog name and enforces Discord’s 100 characters', () => {
    expect(customId('tickets', 'close', 42)).toBe('tickets:close:42');
    expect(() => customId('tickets', 'x'.repeat(100))).toThrow(/longer than 100/);
  });

  it('matches the longest prefix on a part boundary', () => {
    const handlers = { page: 'page', 'page:last': 'last', pager: 'pager' };
    expect(matchPrefix(handlers, 'page:3')).toEqual({ handler: 'page', prefix: 'page', args: ['3'] });
    expect(matchPrefix(handlers, 'page')).toEqual({ handler: 'page', prefix: 'page', args: [] });
    expect(matchPrefix(handlers, 'page:last:x')).toEqual({
      handler: 'last',
      prefix: 'page:last',
      args: ['x'],
    });
    expect(matchPrefix(handlers, 'pager')).toMatchObject({ handler: 'pager' });
    expect(matchPrefix(handlers, 'pages')).toBeUndefined();
  });
});
