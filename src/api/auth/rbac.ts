import type BetterSqlite3 from 'better-sqlite3';
import type { SyncDb } from '../../domain/sync-db.js';
import { type ApiDatabase, type GuildRole, maxRole, minRole } from '../../domain/tables.js';
import type { Principal } from './principal.js';

const MEMO_MAX = 50_000;

/**
 * Who may do what in which guild. Roles come from two places, resolved on every request (so a revoked
 * grant or a fresh login takes effect immediately; a lookup is remembered only until the next committed
 * domain write, see {@link Rbac.invalidate}): the Discord permissions cached at login
 * (`discord_guild_roles`) and explicit grants (`role_grants`); the stronger wins. Platform superadmins
 * (config) are owners everywhere. Only guilds the bot is in count: for any other guild the answer is
 * "no role", which the API reports as 404 so guild existence never leaks.
 *
 * API keys act for their creator, capped by scope (`read` → viewer, `write` → admin) and by their guild
 * binding. CLI tokens with a guild scope hold exactly that role in that guild and nothing else.
 *
 * @example
 * const rbac = new Rbac(db, config.api.superadmins);
 * rbac.guildRole(principal, guildId); // 'admin' | … | null
 */
export class Rbac {
  private readonly superadmins: ReadonlySet<string>;
  private readonly roleStmt: BetterSqlite3.Statement;
  private readonly presentStmt: BetterSqlite3.Statement;
  /** Roles looked up since the last committed write (see {@link Rbac.invalidate}). */
  private readonly memo = new Map<string, GuildRole | null>();

  constructor(
    private readonly db: SyncDb<ApiDatabase>,
    superadmins: readonly string[],
  ) {
    this.superadmins = new Set(superadmins);
    this.roleStmt = db.sqlite.prepare(
      `SELECT
         (SELECT role FROM discord_guild_roles WHERE user_id = ? AND guild_id = g.id) AS d,
         (SELECT role FROM role_grants WHERE user_id = ? AND guild_id = g.id) AS r
       FROM guilds g WHERE g.id = ? AND g.left_at IS NULL`,
    );
    this.presentStmt = db.sqlite.prepare('SELECT 1 AS ok FROM guilds WHERE id = ? AND left_at IS NULL');
  }

  /** A user principal (not scoped, not a key) whose id is in SUPERADMIN_USER_IDS. */
  isSuperadmin(p: Principal | undefined): boolean {
    return p?.kind === 'user' && p.scope === null && this.superadmins.has(p.userId);
  }

  /** True when `userId` is a configured superadmin. */
  isSuperadminUser(userId: string): boolean {
    return this.superadmins.has(userId);
  }

  /** A user's own role in a guild the bot is in (superadmin → owner), or null. */
  userRole(userId: string, guildId: string): GuildRole | null {
    const key = `${userId}\u0001${guildId}`;
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    const row = this.roleStmt.get(userId, userId, guildId) as
      { d: GuildRole | null; r: GuildRole | null } | undefined;
    const role = !row ? null : this.superadmins.has(userId) ? 'owner' : maxRole(row.d, row.r);
    if (this.memo.size >= MEMO_MAX) this.memo.clear();
    this.memo.set(key, role);
    return role;
  }

  /**
   * Forgets every remembered role. The api pod is the only writer of the tables roles come from, and
   * every write to them is a domain op, so calling this after each committed write keeps lookups exact:
   * a revoked grant is gone on the very next request.
   */
  invalidate(): void {
    this.memo.clear();
  }

  /** The principal's effective role in a guild, or null (no access, or the bot is not there). */
  guildRole(p: Principal | undefined, guildId: string): GuildRole | null {
    if (!p) return null;
    switch (p.kind) {
      case 'service':
        return null;
      case 'user':
        if (p.scope) {
          if (p.scope.guildId !== guildId) return null;
          return this.presentStmt.get(guildId) ? p.scope.role : null;
        }
        return this.userRole(p.userId, guildId);
      case 'api_key': {
        if (p.guildId !== null && p.guildId !== guildId) return null;
        if (p.userId === null) return null;
        const cap: GuildRole | null = p.scopes.includes('write')
          ? 'admin'
          : p.scopes.includes('read')
            ? 'viewer'
            : null;
        return minRole(this.userRole(p.userId, guildId), cap);
      }
    }
  }

  /** Ids of the guilds (bot present) the principal can see: `'all'` for superadmins. */
  accessibleGuildIds(p: Principal | undefined): string[] | 'all' {
    if (!p || p.kind === 'service') return [];
    if (this.isSuperadmin(p)) return 'all';
    if (p.kind === 'user' && p.scope) return this.guildRole(p, p.scope.guildId) ? [p.scope.guildId] : [];
    const userId = p.userId;
    if (userId === null) return [];
    if (p.kind === 'api_key' && p.guildId !== null) return this.guildRole(p, p.guildId) ? [p.guildId] : [];
    if (p.kind === 'api_key' && this.superadmins.has(userId)) return 'all';
    const rows = this.db
      .prepare(
        `SELECT guild_id FROM discord_guild_roles WHERE user_id = ?
         UNION SELECT guild_id FROM role_grants WHERE user_id = ?`,
      )
      .all(userId, userId) as { guild_id: string }[];
    return rows.map((r) => r.guild_id).filter((id) => this.guildRole(p, id) !== null);
  }
}
