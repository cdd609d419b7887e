import { z } from 'zod';
import { fenceSchema } from '../../domain/ops.js';
import { defineRoute } from '../http/route.js';

/**
 * Domain RPC for shard pods (service tokens, audience `internal`).
 *
 * @example
 * const routes = [...internalRoutes];
 */
export const internalRoutes = [
  defineRoute({
    id: 'internal.ops.list',
    method: 'get',
    path: '/internal/v1/ops',
    tag: 'internal',
    summary: 'The domain operations shards may call, with their input JSON Schemas',
    access: 'service',
    response: z.strictObject({
      items: z.array(
        z.strictObject({
          name: z.string(),
          kind: z.enum(['read', 'write']),
          description: z.string().nullable(),
          input: z.record(z.string(), z.unknown()),
        }),
      ),
    }),
    handler: ({ deps }) => ({
      items: deps.ops.registry
        .list()
        .filter((op) => op.internal)
        .map((op) => {
          const input = z.toJSONSchema(op.input, { io: 'input', unrepresentable: 'any' }) as Record<
            string,
            unknown
          >;
          delete input.$schema;
          return { name: op.name, kind: op.kind, description: op.description ?? null, input };
        }),
    }),
  }),
  defineRoute({
    id: 'internal.ops.call',
    method: 'post',
    path: '/internal/v1/ops/:name',
    tag: 'internal',
    summary: 'Run a domain read or write (writes: one SQLite transaction; fenced writes are checked)',
    description:
      '`input` is validated by the op’s schema (400 with field errors). A write may carry `fence` `{ shardId, generation, epoch }`; a stale one is refused with `409 stale_epoch`.',
    access: 'service',
    params: z.strictObject({ name: z.string().regex(/^[a-zA-Z][\w.-]{0,99}$/, 'an op name') }),
    body: z.strictObject({ input: z.unknown(), fence: fenceSchema.optional() }),
    response: z.strictObject({ output: z.unknown() }),
    errors: { 409: 'The fence is stale (`stale_epoch`) or the write conflicts (`conflict`)' },
    handler: async ({ deps, params, body, actor, requestId }) => ({
      output: await deps.ops.call(params.name, body.input, {
        internalOnly: true,
        actor,
        requestId,
        ...(body.fence ? { fence: body.fence } : {}),
      }),
    }),
  }),
];
