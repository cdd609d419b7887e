import type BetterSqlite3 from 'better-sqlite3';
import { AppError } from '../errors/app-error.js';
import { backfillMemberRollups } from './events.js';

/** One numbered schema step. Migrations only ever get appended; an applied one is never edited. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly up: string;
  /** Data changes after `up`, in the same transaction (e.g. filling a new rollup from stored events). */
  readonly data?: (sqlite: BetterSqlite3.Database) => void;
}

/**
 * The schema history. Each migration runs in one transaction together with the bump of
 * `PRAGMA user_version`, so a crash leaves the file at the previous version.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'platform tables, event partition registry, rollups',
    up: `
      CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);
      CREATE TABLE guilds (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, owner_id TEXT, icon TEXT,
        member_count INTEGER NOT NULL DEFAULT 0, joined_at INTEGER NOT NULL, left_at INTEGER, updated_at INTEGER NOT NULL
      );
      CREATE TABLE guild_cogs (
        guild_id TEXT NOT NULL, cog TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1,
        config TEXT NOT NULL DEFAULT '{}', updated_at INTEGER NOT NULL,
        PRIMARY KEY (guild_id, cog)
      ) WITHOUT ROWID;
      CREATE TABLE users (
        id TEXT PRIMARY KEY, username TEXT NOT NULL, global_name TEXT, avatar TEXT,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
      );
      CREATE TABLE role_grants (
        guild_id TEXT NOT NULL, user_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('owner','admin','moderator','viewer')),
        granted_by TEXT, created_at INTEGER NOT NULL,
        PRIMARY KEY (guild_id, user_id)
      ) WITHOUT ROWID;
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, prefix TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
        guild_id TEXT, scopes TEXT NOT NULL DEFAULT '[]', created_by TEXT, created_at INTEGER NOT NULL,
        last_used_at INTEGER, revoked_at INTEGER
      );
      CREATE INDEX api_keys_guild ON api_keys (guild_id);
      CREATE TABLE refresh_tokens (
        id TEXT PRIMARY KEY, user_id TEXT NOT NULL, family_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
        expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER, replaced_by TEXT
      );
      CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
      CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
        actor_type TEXT NOT NULL CHECK (actor_type IN ('user','api_key','service','system')),
        actor_id TEXT, guild_id TEXT, action TEXT NOT NULL, target TEXT, details TEXT NOT NULL DEFAULT '{}',
        request_id TEXT
      );
      CREATE INDEX audit_log_guild_at ON audit_log (guild_id, at);
      CREATE TABLE event_partitions (
        month TEXT PRIMARY KEY, table_name TEXT NOT NULL UNIQUE,
        start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, created_at INTEGER NOT NULL
      );
      CREATE TABLE rollup_hourly (
        guild_id TEXT NOT NULL, bucket_ms INTEGER NOT NULL, channel_id TEXT NOT NULL, kind TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (guild_id, bucket_ms, channel_id, kind)
      ) WITHOUT ROWID;
      CREATE TABLE rollup_daily (
        guild_id TEXT NOT NULL, bucket_ms INTEGER NOT NULL, channel_id TEXT NOT NULL, kind TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (guild_id, bucket_ms, channel_id, kind)
      ) WITHOUT ROWID;
      CREATE TABLE active_users_daily (
        guild_id TEXT NOT NULL, day_ms INTEGER NOT NULL, user_id TEXT NOT NULL,
        PRIMARY KEY (guild_id, day_ms, user_id)
      ) WITHOUT ROWID;
      -- Ingested batches whose rollup deltas are not folded into the tables above yet: one row per batch
      -- (its events carry the batch id), written in the batch's transaction, deleted by the compaction that
      -- folds it (see EventStore).
      CREATE TABLE rollup_journal (id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL, months TEXT NOT NULL);
    `,
  },
  {
    version: 2,
    name: 'admin api: discord guild roles cached at login, guild settings, lookup indexes',
    up: `
      CREATE TABLE discord_guild_roles (
        user_id TEXT NOT NULL, guild_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('owner','admin','viewer')),
        owner INTEGER NOT NULL DEFAULT 0, permissions TEXT NOT NULL DEFAULT '0', updated_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, guild_id)
      ) WITHOUT ROWID;
      CREATE INDEX discord_guild_roles_guild ON discord_guild_roles (guild_id);
      CREATE TABLE guild_settings (
        guild_id TEXT PRIMARY KEY, settings TEXT NOT NULL DEFAULT '{}', updated_at INTEGER NOT NULL
      );
      CREATE INDEX role_grants_user ON role_grants (user_id);
      CREATE INDEX audit_log_actor ON audit_log (actor_id, at);
      CREATE INDEX api_keys_created_by ON api_keys (created_by);
    `,
  },
  {
    version: 3,
    name: 'member and command rollups (top members, command usage, retention without raw scans)',
    up: `
      -- What a user did on a UTC day in a guild: messages sent, first join, last message (ms). A row exists
      -- when the user sent a message or joined that day.
      CREATE TABLE member_daily (
        guild_id TEXT NOT NULL, day_ms INTEGER NOT NULL, user_id TEXT NOT NULL,
        messages INTEGER NOT NULL, first_join_ms INTEGER, last_message_ms INTEGER,
        PRIMARY KEY (guild_id, day_ms, user_id)
      ) WITHOUT ROWID;
      CREATE INDEX member_daily_user ON member_daily (guild_id, user_id, day_ms);
      CREATE TABLE command_daily (
        guild_id TEXT NOT NULL, day_ms INTEGER NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (guild_id, day_ms, name)
      ) WITHOUT ROWID;
      -- One member's days (retention's "last active", privacy deletes) without a scan of the guild's days.
      CREATE INDEX active_users_daily_user ON active_users_daily (guild_id, user_id, day_ms);
    `,
    data: backfillMemberRollups,
  },
];

/** The schema version this build of guildhall writes. */
export const LATEST_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/** The result of {@link migrate}: the version before and after, and the steps applied. */
export interface MigrateResult {
  from: number;
  to: number;
  applied: { version: number; name: string }[];
}

/**
 * Applies every migration above the file's `user_version`, each in its own transaction. Refuses a file
 * written by a newer guildhall (its version is above {@link LATEST_VERSION}).
 *
 * @example
 * const { from, to } = migrate(sqlite); // { from: 0, to: 1, applied: [...] }
 */
export function migrate(sqlite: BetterSqlite3.Database, now: () => number = Date.now): MigrateResult {
  const from = sqlite.pragma('user_version', { simple: true }) as number;
  if (from > LATEST_VERSION) {
    throw new AppError(
      500,
      'storage_schema_newer',
      `Database schema version ${from} is newer than this guildhall (${LATEST_VERSION}); refusing to touch it. Upgrade guildhall.`,
    );
  }
  const applied: MigrateResult['applied'] = [];
  for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
    if (m.version <= from) continue;
    sqlite.transaction(() => {
      sqlite.exec(m.up);
      m.data?.(sqlite);
      sqlite
        .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
        .run(m.version, m.name, now());
      sqlite.pragma(`user_version = ${m.version}`);
    })();
    applied.push({ version: m.version, name: m.name });
  }
  return { from, to: sqlite.pragma('user_version', { simple: true }) as number, applied };
}
