import type { Context } from 'koa';
import type { z } from 'zod';
import type { Actor } from '../../domain/ops.js';
import type { GuildRole } from '../../domain/tables.js';
import type { Logger } from '../../logging/logger.js';
import type { Principal } from '../auth/principal.js';
import type { ApiDeps } from '../deps.js';

/**
 * HTTP methods routes use.
 *
 * @example
 * const m: Method = 'patch';
 */
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Who may call a route: anyone; any admin principal (user token, scoped token, API key); a user token
 * only (not an API key: key management, sessions); a platform superadmin; a shard service token; or a
 * minimum role in the `:guildId` of the path.
 *
 * @example
 * const access: Access = { guild: 'admin' };
 */
export type Access =
  'public' | 'authenticated' | 'user' | 'superadmin' | 'service' | { readonly guild: GuildRole };

type Schema = z.ZodType | undefined;
/**
 * Parsed value of an optional schema.
 *
 * @example
 * type Q = Parsed<typeof querySchema>;
 */
export type Parsed<S extends Schema> = S extends z.ZodType ? z.output<S> : undefined;

/**
 * What a route handler receives: parsed input, the principal, and the deps.
 *
 * @example
 * handler: ({ deps, params, principal }) => readSettings(deps.readContext(), params.guildId),
 */
export interface HandlerContext<P extends Schema, Q extends Schema, B extends Schema> {
  readonly ctx: Context;
  readonly deps: ApiDeps;
  readonly params: Parsed<P>;
  readonly query: Parsed<Q>;
  readonly body: Parsed<B>;
  /** Set on every non-public route. */
  readonly principal: Principal;
  /** The caller's role in `:guildId` on guild routes (null elsewhere). */
  readonly guildRole: GuildRole | null;
  readonly actor: Actor;
  readonly requestId: string;
  readonly log: Logger;
}

/**
 * Read-through caching of a GET route's JSON response.
 *
 * @example
 * cache: { ttlMs: 60_000, tags: ({ params }) => [`guild:${params.guildId}:settings`] },
 */
export interface RouteCache<P extends Schema> {
  readonly ttlMs: number;
  /** Tags that make the response stale (see `tags` in the domain ops). */
  readonly tags: (input: { params: Parsed<P>; principal: Principal }) => readonly string[];
  /** The response differs per principal (e.g. "my guilds"), not only per path and query. */
  readonly perPrincipal?: boolean;
}

/**
 * A non-JSON or non-200 success response, for the OpenAPI document.
 *
 * @example
 * raw: { status: 302, description: 'Redirect to Discord' },
 */
export interface RawResponse {
  readonly status: number;
  readonly contentType?: string;
  readonly description: string;
  readonly schema?: z.ZodType;
}

/**
 * One route, declared once: it is mounted on the koa router *and* rendered into the OpenAPI document from
 * the same definition. `params`, `query` and `body` are strict zod schemas (unknown fields → 400); the
 * handler receives the parsed values and returns the response body (validated against `response` by the
 * OpenAPI walk test), or sets `ctx` itself when `raw` is given (streams, redirects, SSE).
 *
 * @example
 * const route: RouteDef = defineRoute({ id: 'x', method: 'get', path: '/api/v1/x', tag: 'meta', summary: 'x', access: 'public', handler: () => undefined });
 */
export interface RouteDef<
  P extends Schema = Schema,
  Q extends Schema = Schema,
  B extends Schema = Schema,
  R extends Schema = Schema,
> {
  readonly id: string;
  readonly method: Method;
  readonly path: string;
  readonly tag: string;
  readonly summary: string;
  readonly description?: string;
  readonly access: Access;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  readonly response?: R;
  /** Success status of a JSON route (default 200; 204 when there is no response schema). */
  readonly status?: number;
  readonly raw?: RawResponse;
  readonly cache?: RouteCache<P>;
  /** Extra error codes worth documenting, e.g. `{ 409: 'stale_epoch' }`. */
  readonly errors?: Readonly<Record<number, string>>;
  readonly handler: (
    c: HandlerContext<P, Q, B>,
  ) => R extends z.ZodType ? z.input<R> | Promise<z.input<R>> : void | Promise<void>;
}

/**
 * Any route (for registries).
 *
 * @example
 * const routes: AnyRoute[] = [...guildRoutes, ...cogRoutes];
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteDef<any, any, any, any>;

/**
 * Declares a route with full type inference of its params, query, body and response.
 *
 * @example
 * export const getSettings = defineRoute({
 *   id: 'settings.get', method: 'get', path: '/api/v1/guilds/:guildId/settings', tag: 'guilds',
 *   summary: 'Guild settings', access: { guild: 'viewer' }, params: guildParams, response: guildSettingsSchema,
 *   handler: ({ deps, params }) => readSettings(deps.readContext(), params.guildId),
 * });
 */
export function defineRoute<
  P extends Schema = undefined,
  Q extends Schema = undefined,
  B extends Schema = undefined,
  R extends Schema = undefined,
>(def: RouteDef<P, Q, B, R>): RouteDef<P, Q, B, R> {
  return def;
}

/**
 * `/guilds/:guildId` → `/guilds/{guildId}` (OpenAPI path template).
 *
 * @example
 * openApiPath('/guilds/:guildId'); // '/guilds/{guildId}'
 */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
