import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { AppError } from '../errors/app-error.js';
import type { Logger } from '../logging/logger.js';
import { LATEST_VERSION, migrate } from './migrations.js';
import type { Database } from './schema.js';

/** `PRAGMA application_id` of a guildhall database ("GHLL"): tells our files from other programs'. */
export const APPLICATION_ID = 0x47484c4c;
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Per-connection tuning of the writing connection, applied by {@link openDatabase} after WAL and
 * `synchronous=NORMAL` (and used as is by the raw baselines in `bench/`, so their ratios compare like with
 * like). The api pod is the single writer and activity ingest is its hot path:
 *
 * - `wal_autocheckpoint = 10000` pages (~40 MiB of WAL): with the default 1,000 a checkpoint (copy back
 *   plus two fsyncs) ran every few ingest batches, and an index page rewritten by many batches was
 *   copied back each time (ingest ~30% slower). `journal_size_limit` truncates the WAL back to 64 MiB
 *   after a checkpoint, should it ever grow past that.
 * - `cache_size = -65536` (64 MiB): the insertion points of a month partition's `(guild_id, ts)` index
 *   are spread over one leaf page per busy guild; with the 2 MiB default they fall out of the cache and
 *   are read back from the WAL or the OS on every batch (~8% on a 200k-event partition, more as it grows).
 *
 * `temp_store = MEMORY` and `mmap_size` were measured too and made no difference to ingest.
 *
 * @example
 * for (const p of SQLITE_TUNING) sqlite.pragma(p);
 */
export const SQLITE_TUNING: readonly string[] = [
  'wal_autocheckpoint = 10000',
  'journal_size_limit = 67108864',
  'cache_size = -65536',
];

/**
 * The pragmas every writing connection runs, in order: WAL, `synchronous=NORMAL` (durable at checkpoint,
 * consistent always), then {@link SQLITE_TUNING}.
 *
 * @example
 * const db = new BetterSqlite3(file);
 * for (const p of SQLITE_WRITER_PRAGMAS) db.pragma(p);
 */
export const SQLITE_WRITER_PRAGMAS: readonly string[] = [
  'journal_mode = WAL',
  'synchronous = NORMAL',
  ...SQLITE_TUNING,
];

/** Where the database lives and how patient it is; the `storage` section of the config. */
export interface DatabaseOptions {
  readonly dataDir: string;
  readonly databaseFile: string;
  readonly busyTimeoutMs: number;
}

/** The open database: the raw better-sqlite3 handle (hot paths) and Kysely over it (everything else). */
export interface OpenDatabase {
  readonly file: string;
  readonly sqlite: BetterSqlite3.Database;
  readonly db: Kysely<Database>;
}

/** The absolute-or-relative path of the database file the options describe. */
export function databasePath(opts: Pick<DatabaseOptions, 'dataDir' | 'databaseFile'>): string {
  return isAbsolute(opts.databaseFile) || opts.databaseFile === ':memory:'
    ? opts.databaseFile
    : join(opts.dataDir, opts.databaseFile);
}

/**
 * Opens (creating if absent) the guildhall SQLite file with WAL, `synchronous=NORMAL` and a busy timeout,
 * after checking it really is one: a file that is not SQLite, or a SQLite file of another program, or one
 * from a newer guildhall, is refused with a clear error and left untouched. Runs pending migrations when
 * `migrate` is true.
 *
 * @example
 * const { db, sqlite } = openDatabase({ dataDir: './data', databaseFile: 'guildhall.sqlite', busyTimeoutMs: 5000 }, { migrate: true });
 */
export function openDatabase(
  opts: DatabaseOptions,
  o: { migrate: boolean; log?: Logger; readonly?: boolean; trace?: (sql: string) => void },
): OpenDatabase {
  const file = databasePath(opts);
  const memory = file === ':memory:';
  const exists = !memory && existsSync(file) && statSync(file).size > 0;
  if (exists) assertSqliteHeader(file);
  if (!memory && !exists) mkdirSync(dirname(file), { recursive: true });

  const sqlite = new BetterSqlite3(file, {
    readonly: o.readonly ?? false,
    ...(o.trace ? { verbose: (sql: unknown) => o.trace?.(String(sql)) } : {}),
  });
  try {
    sqlite.pragma(`busy_timeout = ${Math.trunc(opts.busyTimeoutMs)}`);
    assertOurs(sqlite, file, exists);
    if (!o.readonly) {
      for (const p of SQLITE_WRITER_PRAGMAS) sqlite.pragma(p);
      sqlite.pragma('foreign_keys = ON');
      if (!exists) sqlite.pragma(`application_id = ${APPLICATION_ID}`);
    }
    if (o.migrate) {
      const result = migrate(sqlite);
      if (result.applied.length > 0)
        o.log?.info({ file, from: result.from, to: result.to }, 'database migrated');
    }
  } catch (err) {
    sqlite.close();
    if (err instanceof AppError) throw err;
    throw new AppError(
      500,
      'storage_unreadable',
      `Cannot use database ${file}: ${(err as Error).message}`,
      undefined,
      { cause: err },
    );
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { file, sqlite, db };
}

function assertSqliteHeader(file: string): void {
  const fd = openSync(file, 'r');
  const header = Buffer.alloc(16);
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (!header.equals(SQLITE_HEADER)) {
    throw new AppError(
      500,
      'storage_not_sqlite',
      `${file} is not a SQLite database (corrupt or a different kind of file); refusing to open or overwrite it.`,
    );
  }
}

function assertOurs(sqlite: BetterSqlite3.Database, file: string, existed: boolean): void {
  const appId = sqlite.pragma('application_id', { simple: true }) as number;
  const version = sqlite.pragma('user_version', { simple: true }) as number;
  if (appId === APPLICATION_ID) {
    if (version > LATEST_VERSION) {
      throw new AppError(
        500,
        'storage_schema_newer',
        `${file} has schema version ${version}, newer than this guildhall supports (${LATEST_VERSION}); refusing to touch it. Upgrade guildhall.`,
      );
    }
    return;
  }
  const tables = sqlite.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as {
    n: number;
  };
  if (existed && (appId !== 0 || tables.n > 0 || version !== 0)) {
    throw new AppError(
      500,
      'storage_foreign_database',
      `${file} is a SQLite database of another program (application_id ${appId}, ${tables.n} tables); refusing to use it.`,
    );
  }
}
