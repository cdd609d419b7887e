import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import { decodeCursor, encodeCursor, pageQueryShape, pageSchema } from '../../domain/pagination.js';
import { iso, isoOrNull, isoTime, snowflake } from '../../domain/schemas.js';
import type { ApiKeysTable } from '../../storage/schema.js';
import { generateApiKey } from '../auth/api-keys.js';
import { API_KEY_SCOPES, type Principal } from '../auth/principal.js';
import type { ApiDeps } from '../deps.js';
import { defineRoute } from '../http/route.js';

/**
 * An API key as listed (never the key itself).
 *
 * @example
 * apiKeySchema.parse(row);
 */
export const apiKeySchema = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    prefix: z.string().meta({ description: 'The `<prefix>` of `gh_<prefix>_<secret>`, to recognise a key' }),
    guildId: snowflake.nullable(),
    scopes: z.array(z.enum(API_KEY_SCOPES)),
    createdBy: z.string().nullable(),
    createdAt: isoTime,
    lastUsedAt: isoTime.nullable(),
    revokedAt: isoTime.nullable(),
  })
  .meta({ id: 'ApiKey' });

function toDto(row: ApiKeysTable): z.infer<typeof apiKeySchema> {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    guildId: row.guild_id,
    scopes: (JSON.parse(row.scopes) as string[]).filter((s): s is (typeof API_KEY_SCOPES)[number] =>
      (API_KEY_SCOPES as readonly string[]).includes(s),
    ),
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
    lastUsedAt: isoOrNull(row.last_used_at),
    revokedAt: isoOrNull(row.revoked_at),
  };
}

const keyParams = z.strictObject({ keyId: z.string().regex(/^[0-9a-f-]{36}$/, 'an API key id (UUID)') });

function ownKey(deps: ApiDeps, principal: Principal, keyId: string): ApiKeysTable {
  const row = deps.db.first(deps.db.q.selectFrom('api_keys').selectAll().where('id', '=', keyId));
  const mine = row && principal.kind === 'user' && row.created_by === principal.userId;
  if (!row || (!mine && !deps.rbac.isSuperadmin(principal))) {
    throw new AppError(404, 'api_key_not_found', 'No such API key');
  }
  return row;
}

/**
 * List, create, read and revoke API keys (signed-in users; superadmins see all).
 *
 * @example
 * router.get(apiKeyRoutes[0].path, routeMiddleware(apiKeyRoutes[0], deps, metrics));
 */
export const apiKeyRoutes = [
  defineRoute({
    id: 'apiKeys.list',
    method: 'get',
    path: '/api/v1/api-keys',
    tag: 'api-keys',
    summary: 'My API keys (superadmins: `all=true` lists everyone’s)',
    access: 'user',
    query: z.strictObject({ ...pageQueryShape, all: z.enum(['true', 'false']).default('false') }),
    response: pageSchema(apiKeySchema, 'ApiKeyPage'),
    handler: ({ deps, principal, query }) => {
      let q = deps.db.q.selectFrom('api_keys').selectAll();
      if (!(query.all === 'true' && deps.rbac.isSuperadmin(principal))) {
        q = q.where('created_by', '=', principal.kind === 'user' ? principal.userId : '');
      }
      if (query.cursor !== undefined) {
        const [at, id] = decodeCursor(query.cursor, 'ns') as [number, string];
        q = q.where((eb) =>
          eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '>', id)])]),
        );
      }
      const rows = deps.db.all(
        q
          .orderBy('created_at', 'desc')
          .orderBy('id')
          .limit(query.limit + 1),
      );
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        items: page.map(toDto),
        nextCursor: rows.length > query.limit && last ? encodeCursor([last.created_at, last.id]) : null,
      };
    },
  }),
  defineRoute({
    id: 'apiKeys.create',
    method: 'post',
    path: '/api/v1/api-keys',
    tag: 'api-keys',
    summary: 'Create an API key (the key is in this response only)',
    description:
      'A key acts for its creator and never above them: `read` caps it at viewer, `write` at admin. With `guildId` it only works in that guild (where you need a role).',
    access: 'user',
    body: z.strictObject({
      name: z.string().min(1).max(100),
      guildId: snowflake.nullable().optional(),
      scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(2),
    }),
    response: apiKeySchema.extend({
      key: z.string().meta({ description: 'gh_<prefix>_<secret> — store it now' }),
    }),
    status: 201,
    handler: async ({ deps, principal, body, actor, requestId }) => {
      if (principal.kind !== 'user') throw new AppError(403, 'user_token_required', 'Sign in as a user');
      const guildId = body.guildId ?? null;
      if (guildId !== null && !deps.rbac.guildRole(principal, guildId)) {
        throw new AppError(404, 'guild_not_found', 'No such guild');
      }
      const k = generateApiKey();
      await deps.ops.call(
        'apiKeys.create',
        {
          id: k.id,
          name: body.name,
          prefix: k.prefix,
          keyHash: k.hash,
          guildId,
          scopes: [...new Set(body.scopes)],
          createdBy: principal.userId,
        },
        { kind: 'write', actor, requestId },
      );
      const row = deps.db.first(deps.db.q.selectFrom('api_keys').selectAll().where('id', '=', k.id))!;
      return { ...toDto(row), key: k.key };
    },
  }),
  defineRoute({
    id: 'apiKeys.get',
    method: 'get',
    path: '/api/v1/api-keys/:keyId',
    tag: 'api-keys',
    summary: 'One of my API keys',
    access: 'user',
    params: keyParams,
    response: apiKeySchema,
    handler: ({ deps, principal, params }) => toDto(ownKey(deps, principal, params.keyId)),
  }),
  defineRoute({
    id: 'apiKeys.revoke',
    method: 'delete',
    path: '/api/v1/api-keys/:keyId',
    tag: 'api-keys',
    summary: 'Revoke an API key (effective immediately)',
    access: 'user',
    params: keyParams,
    handler: async ({ deps, principal, params, actor, requestId }) => {
      ownKey(deps, principal, params.keyId);
      await deps.ops.call('apiKeys.revoke', { id: params.keyId }, { kind: 'write', actor, requestId });
    },
  }),
];
