import type { RoleContext } from '../runtime.js';
import { databasePath, openDatabase } from './database.js';
import { migrate } from './migrations.js';

/**
 * `guildhall migrate`: applies pending migrations to the configured database and prints what it did.
 * Refuses (non-zero exit) a corrupt, foreign or newer file without changing it.
 */
export async function migrateCommand(ctx: RoleContext): Promise<void> {
  const { sqlite, db } = openDatabase(ctx.config.storage, { migrate: false, log: ctx.log });
  try {
    const result = migrate(sqlite);
    const file = databasePath(ctx.config.storage);
    if (result.applied.length === 0) {
      process.stdout.write(`${file}: already at schema version ${result.to}; nothing to do.\n`);
    } else {
      for (const m of result.applied) process.stdout.write(`applied migration ${m.version}: ${m.name}\n`);
      process.stdout.write(`${file}: schema version ${result.from} → ${result.to}\n`);
    }
  } finally {
    await db.destroy();
  }
}
