import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestCogReload } from '../../src/cogs/cli.js';
import { CogLoader } from '../../src/cogs/framework/index.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { type Harness, eventually, harness, metricValue, slash } from './helpers/harness.js';

const FRAMEWORK = pathToFileURL(join(ROOT, 'src/cogs/framework/index.ts')).href;

/** Source of a cog module: replies `reply <tag>`, ticks a counter in the cache, records its unload. */
function cogSource(tag: string, opts: { name?: string; failOnLoad?: boolean } = {}): string {
  return `
import { defineCog } from ${JSON.stringify(FRAMEWORK)};

export default defineCog({
  name: ${JSON.stringify(opts.name ?? 'hot')},
  description: 'hot reload test cog ${tag}',
  commands: [
    {
      data: { name: 'hot', description: 'Which version answers?', type: 1 },
      run: (i) => i.reply('reply ${tag}'),
    },
  ],
  onLoad: async (ctx) => {
    ${opts.failOnLoad ? `throw new Error('onLoad ${tag} failed');` : ''}
    let n = 0;
    ctx.scheduler.setInterval(async () => {
      n += 1;
      await ctx.cache.set('ticks-${tag}', n, 60_000);
    }, 15);
  },
  onUnload: async (ctx) => {
    await ctx.cache.set('unloaded-${tag}', true, 60_000);
  },
});
`;
}

const tmp = tempDir('guildhall-cogs-');
const cogFile = join(tmp.path, 'hot', 'cog.ts');
let h: Harness;
let loader: CogLoader;

async function ask(): Promise<string | undefined> {
  return (await h.ask(slash('hot'))).message?.content;
}

const ticks = async (tag: string) => (await h.coordination.cache.get<number>(`cog:hot:ticks-${tag}`)) ?? 0;

beforeAll(async () => {
  mkdirSync(join(tmp.path, 'hot'));
  // Cog modules live in an ESM package scope (the repo's package.json says "type": "module").
  writeFileSync(join(tmp.path, 'package.json'), '{ "type": "module" }');
  writeFileSync(cogFile, cogSource('A'));
  loader = new CogLoader({ dir: tmp.path });
  h = await harness({ loader });
});

afterAll(async () => {
  await h.close();
  tmp.cleanup();
});

describe('hot reload', () => {
  it('loads a cog module from a directory', async () => {
    expect(await loader.discover()).toEqual(['hot']);
    const result = await h.host.reload('hot');
    expect(result).toMatchObject({ ok: true, cog: 'hot' });
    expect(await ask()).toBe('reply A');
    await eventually(async () => (await ticks('A')) >= 2);
  });

  it('swaps in the new code on a cogs.reload message: new replies, old timers stopped, old onUnload ran', async () => {
    writeFileSync(cogFile, cogSource('B'));
    await requestCogReload(h.coordination.pubsub, 'hot'); // what `guildhall cogs reload hot` sends
    await eventually(
      async () =>
        (await metricValue(h.metrics, 'guildhall_cog_reloads_total', { cog: 'hot', outcome: 'ok' })) === 2,
    );

    expect(await ask()).toBe('reply B');
    expect(await h.coordination.cache.get('cog:hot:unloaded-A')).toBe(true);
    expect(await h.coordination.cache.get('cog:hot:unloaded-B')).toBeUndefined();

    const frozen = await ticks('A');
    await eventually(async () => (await ticks('B')) >= 3);
    expect(await ticks('A')).toBe(frozen); // the old instance's interval no longer fires

    const steps = h.logs.lines
      .filter((l) => l.cog === 'hot' && typeof l.step === 'string')
      .map((l) => `${String(l.msg)}`);
    expect(steps.slice(-5)).toEqual([
      'reload: importing module',
      'reload: built new instance',
      'reload: unloading old instance',
      'reload: loading new instance',
      'reload: done',
    ]);
    expect(loader.imports).toBe(2);
  });

  it('keeps the running instance when the new module fails to import', async () => {
    writeFileSync(cogFile, 'export default defineCog({ this is not valid');
    const result = await h.host.reload('hot');
    expect(result).toMatchObject({ ok: false, stage: 'import', previousRunning: true });
    expect(await ask()).toBe('reply B');
    const before = await ticks('B');
    await eventually(async () => (await ticks('B')) > before);
    expect(
      await metricValue(h.metrics, 'guildhall_cog_reloads_total', { cog: 'hot', outcome: 'import_failed' }),
    ).toBe(1);
  });

  it('refuses a module whose cog name differs from its folder', async () => {
    writeFileSync(cogFile, cogSource('X', { name: 'cold' }));
    const result = await h.host.reload('hot');
    expect(result).toMatchObject({ ok: false, stage: 'import', previousRunning: true });
    expect(result.ok || result.error).toMatch(/defines cog 'cold', but its folder is 'hot'/);
    expect(await ask()).toBe('reply B');
  });

  it('restores the previous instance when the new onLoad throws', async () => {
    writeFileSync(cogFile, cogSource('C', { failOnLoad: true }));
    const result = await h.host.reload('hot');
    expect(result).toMatchObject({
      ok: false,
      stage: 'load',
      previousRunning: true,
      error: 'onLoad C failed',
    });
    expect(await ask()).toBe('reply B');
    // the old code was loaded again (its onLoad ran again, so its counter restarted and keeps going)
    await eventually(async () => (await ticks('B')) >= 2);
    expect(await h.coordination.cache.get('cog:hot:ticks-C')).toBeUndefined();
    expect(h.logs.find((l) => l.msg === 'reload failed' && l.stage === 'load')).toBeDefined();
  });

  it('reloads programmatically (host.reload) and unloads with every timer cleared', async () => {
    writeFileSync(cogFile, cogSource('D'));
    expect(await h.host.reload('hot')).toMatchObject({ ok: true });
    expect(await ask()).toBe('reply D');
    await eventually(async () => (await ticks('D')) >= 1);
    expect(await h.host.unload('hot')).toBe(true);
    expect(await h.coordination.cache.get('cog:hot:unloaded-D')).toBe(true);
    const frozen = await ticks('D');
    await new Promise((r) => setTimeout(r, 60));
    expect(await ticks('D')).toBe(frozen);
    expect(h.host.cogs()).toEqual([]);
  });
});
