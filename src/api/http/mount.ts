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
import type { ApiState } from './request-context.js';
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
  const inm = ctx.get('If-None-Match');
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
    ctx.set('Cache-Control', 'private, no-cache');
    if (status === 200 && fresh(ctx, etag)) {
      ctx.status = 304;
      return;
    }
  }
  ctx.status = status;
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
  const log = deps.log.child({ module: 'api', route: route.id });
  return async (ctx) => {
    ctx.state.route = route.path;
    const principal = ctx.state.principal;
    checkAccess(route.access, principal, deps);
    const rawParams = (ctx as unknown as { params?: Record<string, string> }).params ?? {};
    const params = route.params ? parseOr400(route.params, rawParams, 'params') : undefined;
    let guildRole = null;
    if (minRole) {
      guildRole = deps.rbac.guildRole(principal, (params as { guildId: string }).guildId);
      if (!guildRole) throw new AppError(404, 'guild_not_found', 'No such guild');
      if (!roleAtLeast(guildRole, minRole)) {
        throw new AppError(403, 'insufficient_role', `This needs the ${minRole} role`, {
          required: minRole,
          have: guildRole,
        });
      }
    }
    const query = route.query
      ? parseOr400(route.query, ctx.query, 'query')
      : Object.keys(ctx.query).length > 0
        ? parseOr400(emptyQuery, ctx.query, 'query')
        : undefined;
    let body: unknown;
    if (route.body) body = parseOr400(route.body, await readJsonBody(ctx, bodyLimit), 'body');

    const hc: HandlerContext<z.ZodType, z.ZodType, z.ZodType> = {
      ctx,
      deps,
      params,
      query,
      body,
      principal: principal as Principal,
      guildRole,
      actor: actorOf(principal),
      requestId: ctx.state.requestId,
      log,
    };
    const isRead = ctx.method === 'GET' || ctx.method === 'HEAD';
    if (route.cache && isRead) {
      const key = [
        route.id,
        JSON.stringify(params ?? null),
        JSON.stringify(query ?? null),
        route.cache.perPrincipal ? principalKey(principal as Principal) : '',
      ].join('\u0001');
      let loaded = false;
      const value = await deps.cache.getOrLoad(
        key,
        { ttlMs: route.cache.ttlMs, tags: route.cache.tags({ params, principal: principal as Principal }) },
        async () => {
          loaded = true;
          const text = JSON.stringify(await route.handler(hc));
          return `${etagOf(text)}\n${text}`;
        },
      );
      metrics.cache.inc({ result: loaded ? 'miss' : 'hit' });
      const nl = value.indexOf('\n');
      sendJson(ctx, 200, value.slice(nl + 1), value.slice(0, nl));
      return;
    }
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
}
