import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import { findCog } from '../../domain/cog-catalog.js';
import { validationError } from '../../domain/errors.js';
import { readCogStates, tags } from '../../domain/platform-ops.js';
import { cogStateSchema } from '../../domain/schemas.js';
import type { ApiDeps } from '../deps.js';
import { defineRoute } from '../http/route.js';
import { guildParams } from './common.js';

const cogParams = guildParams.extend({ cog: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a cog name') });

function cogState(deps: ApiDeps, guildId: string, cog: string) {
  const state = readCogStates(deps.readContext(), guildId).find((c) => c.name === cog);
  if (!state) throw new AppError(404, 'cog_not_found', `No cog named ${cog}`);
  return state;
}

const configResponse = z
  .strictObject({ cog: z.string(), config: z.record(z.string(), z.unknown()), configured: z.boolean() })
  .meta({ id: 'CogConfig' });

function setEnabled(enabled: boolean) {
  return defineRoute({
    id: enabled ? 'cogs.enable' : 'cogs.disable',
    method: 'post',
    path: `/api/v1/guilds/:guildId/cogs/:cog/${enabled ? 'enable' : 'disable'}`,
    tag: 'cogs',
    summary: `${enabled ? 'Enable' : 'Disable'} a cog in the guild (audited; shards pick it up live)`,
    access: { guild: 'admin' },
    params: cogParams,
    response: cogStateSchema,
    handler: async ({ deps, params, actor, requestId }) =>
      (await deps.ops.call(
        'cogs.setEnabled',
        { guildId: params.guildId, cog: params.cog, enabled },
        { kind: 'write', actor, requestId },
      )) as z.infer<typeof cogStateSchema>,
  });
}

/**
 * The cog catalog and per-guild cog switches and config.
 *
 * @example
 * const routes = [...cogRoutes];
 */
export const cogRoutes = [
  defineRoute({
    id: 'cogs.catalog',
    method: 'get',
    path: '/api/v1/cogs',
    tag: 'cogs',
    summary: 'Every cog with its config JSON Schema',
    access: 'authenticated',
    response: z.strictObject({
      items: z.array(
        z.strictObject({
          name: z.string(),
          description: z.string(),
          defaultEnabled: z.boolean(),
          configSchema: z.record(z.string(), z.unknown()),
        }),
      ),
    }),
    cache: { ttlMs: 300_000, tags: () => ['cogs:catalog'] },
    handler: ({ deps }) => ({
      items: deps.cogs.list().map((c) => {
        const schema = z.toJSONSchema(c.configSchema, { io: 'input', unrepresentable: 'any' }) as Record<
          string,
          unknown
        >;
        delete schema.$schema;
        return {
          name: c.name,
          description: c.description,
          defaultEnabled: c.defaultEnabled ?? true,
          configSchema: schema,
        };
      }),
    }),
  }),
  defineRoute({
    id: 'cogs.list',
    method: 'get',
    path: '/api/v1/guilds/:guildId/cogs',
    tag: 'cogs',
    summary: 'Every cog’s switch and config in the guild',
    access: { guild: 'viewer' },
    params: guildParams,
    response: z.strictObject({ items: z.array(cogStateSchema) }),
    cache: { ttlMs: 60_000, tags: ({ params }) => [tags.cogs(params.guildId)] },
    handler: ({ deps, params }) => ({ items: readCogStates(deps.readContext(), params.guildId) }),
  }),
  defineRoute({
    id: 'cogs.get',
    method: 'get',
    path: '/api/v1/guilds/:guildId/cogs/:cog',
    tag: 'cogs',
    summary: 'One cog’s state in the guild',
    access: { guild: 'viewer' },
    params: cogParams,
    response: cogStateSchema,
    cache: { ttlMs: 60_000, tags: ({ params }) => [tags.cogs(params.guildId)] },
    handler: ({ deps, params }) => cogState(deps, params.guildId, params.cog),
  }),
  setEnabled(true),
  setEnabled(false),
  defineRoute({
    id: 'cogs.config.get',
    method: 'get',
    path: '/api/v1/guilds/:guildId/cogs/:cog/config',
    tag: 'cogs',
    summary: 'A cog’s config in the guild (defaults until changed)',
    access: { guild: 'moderator' },
    params: cogParams,
    response: configResponse,
    cache: { ttlMs: 60_000, tags: ({ params }) => [tags.cogs(params.guildId)] },
    handler: ({ deps, params }) => {
      const s = cogState(deps, params.guildId, params.cog);
      return { cog: s.name, config: s.config, configured: s.configured };
    },
  }),
  defineRoute({
    id: 'cogs.config.put',
    method: 'put',
    path: '/api/v1/guilds/:guildId/cogs/:cog/config',
    tag: 'cogs',
    summary: 'Replace a cog’s config (validated by the cog’s own schema; audited; live on shards)',
    description:
      'The body must satisfy the cog’s `configSchema` from `GET /api/v1/cogs`; defaults fill omitted fields.',
    access: { guild: 'admin' },
    params: cogParams,
    body: z.record(z.string(), z.unknown()).meta({ description: 'The cog’s config object' }),
    response: configResponse,
    handler: async ({ deps, params, body, actor, requestId }) => {
      const cog = findCog(deps.cogs, params.cog);
      if (!cog) throw new AppError(404, 'cog_not_found', `No cog named ${params.cog}`);
      const parsed = cog.configSchema.safeParse(body);
      if (!parsed.success) throw validationError(parsed.error, 'body');
      const s = (await deps.ops.call(
        'cogs.setConfig',
        { guildId: params.guildId, cog: cog.name, config: parsed.data },
        { kind: 'write', actor, requestId },
      )) as z.infer<typeof cogStateSchema>;
      return { cog: s.name, config: s.config, configured: s.configured };
    },
  }),
];
