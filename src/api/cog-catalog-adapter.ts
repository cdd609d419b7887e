import type { Cog } from '../cogs/framework/index.js';
import type { CogCatalog } from '../domain/cog-catalog.js';

/**
 * The admin API's cog catalog over the cog framework's loaded cogs (name, description, config schema,
 * default switch). Pass a function so a hot reload shows up without rebuilding the API.
 *
 * @example
 * createApiDeps(base, { cogs: cogCatalogFromCogs(() => loader.cogs()) });
 */
export function cogCatalogFromCogs(cogs: () => readonly Cog[]): CogCatalog {
  return {
    list: () =>
      cogs().map((c) => ({
        name: c.name,
        description: c.description,
        configSchema: c.configSchema,
        defaultEnabled: c.defaultEnabled,
      })),
  };
}
