import { sql } from 'kysely';
import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import { toUserDto } from '../../domain/platform-ops.js';
import { decodeCursor, encodeCursor, pageQueryShape, pageSchema } from '../../domain/pagination.js';
import { guildRoleSchema, snowflake, userSchema } from '../../domain/schemas.js';
import { defineRoute } from '../http/route.js';

const userParams = z.strictObject({ userId: snowflake });

/**
 * Users known to the platform (superadmins; a user may read themselves).
 *
 * @example
 * const routes = [...userRoutes];
 */
export const userRoutes = [
  defineRoute({
    id: 'users.list',
    method: 'get',
    path: '/api/v1/users',
    tag: 'users',
    summary: 'Known users (superadmin)',
    access: 'superadmin',
    query: z.strictObject({
      ...pageQueryShape,
      search: z.string().min(1).max(100).optional().meta({ description: 'Username prefix' }),
    }),
    response: pageSchema(userSchema, 'UserPage'),
    handler: ({ deps, query }) => {
      let q = deps.db.q.selectFrom('users').selectAll();
      if (query.search !== undefined) {
        const pattern = `${query.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        q = q.where(sql<boolean>`username LIKE ${pattern} ESCAPE '\\'`);
      }
      if (query.cursor !== undefined) {
        const [id] = decodeCursor(query.cursor, 's') as [string];
        q = q.where('id', '>', id);
      }
      const rows = deps.db.all(q.orderBy('id').limit(query.limit + 1));
      const page = rows.slice(0, query.limit);
      return {
        items: page.map(toUserDto),
        nextCursor: rows.length > query.limit ? encodeCursor([page[page.length - 1]!.id]) : null,
      };
    },
  }),
  defineRoute({
    id: 'users.get',
    method: 'get',
    path: '/api/v1/users/:userId',
    tag: 'users',
    summary: 'A user (yourself, or anyone for superadmins)',
    access: 'user',
    params: userParams,
    response: userSchema,
    handler: ({ deps, principal, params }) => {
      const self = principal.kind === 'user' && principal.userId === params.userId;
      const row = deps.db.first(deps.db.q.selectFrom('users').selectAll().where('id', '=', params.userId));
      if (!row || (!self && !deps.rbac.isSuperadmin(principal))) {
        throw new AppError(404, 'user_not_found', 'No such user');
      }
      return toUserDto(row);
    },
  }),
  defineRoute({
    id: 'users.roles',
    method: 'get',
    path: '/api/v1/users/:userId/roles',
    tag: 'users',
    summary: 'Every guild role of a user, with its sources (superadmin)',
    access: 'superadmin',
    params: userParams,
    response: z.strictObject({
      items: z.array(
        z.strictObject({
          guildId: snowflake,
          role: guildRoleSchema.nullable(),
          discord: guildRoleSchema.nullable(),
          grant: guildRoleSchema.nullable(),
        }),
      ),
    }),
    handler: ({ deps, params }) => {
      const rows = deps.db
        .prepare(
          `SELECT g.id AS guild_id,
             (SELECT role FROM discord_guild_roles d WHERE d.user_id = ? AND d.guild_id = g.id) AS discord,
             (SELECT role FROM role_grants r WHERE r.user_id = ? AND r.guild_id = g.id) AS grant_role
           FROM guilds g WHERE g.left_at IS NULL AND g.id IN (
             SELECT guild_id FROM discord_guild_roles WHERE user_id = ? UNION SELECT guild_id FROM role_grants WHERE user_id = ?)
           ORDER BY g.id`,
        )
        .all(params.userId, params.userId, params.userId, params.userId) as {
        guild_id: string;
        discord: 'owner' | 'admin' | 'viewer' | null;
        grant_role: 'owner' | 'admin' | 'moderator' | 'viewer' | null;
      }[];
      return {
        items: rows.map((r) => ({
          guildId: r.guild_id,
          role: deps.rbac.userRole(params.userId, r.guild_id),
          discord: r.discord,
          grant: r.grant_role,
        })),
      };
    },
  }),
];
