import { z } from 'zod';
import { decodeCursor, encodeCursor, pageQueryShape, pageSchema } from '../../domain/pagination.js';
import { readSettings, tags, toGuildDto } from '../../domain/platform-ops.js';
import {
  guildRoleSchema,
  guildSchema,
  guildSettingsPatchSchema,
  guildSettingsSchema,
} from '../../domain/schemas.js';
import { principalKey } from '../auth/principal.js';
import { defineRoute } from '../http/route.js';
import { guildParams } from './common.js';

const myGuildSchema = guildSchema.extend({ role: guildRoleSchema }).meta({ id: 'MyGuild' });

/**
 * Guilds the caller can see, one guild, and its settings.
 *
 * @example
 * const routes = [...guildRoutes];
 */
export const guildRoutes = [
  defineRoute({
    id: 'guilds.list',
    method: 'get',
    path: '/api/v1/guilds',
    tag: 'guilds',
    summary: 'Guilds I can administer (with my role); superadmins see all',
    access: 'authenticated',
    query: z.strictObject(pageQueryShape),
    response: pageSchema(myGuildSchema, 'MyGuildPage'),
    cache: {
      ttlMs: 30_000,
      perPrincipal: true,
      tags: ({ principal }) => [
        tags.guildList,
        ...(principal.kind !== 'service' && principal.userId ? [tags.user(principal.userId)] : []),
        `principal:${principalKey(principal)}`,
      ],
    },
    handler: ({ deps, principal, query }) => {
      const ids = deps.rbac.accessibleGuildIds(principal);
      let q = deps.db.q.selectFrom('guilds').selectAll().where('left_at', 'is', null);
      if (ids !== 'all') q = q.where('id', 'in', ids.length === 0 ? [''] : ids);
      if (query.cursor !== undefined) {
        const [id] = decodeCursor(query.cursor, 's') as [string];
        q = q.where('id', '>', id);
      }
      const rows = deps.db.all(q.orderBy('id').limit(query.limit + 1));
      const page = rows.slice(0, query.limit);
      return {
        items: page.map((row) => ({
          ...toGuildDto(row),
          role: deps.rbac.guildRole(principal, row.id) ?? 'viewer',
        })),
        nextCursor: rows.length > query.limit ? encodeCursor([page[page.length - 1]!.id]) : null,
      };
    },
  }),
  defineRoute({
    id: 'guilds.get',
    method: 'get',
    path: '/api/v1/guilds/:guildId',
    tag: 'guilds',
    summary: 'One guild',
    access: { guild: 'viewer' },
    params: guildParams,
    response: guildSchema,
    cache: { ttlMs: 60_000, tags: ({ params }) => [tags.guild(params.guildId)] },
    handler: ({ deps, params }) =>
      toGuildDto(deps.db.first(deps.db.q.selectFrom('guilds').selectAll().where('id', '=', params.guildId))!),
  }),
  defineRoute({
    id: 'guilds.settings.get',
    method: 'get',
    path: '/api/v1/guilds/:guildId/settings',
    tag: 'guilds',
    summary: 'Guild settings (defaults for fields never set)',
    access: { guild: 'viewer' },
    params: guildParams,
    response: guildSettingsSchema,
    cache: { ttlMs: 60_000, tags: ({ params }) => [tags.settings(params.guildId)] },
    handler: ({ deps, params }) => readSettings(deps.readContext(), params.guildId),
  }),
  defineRoute({
    id: 'guilds.settings.patch',
    method: 'patch',
    path: '/api/v1/guilds/:guildId/settings',
    tag: 'guilds',
    summary: 'Change some guild settings (audited)',
    access: { guild: 'admin' },
    params: guildParams,
    body: guildSettingsPatchSchema,
    response: guildSettingsSchema,
    handler: async ({ deps, params, body, actor, requestId }) =>
      (await deps.ops.call(
        'settings.update',
        { guildId: params.guildId, patch: body },
        { kind: 'write', actor, requestId },
      )) as z.infer<typeof guildSettingsSchema>,
  }),
];
