import type { Database } from '../storage/index.js';

/**
 * Per-guild roles of the admin API, weakest first.
 *
 * @example
 * z.enum(GUILD_ROLES);
 */
export const GUILD_ROLES = ['viewer', 'moderator', 'admin', 'owner'] as const;

/**
 * A per-guild role: `owner > admin > moderator > viewer`.
 *
 * @example
 * const r: GuildRole = 'moderator';
 */
export type GuildRole = (typeof GUILD_ROLES)[number];

/**
 * Rank of a role (higher is stronger); `undefined`/`null` ranks below every role.
 *
 * @example
 * roleRank('admin') > roleRank('moderator'); // true
 */
export function roleRank(role: GuildRole | null | undefined): number {
  return role ? GUILD_ROLES.indexOf(role) : -1;
}

/**
 * The stronger of two roles (either may be missing).
 *
 * @example
 * maxRole('viewer', 'admin'); // 'admin'
 */
export function maxRole(a: GuildRole | null | undefined, b: GuildRole | null | undefined): GuildRole | null {
  return roleRank(a) >= roleRank(b) ? (a ?? null) : (b ?? null);
}

/**
 * The weaker of two roles; a missing role wins (nothing granted).
 *
 * @example
 * minRole('owner', 'viewer'); // 'viewer'
 */
export function minRole(a: GuildRole | null | undefined, b: GuildRole | null | undefined): GuildRole | null {
  if (!a || !b) return null;
  return roleRank(a) <= roleRank(b) ? a : b;
}

/**
 * True when `role` is at least `required`.
 *
 * @example
 * roleAtLeast('admin', 'moderator'); // true
 */
export function roleAtLeast(role: GuildRole | null | undefined, required: GuildRole): boolean {
  return roleRank(role) >= roleRank(required);
}

/**
 * Roles a user holds through Discord, cached at OAuth2 login from `users/@me/guilds` (migration 2): owner
 * flag → owner, ADMINISTRATOR or MANAGE_GUILD → admin, otherwise viewer when the bot is in the guild.
 *
 * @example
 * db.selectFrom('discord_guild_roles').select('role').where('user_id', '=', userId);
 */
export interface DiscordGuildRolesTable {
  user_id: string;
  guild_id: string;
  role: 'owner' | 'admin' | 'viewer';
  owner: number;
  permissions: string;
  updated_at: number;
}

/**
 * Guild-wide settings as one JSON document (migration 2), validated by `guildSettingsSchema`.
 *
 * @example
 * db.selectFrom('guild_settings').select('settings').where('guild_id', '=', guildId);
 */
export interface GuildSettingsTable {
  guild_id: string;
  settings: string;
  updated_at: number;
}

/**
 * The platform tables plus the ones the api module adds in migration 2.
 *
 * @example
 * const db = storage.db as unknown as Kysely<ApiDatabase>;
 */
export interface ApiDatabase extends Database {
  discord_guild_roles: DiscordGuildRolesTable;
  guild_settings: GuildSettingsTable;
}
