import { z } from 'zod';
import { tags } from '../../domain/platform-ops.js';
import { auditEntrySchema, isoTime, snowflake } from '../../domain/schemas.js';
import { pageQueryShape, pageSchema } from '../../domain/pagination.js';
import { defineRoute } from '../http/route.js';
import { guildParams } from './common.js';

const filterShape = {
  ...pageQueryShape,
  action: z.string().max(64).optional().meta({ description: 'e.g. cog.configure, role.grant' }),
  actorId: z.string().max(64).optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
};
const page = pageSchema(auditEntrySchema, 'AuditPage');

function toInput(guildId: string | null, q: z.infer<z.ZodObject<typeof filterShape>>) {
  return {
    guildId,
    action: q.action,
    actorId: q.actorId,
    since: q.since === undefined ? undefined : Date.parse(q.since),
    until: q.until === undefined ? undefined : Date.parse(q.until),
    limit: q.limit,
    cursor: q.cursor,
  };
}

/**
 * The audit log: per guild (moderators and up) and platform-wide (superadmins). Newest first.
 *
 * @example
 * const routes = [...auditRoutes];
 */
export const auditRoutes = [
  defineRoute({
    id: 'audit.guild',
    method: 'get',
    path: '/api/v1/guilds/:guildId/audit-log',
    tag: 'audit',
    summary: 'Admin changes in the guild, newest first, filterable',
    access: { guild: 'moderator' },
    params: guildParams,
    query: z.strictObject(filterShape),
    response: page,
    cache: { ttlMs: 30_000, tags: ({ params }) => [tags.audit(params.guildId)] },
    handler: async ({ deps, params, query }) =>
      (await deps.ops.read('audit.list' as never, toInput(params.guildId, query) as never)) as z.infer<
        typeof page
      >,
  }),
  defineRoute({
    id: 'audit.platform',
    method: 'get',
    path: '/api/v1/audit-log',
    tag: 'audit',
    summary: 'Every audit entry (superadmin), optionally of one guild',
    access: 'superadmin',
    query: z.strictObject({ ...filterShape, guildId: snowflake.optional() }),
    response: page,
    handler: async ({ deps, query }) =>
      (await deps.ops.read('audit.list' as never, toInput(query.guildId ?? null, query) as never)) as z.infer<
        typeof page
      >,
  }),
];
