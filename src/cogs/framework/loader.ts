import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from '../../logging/logger.js';
import { COG_NAME, type Cog, isCog } from './define-cog.js';

/** The directory holding the cog folders next to the framework (`src/cogs` or `dist/cogs`). */
export const DEFAULT_COGS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The module file names a cog folder may hold, in preference order (source first under tsx). */
const MODULE_FILES = ['cog.ts', 'cog.js'] as const;

/** Folders under the cogs directory that are not cogs. */
const NOT_COGS = new Set(['framework']);

/**
 * Imports cog modules from `<dir>/<name>/cog.ts` (or `cog.js` in a build). Every import appends a fresh
 * `?v=<n>` query so Node's ESM loader evaluates the current file instead of returning the cached module;
 * see docs/hot-reload.md for what that costs (each old module graph stays in memory).
 *
 * @example
 * const loader = new CogLoader({ log });          // src/cogs
 * const cog = await loader.import('leveling');   // src/cogs/leveling/cog.ts?v=1
 * const again = await loader.import('leveling'); // …?v=2, the file as it is now
 */
export class CogLoader {
  readonly dir: string;
  private readonly log: Logger | undefined;
  private version = 0;
  /** The cog each name last imported as (to notice a module that was not evaluated again). */
  private readonly last = new Map<string, Cog>();

  constructor(opts: { dir?: string; log?: Logger } = {}) {
    this.dir = opts.dir ?? DEFAULT_COGS_DIR;
    this.log = opts.log;
  }

  /** How many module imports this loader made (each one stays in the module cache). */
  get imports(): number {
    return this.version;
  }

  /** The module file of cog `name`; throws if the name is invalid or the folder has no cog module. */
  moduleFile(name: string): string {
    if (!COG_NAME.test(name)) throw new Error(`invalid cog name '${name}'`);
    for (const file of MODULE_FILES) {
      const path = join(this.dir, name, file);
      if (existsSync(path)) return path;
    }
    throw new Error(
      `no cog module for '${name}' in ${join(this.dir, name)} (expected ${MODULE_FILES.join(' or ')})`,
    );
  }

  /**
   * Imports the current code of cog `name` and checks it: the module must export a cog built with
   * `defineCog` (default export, or a named export `cog`) whose name equals the folder name.
   */
  async import(name: string): Promise<Cog> {
    const file = this.moduleFile(name);
    this.version += 1;
    const url = `${pathToFileURL(file).href}?v=${this.version}`;
    this.log?.debug({ cog: name, url }, 'importing cog module');
    const mod = (await import(url)) as { default?: unknown; cog?: unknown };
    const cog = isCog(mod.default) ? mod.default : isCog(mod.cog) ? mod.cog : undefined;
    if (!cog) throw new Error(`${file} does not export a cog (default export defineCog({...}))`);
    if (cog.name !== name) {
      throw new Error(`${file} defines cog '${cog.name}', but its folder is '${name}' (they must match)`);
    }
    if (this.last.get(name) === cog) {
      // A CommonJS scope (no `"type": "module"`) loads .ts through require(), whose cache ignores `?v=`.
      throw new Error(
        `${file} was not evaluated again (is it outside an ESM package scope?); restart instead`,
      );
    }
    this.last.set(name, cog);
    return cog;
  }

  /** Names of the folders under `dir` that hold a cog module, sorted. */
  async discover(): Promise<string[]> {
    const entries = await readdir(this.dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && !NOT_COGS.has(e.name) && COG_NAME.test(e.name))
      .filter((e) => MODULE_FILES.some((f) => existsSync(join(this.dir, e.name, f))))
      .map((e) => e.name)
      .sort();
  }
}
