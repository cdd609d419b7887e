import BetterSqlite3 from 'better-sqlite3';

/**
 * Opens a guildhall SQLite file read-only (safe beside a running writer: WAL readers never block it),
 * hands the month partitions' table names to `read`, and closes it.
 */
export function readEventTables<T>(
  file: string,
  read: (db: BetterSqlite3.Database, tables: string[]) => T,
): T {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const tables = (
      db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'events_%'").all() as {
        name: string;
      }[]
    ).map((t) => t.name);
    return read(db, tables);
  } finally {
    db.close();
  }
}
