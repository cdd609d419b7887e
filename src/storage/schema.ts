import type { Generated } from 'kysely';

/** Guilds the bot is (or was) in. Snowflakes are TEXT: they do not fit a JS number. */
export interface GuildsTable {
  id: string;
  name: string;
  owner_id: string | null;
  icon: string | null;
  member_count: number;
  joined_at: number;
  left_at: number | null;
  updated_at: number;
}

/** Per-guild cog switch and JSON config (validated by the cog's zod schema before it is written). */
export interface GuildCogsTable {
  guild_id: string;
  cog: string;
  enabled: number;
  config: string;
  updated_at: number;
}

/** Discord users known to the admin API (logged in, granted a role, or referenced by a case). */
export interface UsersTable {
  id: string;
  username: string;
  global_name: string | null;
  avatar: string | null;
  created_at: number;
  updated_at: number;
}

/** Explicit per-guild role grants on top of what Discord permissions imply. */
export interface RoleGrantsTable {
  guild_id: string;
  user_id: string;
  role: 'owner' | 'admin' | 'moderator' | 'viewer';
  granted_by: string | null;
  created_at: number;
}

/** API keys for automation; only a hash of the key is stored. */
export interface ApiKeysTable {
  id: string;
  name: string;
  prefix: string;
  key_hash: string;
  guild_id: string | null;
  scopes: string;
  created_by: string | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** Rotating refresh tokens, hashed; a family lets reuse of a rotated token revoke the whole chain. */
export interface RefreshTokensTable {
  id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  expires_at: number;
  created_at: number;
  revoked_at: number | null;
  replaced_by: string | null;
}

/** Every admin change, who made it and from which request. */
export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor_type: 'user' | 'api_key' | 'service' | 'system';
  actor_id: string | null;
  guild_id: string | null;
  action: string;
  target: string | null;
  details: string;
  request_id: string | null;
}

/** The registry of month partitions of the activity events (`events_YYYY_MM`). */
export interface EventPartitionsTable {
  month: string;
  table_name: string;
  start_ms: number;
  end_ms: number;
  created_at: number;
}

/** Hourly / daily counts per guild, channel ('' when none) and kind, maintained at ingest. */
export interface RollupTable {
  guild_id: string;
  bucket_ms: number;
  channel_id: string;
  kind: string;
  count: number;
}

/** One row per (guild, UTC day, user) that did something active that day. */
export interface ActiveUsersDailyTable {
  guild_id: string;
  day_ms: number;
  user_id: string;
}

/** One row per (guild, UTC day, user) that sent a message or joined that day (see migration 3). */
export interface MemberDailyTable {
  guild_id: string;
  day_ms: number;
  user_id: string;
  messages: number;
  first_join_ms: number | null;
  last_message_ms: number | null;
}

/** Uses of each command per (guild, UTC day); `name` as `commandName` derives it. */
export interface CommandDailyTable {
  guild_id: string;
  day_ms: number;
  name: string;
  count: number;
}

/** Ingested batches whose rollup deltas compaction has not folded in yet; `months` is a JSON list. */
export interface RollupJournalTable {
  id: number;
  created_at: number;
  months: string;
}

/** Applied migrations (the version is also kept in `PRAGMA user_version`). */
export interface MigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

/** The Kysely database type of the platform tables (event partitions are dynamic and queried with `sql`). */
export interface Database {
  guilds: GuildsTable;
  guild_cogs: GuildCogsTable;
  users: UsersTable;
  role_grants: RoleGrantsTable;
  api_keys: ApiKeysTable;
  refresh_tokens: RefreshTokensTable;
  audit_log: AuditLogTable;
  event_partitions: EventPartitionsTable;
  rollup_hourly: RollupTable;
  rollup_daily: RollupTable;
  rollup_journal: RollupJournalTable;
  active_users_daily: ActiveUsersDailyTable;
  member_daily: MemberDailyTable;
  command_daily: CommandDailyTable;
  schema_migrations: MigrationsTable;
}
