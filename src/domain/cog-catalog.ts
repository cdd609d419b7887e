import type { z } from 'zod';

/**
 * One cog as the admin API sees it: name, a line of description, and its zod config schema with defaults.
 *
 * @example
 * const cog: CogInfo = { name: 'leveling', description: 'XP', configSchema: z.strictObject({}) };
 */
export interface CogInfo {
  readonly name: string;
  readonly description: string;
  readonly configSchema: z.ZodType;
  /** Enabled in a guild that never switched it (default true). */
  readonly defaultEnabled?: boolean;
}

/**
 * The cogs that exist. The cog framework provides the real catalog; tests and the embedded mode may use
 * {@link staticCogCatalog}.
 *
 * @example
 * const catalog: CogCatalog = staticCogCatalog([{ name: 'leveling', description: 'XP', configSchema }]);
 */
export interface CogCatalog {
  list(): readonly CogInfo[];
}

/**
 * A catalog over a fixed list.
 *
 * @example
 * const cogs = staticCogCatalog([]);
 */
export function staticCogCatalog(cogs: readonly CogInfo[]): CogCatalog {
  return { list: () => cogs };
}

/**
 * Looks a cog up by name.
 *
 * @example
 * findCog(catalog, 'leveling')?.configSchema.parse(config);
 */
export function findCog(catalog: CogCatalog, name: string): CogInfo | undefined {
  return catalog.list().find((c) => c.name === name);
}
