import { z } from 'zod';
import { VERSION } from '../version.js';
import type { AnyRoute } from './http/route.js';
import { openApiPath } from './http/route.js';

/**
 * The body of every error response (RFC 9457 problem details plus a stable `code`).
 *
 * @example
 * z.toJSONSchema(problemSchema);
 */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().meta({ description: 'Stable machine-readable error code' }),
    instance: z.string().optional(),
    details: z.unknown().optional(),
    requestId: z.string().optional(),
  })
  .meta({ id: 'Problem' });

type JsonSchema = Record<string, unknown>;

/**
 * An OpenAPI 3.1 document (loosely typed).
 *
 * @example
 * const doc: OpenApiDocument = buildOpenApi(routes);
 */
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers?: { url: string }[];
  tags: { name: string; description?: string }[];
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes: Record<string, unknown>;
  };
}

const ERROR_TEXT: Readonly<Record<number, string>> = {
  400: 'Invalid input (`validation_failed` with field errors, `malformed_json`, `invalid_cursor`, …)',
  401: 'Missing or invalid credentials (`unauthenticated`, `token_expired`, `token_invalid_signature`, …)',
  403: 'Authenticated but not allowed (`insufficient_role`, `superadmin_required`, …)',
  404: 'Not found (`guild_not_found` also when the caller has no access to the guild)',
  409: 'Conflict',
  413: 'Body too large (`payload_too_large`)',
  415: 'Body is not JSON (`unsupported_media_type`)',
  429: 'Rate limited (`rate_limited`; see Retry-After)',
};

/** Tag descriptions, in document order. */
const TAGS: readonly { name: string; description: string }[] = [
  { name: 'meta', description: 'Health, readiness, metrics and this document.' },
  { name: 'auth', description: 'Discord OAuth2 login, token refresh (rotating), logout, current principal.' },
  { name: 'api-keys', description: 'Automation keys (`gh_<prefix>_<secret>`), shown once, stored hashed.' },
  { name: 'users', description: 'Known users (superadmin).' },
  { name: 'guilds', description: 'Guilds the caller can administer, and their settings.' },
  { name: 'roles', description: 'Per-guild role grants: owner > admin > moderator > viewer.' },
  { name: 'cogs', description: 'Per-guild cog switches and configuration (validated by each cog’s schema).' },
  {
    name: 'analytics',
    description: 'Activity analytics from the rollups (hour/day buckets, ISO timestamps).',
  },
  { name: 'audit', description: 'Every admin change, who made it, from which request.' },
  { name: 'export', description: 'Streamed data exports and privacy requests.' },
  { name: 'live', description: 'Server-sent events with live guild activity.' },
  { name: 'cluster', description: 'Shard plan, shard leases and pods (superadmin).' },
  { name: 'internal', description: 'Domain RPC for shard pods (service tokens, audience `internal`).' },
];

class SchemaCollector {
  readonly defs: Record<string, JsonSchema> = {};

  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const json = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
    }) as JsonSchema;
    const defs = (json.$defs ?? {}) as Record<string, JsonSchema>;
    delete json.$defs;
    delete json.$schema;
    for (const [name, def] of Object.entries(defs)) this.defs[name] ??= rewriteRefs(def) as JsonSchema;
    const id = (z.globalRegistry.get(schema) as { id?: string } | undefined)?.id;
    const body = rewriteRefs(json) as JsonSchema;
    if (id) {
      delete body.id;
      this.defs[id] ??= body;
      return { $ref: `#/components/schemas/${id}` };
    }
    return body;
  }
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        k === '$ref' && typeof v === 'string'
          ? v.replace('#/$defs/', '#/components/schemas/')
          : rewriteRefs(v);
    }
    return out;
  }
  return value;
}

function shapeOf(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  if (!schema) return {};
  return ((schema as z.ZodObject).shape ?? {}) as Record<string, z.ZodType>;
}

/**
 * Renders the OpenAPI 3.1 document from the route definitions: the same zod schemas that validate each
 * request (`params`, `query`, `body`) and describe each response, converted with `z.toJSONSchema`; schemas
 * with a `meta({ id })` land in `components.schemas`. Nothing is written twice.
 *
 * @example
 * const doc = buildOpenApi(routes, { serverUrl: 'http://127.0.0.1:8080' });
 */
export function buildOpenApi(routes: readonly AnyRoute[], o: { serverUrl?: string } = {}): OpenApiDocument {
  const c = new SchemaCollector();
  const problemRef = c.convert(problemSchema, 'output');
  const paths: OpenApiDocument['paths'] = {};
  for (const r of routes) {
    const parameters: Record<string, unknown>[] = [];
    for (const [name, s] of Object.entries(shapeOf(r.params))) {
      parameters.push({ name, in: 'path', required: true, schema: c.convert(s, 'input'), ...describe(s) });
    }
    for (const [name, s] of Object.entries(shapeOf(r.query))) {
      const required = !s.safeParse(undefined).success;
      parameters.push({ name, in: 'query', required, schema: c.convert(s, 'input'), ...describe(s) });
    }
    const responses: Record<string, unknown> = {};
    if (r.raw) {
      responses[String(r.raw.status)] = {
        description: r.raw.description,
        ...(r.raw.contentType
          ? {
              content: {
                [r.raw.contentType]: {
                  schema: r.raw.schema
                    ? c.convert(r.raw.schema, 'output')
                    : { type: r.raw.contentType.includes('json') ? 'object' : 'string' },
                },
              },
            }
          : {}),
      };
    } else if (r.response) {
      responses[String(r.status ?? 200)] = {
        description: 'OK',
        content: { 'application/json': { schema: c.convert(r.response, 'output') } },
      };
    } else {
      responses[String(r.status ?? 204)] = { description: 'Done (no content)' };
    }
    const errors = new Set<number>();
    if (r.params || r.query || r.body) errors.add(400);
    if (r.access !== 'public') errors.add(401);
    if (r.access !== 'public' && r.access !== 'authenticated') errors.add(403);
    if (typeof r.access === 'object' || r.params) errors.add(404);
    if (r.body) {
      errors.add(413);
      errors.add(415);
    }
    if (r.path.startsWith('/api/')) errors.add(429);
    for (const status of Object.keys(r.errors ?? {})) errors.add(Number(status));
    for (const status of [...errors].sort()) {
      responses[String(status)] = {
        description: r.errors?.[status] ?? ERROR_TEXT[status] ?? 'Error',
        content: { 'application/problem+json': { schema: problemRef } },
      };
    }
    const op: Record<string, unknown> = {
      operationId: r.id,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      security: securityOf(r),
      'x-guildhall-access': typeof r.access === 'object' ? `guild:${r.access.guild}` : r.access,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: !r.body.safeParse(undefined).success,
              content: { 'application/json': { schema: c.convert(r.body, 'input') } },
            },
          }
        : {}),
      responses,
    };
    (paths[openApiPath(r.path)] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'guildhall admin API',
      version: VERSION,
      description:
        'Admin REST API (`/api/v1`) and internal domain RPC (`/internal/v1`). Errors are `application/problem+json` with a stable `code`. Lists page with `limit` + opaque `cursor` → `{ items, nextCursor }`. Timestamps are ISO 8601 UTC.',
    },
    ...(o.serverUrl ? { servers: [{ url: o.serverUrl }] } : {}),
    tags: TAGS.filter((t) => routes.some((r) => r.tag === t.name)),
    paths,
    components: {
      schemas: c.defs,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (audience admin)' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        serviceToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (audience internal)' },
      },
    },
  };
}

function describe(s: z.ZodType): Record<string, unknown> {
  const meta = z.globalRegistry.get(s) as { description?: string } | undefined;
  return meta?.description ? { description: meta.description } : {};
}

function securityOf(r: AnyRoute): Record<string, string[]>[] {
  if (r.access === 'public') return [];
  if (r.access === 'service') return [{ serviceToken: [] }];
  if (r.access === 'user' || r.access === 'superadmin') return [{ bearerAuth: [] }];
  return [{ bearerAuth: [] }, { apiKey: [] }];
}
