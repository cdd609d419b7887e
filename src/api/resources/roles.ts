import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import { decodeCursor, encodeCursor, pageQueryShape, pageSchema } from '../../domain/pagination.js';
import { tags } from '../../domain/platform-ops.js';
import { guildRoleSchema, iso, isoTime, roleGrantSchema, snowflake } from '../../domain/schemas.js';
import { type GuildRole, maxRole, roleRank } from '../../domain/tables.js';
import { defineRoute } from '../http/route.js';
import { guildParams } from './common.js';

/**
 * One member's access to a guild, with where it comes from.
 *
 * @example
 * z.array(memberAccessSchema).parse(page.items);
 */
export const memberAccessSchema = z
  .strictObject({
    userId: snowflake,
    username: z.string().nullable(),
    role: guildRoleSchema,
    discord: z
      .enum(['owner', 'admin', 'viewer'])
      .nullable()
      .meta({ description: 'From Discord permissions at login' }),
    grant: guildRoleSchema.nullable().meta({ description: 'Explicit grant' }),
    grantedBy: z.string().nullable(),
    updatedAt: isoTime,
  })
  .meta({ id: 'MemberAccess' });

const memberParams = guildParams.extend({ userId: snowflake });

type Row = {
  user_id: string;
  username: string | null;
  discord: 'owner' | 'admin' | 'viewer' | null;
  grant_role: GuildRole | null;
  granted_by: string | null;
  updated_at: number;
};

const SELECT = `
  SELECT m.user_id, u.username, d.role AS discord, r.role AS grant_role, r.granted_by,
         MAX(COALESCE(d.updated_at, 0), COALESCE(r.created_at, 0)) AS updated_at
  FROM (SELECT user_id FROM discord_guild_roles WHERE guild_id = @g UNION SELECT user_id FROM role_grants WHERE guild_id = @g) m
  LEFT JOIN discord_guild_roles d ON d.guild_id = @g AND d.user_id = m.user_id
  LEFT JOIN role_grants r ON r.guild_id = @g AND r.user_id = m.user_id
  LEFT JOIN users u ON u.id = m.user_id`;

function toDto(row: Row) {
  return {
    userId: row.user_id,
    username: row.username,
    role: maxRole(row.discord, row.grant_role) ?? 'viewer',
    discord: row.discord,
    grant: row.grant_role,
    grantedBy: row.granted_by,
    updatedAt: iso(row.updated_at),
  };
}

/** Owners manage every role; others only roles strictly below their own. */
function canManage(actor: GuildRole, target: GuildRole): boolean {
  return actor === 'owner' || roleRank(target) < roleRank(actor);
}

/**
 * Who has which role in a guild; grant and revoke explicit roles.
 *
 * @example
 * const routes = [...roleRoutes];
 */
export const roleRoutes = [
  defineRoute({
    id: 'roles.list',
    method: 'get',
    path: '/api/v1/guilds/:guildId/roles',
    tag: 'roles',
    summary: 'Members with access to the guild and the source of their role',
    access: { guild: 'admin' },
    params: guildParams,
    query: z.strictObject(pageQueryShape),
    response: pageSchema(memberAccessSchema, 'MemberAccessPage'),
    cache: { ttlMs: 30_000, tags: ({ params }) => [tags.roles(params.guildId)] },
    handler: ({ deps, params, query }) => {
      const after = query.cursor === undefined ? '' : (decodeCursor(query.cursor, 's')[0] as string);
      const rows = deps.db
        .prepare(`${SELECT} WHERE m.user_id > @after ORDER BY m.user_id LIMIT @limit`)
        .all({ g: params.guildId, after, limit: query.limit + 1 }) as Row[];
      const page = rows.slice(0, query.limit);
      return {
        items: page.map(toDto),
        nextCursor: rows.length > query.limit ? encodeCursor([page[page.length - 1]!.user_id]) : null,
      };
    },
  }),
  defineRoute({
    id: 'roles.get',
    method: 'get',
    path: '/api/v1/guilds/:guildId/roles/:userId',
    tag: 'roles',
    summary: 'One member’s access',
    access: { guild: 'admin' },
    params: memberParams,
    response: memberAccessSchema,
    handler: ({ deps, params }) => {
      const row = deps.db
        .prepare(`${SELECT} WHERE m.user_id = @u`)
        .get({ g: params.guildId, u: params.userId }) as Row | undefined;
      if (!row) throw new AppError(404, 'member_not_found', 'That user has no role in this guild');
      return toDto(row);
    },
  }),
  defineRoute({
    id: 'roles.grant',
    method: 'put',
    path: '/api/v1/guilds/:guildId/roles/:userId',
    tag: 'roles',
    summary: 'Grant or change a member’s explicit role (audited)',
    description:
      'Owners may grant any role; admins only roles below admin, and only over grants below admin.',
    access: { guild: 'admin' },
    params: memberParams,
    body: z.strictObject({ role: guildRoleSchema }),
    response: roleGrantSchema,
    handler: async ({ deps, params, body, guildRole, actor, requestId }) => {
      const existing = deps.db.first(
        deps.db.q
          .selectFrom('role_grants')
          .select('role')
          .where('guild_id', '=', params.guildId)
          .where('user_id', '=', params.userId),
      );
      const mine = guildRole as GuildRole;
      if (!canManage(mine, body.role) || (existing && !canManage(mine, existing.role))) {
        throw new AppError(403, 'cannot_grant_role', `An ${mine} cannot grant or change that role`);
      }
      return (await deps.ops.call(
        'roles.grant',
        { guildId: params.guildId, userId: params.userId, role: body.role },
        { kind: 'write', actor, requestId },
      )) as z.infer<typeof roleGrantSchema>;
    },
  }),
  defineRoute({
    id: 'roles.revoke',
    method: 'delete',
    path: '/api/v1/guilds/:guildId/roles/:userId',
    tag: 'roles',
    summary: 'Remove a member’s explicit role (audited; Discord-derived roles stay until their next login)',
    access: { guild: 'admin' },
    params: memberParams,
    handler: async ({ deps, params, guildRole, actor, requestId }) => {
      const existing = deps.db.first(
        deps.db.q
          .selectFrom('role_grants')
          .select('role')
          .where('guild_id', '=', params.guildId)
          .where('user_id', '=', params.userId),
      );
      if (!existing) throw new AppError(404, 'grant_not_found', 'That user has no explicit role here');
      if (!canManage(guildRole as GuildRole, existing.role)) {
        throw new AppError(403, 'cannot_grant_role', 'You cannot revoke that role');
      }
      await deps.ops.call(
        'roles.revoke',
        { guildId: params.guildId, userId: params.userId },
        { kind: 'write', actor, requestId },
      );
    },
  }),
];
