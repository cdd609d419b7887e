import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderConfigTable } from '../../src/config/index.js';
import { BEGIN, END } from '../../scripts/config-table.js';
import { ROOT } from '../helpers/cli.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('README', () => {
  it('has the configuration table generated from the config schema (run `npm run docs:config`)', () => {
    const a = readme.indexOf(BEGIN);
    const b = readme.indexOf(END);
    expect(a).toBeGreaterThan(0);
    expect(readme.slice(a + BEGIN.length, b).trim()).toBe(renderConfigTable());
  });

  it('shows the two quick-start commands and the test command that CI runs', () => {
    expect(readme).toMatch(/npm ci\n+npm start/);
    expect(readme).toContain('npm test');
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
    expect(ci).toMatch(/^npm ci$/m);
    expect(ci).toMatch(/^npm test$/m);
  });
});
