import { createHash } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import { roleAtLeast } from '../../domain/tables.js';
import { actorOf, principalKey, type Principal } from '../auth/principal.js';
import type { ApiDeps } from '../deps.js';
import { readJsonBody } from './body.js';
import { metricOnce } from './metric.js';
import { type ApiState, header } from './request-context.js';
import type { Access, AnyRoute, HandlerContext } from './route.js';
import { parseOr400 } from './validate.js';

const emptyQuery = z.strictObject({});

/**
 * Strong ETag of a response body.
 *
 * @example
 * etagOf('{"a":1}'); // '"…27 base64url characters…"'
 */
export function etagOf(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

function fresh(ctx: Context, etag: string): boolean {
  const inm = header(ctx, 'if-none-match');
  if (inm === '') return false;
  if (inm.trim() === '*') return true;
  return inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/**
 * Sends a serialized JSON body with its ETag, or `304` when the client's copy is current.
 *
 * @example
 * sendJson(ctx, 200, JSON.stringify(body), etagOf(text));
 */
export function sendJson(ctx: Context, status: number, body: string, etag?: string): void {
  if (etag !== undefined) {
    ctx.set('ETag', etag);
    // Requests with `Authorization` are never stored by shared caches (RFC 9111 §3.5), and without
    // Last-Modified there is no heuristic freshness: clients revalidate with If-None-Match anyway. Other
    // requests (X-API-Key, public) say so explicitly.
    if (header(ctx, 'authorization') === '') ctx.set('Cache-Control', 'private, no-cache');
    if (status === 200 && fresh(ctx, etag)) {
      ctx.status = 304;
      return;
    }
  }
  if (status !== 200) ctx.status = status; // koa answers 200 for a body unless told otherwise
  ctx.type = 'application/json';
  ctx.body = body;
}

function checkAccess(access: Access, p: Principal | undefined, deps: ApiDeps): void {
  if (access === 'public') return;
  if (!p) throw new AppError(401, 'unauthenticated', 'Authentication required');
  if (access === 'service') {
    if (p.kind !== 'service')
      throw new AppError(403, 'service_token_required', 'Only platform services may call this');
    return;
  }
  if (p.kind === 'service') throw new AppError(403, 'forbidden', 'Service tokens cannot call the admin API');
  if (access === 'user' && p.kind !== 'user') {
    throw new AppError(403, 'user_token_required', 'Only a signed-in user may do this (not an API key)');
  }
  if (access === 'superadmin' && !deps.rbac.isSuperadmin(p)) {
    throw new AppError(403, 'superadmin_required', 'Only platform superadmins may do this');
  }
}

/**
 * Metrics of the route runner.
 *
 * @example
 * const metrics = routeMetrics(registry);
 */
export function routeMetrics(registry: Registry) {
  return {
    cache: metricOnce(
      registry,
      'guildhall_api_cache_lookups_total',
      () =>
        new Counter({
          name: 'guildhall_api_cache_lookups_total',
          help: 'Read-through cache lookups of cached GET routes, by result (hit or miss).',
          labelNames: ['result'],
          registers: [registry],
        }),
    ),
  };
}

/**
 * The middleware a {@link RouteDef} is mounted as. In order: access (401/403), params (400), guild role —
 * no role → `404 guild_not_found` (existence never leaks), too weak → `403 insufficient_role` — then query
 * and body (400/413/415), then the read-through cache (authorization always ran first), then the handler.
 * JSON GET responses carry a strong ETag and answer `If-None-Match` with 304.
 *
 * @example
 * router.get(route.path, routeMiddleware(route, deps, routeMetrics(registry)));
 */
export function routeMiddleware(
  route: AnyRoute,
  deps: ApiDeps,
  metrics: ReturnType<typeof routeMetrics>,
): Middleware<ApiState> {
  const minRole = typeof route.access === 'object' ? route.access.guild : null;
  if (minRole) {
    const shape = (route.params as z.ZodObject | undefined)?.shape as Record<string, unknown> | undefined;
    if (!shape?.guildId) throw new Error(`route ${route.id}: guild access needs a :guildId param schema`);
  }
  const bodyLimit = deps.config.api.bodyLimitBytes;
  // Most GETs carry no query string: parse `{}` once (defaults applied) instead of on every request.
  const noQuery = route.query?.safeParse({});
  if (noQuery?.success) Object.freeze(noQuery.data);
  const hit = metrics.cache.labels('hit');
  const miss = metrics.cache.labels('miss');
  const log = deps.log.child({ module: 'api', route: route.id });
  const emptyQueryKey = '';
  // Valid path params repeat (the same guilds, cogs, users): remember their parsed (frozen) values and
  // their cache-key form.
  const parsedParams = new Map<string, { value: unknown; key: string }>();
  const parseParams = (raw: Record<string, string>): { value: unknown; key: string } => {
    const values = Object.values(raw);
    const rawKey = values.length === 1 ? values[0]! : JSON.stringify(values);
    const known = parsedParams.get(rawKey);
    if (known !== undefined) return known;
    const value = Object.freeze(parseOr400(route.params!, raw, 'params') as object);
    const entry = { value, key: JSON.stringify(value) };
    if (parsedParams.size >= 10_000) parsedParams.clear();
    parsedParams.set(rawKey, entry);
    return entry;
  };
  const serveCached = (ctx: Context, value: string) => {
    const nl = value.indexOf('\n');
    sendJson(ctx, 200, value.slice(nl + 1), value.slice(0, nl));
  };
  type Hc = HandlerContext<z.ZodType, z.ZodType, z.ZodType>;
  const handlerContext = (
    ctx: Context,
    principal: Principal | undefined,
    params: unknown,
    guildRole: Hc['guildRole'],
    query: unknown,
    body: unknown,
  ): Hc => ({
    ctx,
    deps,
    params,
    query,
    body,
    principal: principal as Principal,
    guildRole,
    actor: actorOf(principal),
    requestId: (ctx.state as ApiState).requestId,
    log,
  });

  /** The handler's result as a JSON response (no cache). */
  const run = async (ctx: Context, hc: Hc, isRead: boolean) => {
    const out: unknown = await route.handler(hc);
    if (route.raw) return;
    if (out === undefined) {
      ctx.status = route.status ?? 204;
      ctx.body = null;
      return;
    }
    const text = JSON.stringify(out);
    sendJson(ctx, route.status ?? 200, text, isRead ? etagOf(text) : undefined);
  };

  /** Read-through: single-flight load on a miss (waiters of someone else's load count as hits). */
  const load = async (ctx: Context, hc: Hc, key: string) => {
    const c = route.cache!;
    let loaded = false;
    const value = await deps.cache.getOrLoad(
      key,
      { ttlMs: c.ttlMs, tags: c.tags({ params: hc.params, principal: hc.principal }) },
      async () => {
        loaded = true;
        const text = JSON.stringify(await route.handler(hc));
        return `${etagOf(text)}\n${text}`;
      },
    );
    (loaded ? miss : hit).inc();
    serveCached(ctx, value);
  };

  const finish = (
    ctx: Context,
    principal: Principal | undefined,
    params: { value: unknown; key: string } | undefined,
    guildRole: Hc['guildRole'],
    query: unknown,
    body: unknown,
  ): void | Promise<void> => {
    const isRead = ctx.method === 'GET' || ctx.method === 'HEAD';
    if (!route.cache || !isRead) {
      return run(ctx, handlerContext(ctx, principal, params?.value, guildRole, query, body), isRead);
    }
    const key =
      route.id +
      '\u0001' +
      (params === undefined ? '' : params.key) +
      '\u0001' +
      (noQuery?.success && query === noQuery.data ? emptyQueryKey : JSON.stringify(query ?? null)) +
      '\u0001' +
      (route.cache.perPrincipal ? principalKey(principal as Principal) : '');
    // A memory cache answers synchronously: a hit costs no promise and no handler context.
    const cached = deps.cache.get(key);
    if (typeof cached === 'string') {
      hit.inc();
      serveCached(ctx, cached);
      return;
    }
    const loadMiss = () =>
      load(ctx, handlerContext(ctx, principal, params?.value, guildRole, query, body), key);
    if (cached === undefined) return loadMiss();
    return cached.then((v) => {
      if (v === undefined) return loadMiss();
      hit.inc();
      serveCached(ctx, v);
    });
  };

  return (ctx) => {
    ctx.state.route = route.path;
    const principal = ctx.state.principal;
    checkAccess(route.access, principal, deps);
    const params = route.params
      ? parseParams((ctx as unknown as { params?: Record<string, string> }).params ?? {})
      : undefined;
    let guildRole = null;
    if (minRole) {
      guildRole = deps.rbac.guildRole(principal, (params!.value as { guildId: string }).guildId);
      if (!guildRole) throw new AppError(404, 'guild_not_found', 'No such guild');
      if (!roleAtLeast(guildRole, minRole)) {
        throw new AppError(403, 'insufficient_role', `This needs the ${minRole} role`, {
          required: minRole,
          have: guildRole,
        });
      }
    }
    const hasQuery = ctx.querystring !== '';
    const query = route.query
      ? !hasQuery && noQuery?.success
        ? noQuery.data
        : parseOr400(route.query, ctx.query, 'query')
      : hasQuery
        ? parseOr400(emptyQuery, ctx.query, 'query')
        : undefined;
    if (!route.body) return finish(ctx, principal, params, guildRole, query, undefined);
    const body = route.body;
    return readJsonBody(ctx, bodyLimit).then((raw) =>
      finish(ctx, principal, params, guildRole, query, parseOr400(body, raw, 'body')),
    );
  };
}
