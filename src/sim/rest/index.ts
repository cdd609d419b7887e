/**
 * The simulator's HTTP surface, mounted on the same `http.Server` as the gateway: Discord REST v10 under
 * `/api/v10` (also `/api/v9` and unversioned `/api`), OAuth2 (`/oauth2/authorize`, `/api/oauth2/token`),
 * uploaded attachments under `/attachments/`, and the scenario API under `/__sim/`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayControl, ViolationLog } from '../contracts.js';
import { WorldError, type World } from '../world/index.js';
import { InteractionError } from '../world/interactions.js';
import { oauthFor, type OAuthStore } from '../oauth/store.js';
import { authorizeHandler } from '../oauth/authorize.js';
import { oauthRoutes } from '../oauth/routes.js';
import { Scenario } from '../scenario/index.js';
import { createScenarioHandler } from '../scenario/http.js';
import { AttachmentStore } from './attachments.js';
import { readBody, type ParsedBody } from './body.js';
import { Errors, RestError } from './errors.js';
import { RateLimiter, type RateLimitOptions } from './rate-limit.js';
import {
  majorParameter,
  Router,
  type Method,
  type RestContext,
  type RestDeps,
  type RestReply,
} from './router.js';
import { allRoutes } from './routes/index.js';

export { RateLimiter, RATE_LIMIT_DEFAULTS, bucketHash } from './rate-limit.js';
export type { RateLimitOptions, Limit } from './rate-limit.js';
export { RestError, Errors, FormErrors } from './errors.js';

/** What {@link createHttpHandler} needs. */
export interface HttpHandlerDeps {
  readonly world: World;
  readonly gateway: GatewayControl;
  readonly violations: ViolationLog;
  /** `http://127.0.0.1:port` of this server (attachment URLs, OAuth2 pages). */
  readonly baseUrl: () => string;
  /** `ws://127.0.0.1:port` of the gateway (GET /gateway/bot). */
  readonly gatewayUrl: () => string;
  /** Rate-limit settings (tests shrink them). */
  readonly rateLimits?: RateLimitOptions;
  /** Largest accepted request body (Discord: 10 MiB per file; more for the whole request). */
  readonly maxBodyBytes?: number;
  /** Scenario API instance to expose under `/__sim/`; one is created when omitted. */
  readonly scenario?: Scenario;
}

/** The request handler plus its live services (for tests and the simulator). */
export interface HttpHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  readonly rateLimiter: RateLimiter;
  readonly oauth: OAuthStore;
  readonly scenario: Scenario;
}

const API_PREFIX = /^\/api(?:\/v(\d+))?(\/.*)?$/;

/**
 * Builds the HTTP handler.
 *
 * @example
 * const handler = createHttpHandler({ world, gateway, violations, baseUrl: () => base, gatewayUrl: () => ws });
 * const server = http.createServer(handler).listen(0, '127.0.0.1');
 */
export function createHttpHandler(deps: HttpHandlerDeps): HttpHandler {
  const rateLimiter = new RateLimiter(deps.rateLimits, deps.world.clock);
  const oauth = oauthFor(deps.world);
  const attachments = new AttachmentStore();
  const restDeps: RestDeps = {
    world: deps.world,
    gateway: deps.gateway,
    violations: deps.violations,
    baseUrl: deps.baseUrl,
    gatewayUrl: deps.gatewayUrl,
    oauth,
    attachments,
  };
  const router = new Router([...allRoutes(() => rateLimiter), ...oauthRoutes()]);
  const maxBody = deps.maxBodyBytes ?? 25 * 1024 * 1024;
  const scenario =
    deps.scenario ?? new Scenario({ world: deps.world, gateway: deps.gateway, violations: deps.violations });
  const scenarioHandler = createScenarioHandler(scenario, { rateLimiter, maxBodyBytes: maxBody });
  const authorize = authorizeHandler(restDeps);

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://sim.invalid');
    } catch {
      sendJson(res, 400, { message: '400: Bad Request', code: 0 });
      return;
    }
    const path = url.pathname;
    const done = (p: Promise<void>): void => {
      p.catch(() => {
        if (!res.headersSent) sendJson(res, 500, { message: '500: Internal Server Error', code: 0 });
        else res.destroy();
      });
    };
    if (path.startsWith('/__sim/') || path === '/__sim') return done(scenarioHandler(req, res, url));
    if (
      path === '/oauth2/authorize' ||
      path === '/api/oauth2/authorize' ||
      /^\/api\/v\d+\/oauth2\/authorize$/.test(path)
    ) {
      return done(authorize(req, res, url));
    }
    if (path.startsWith('/attachments/') && req.method === 'GET') {
      const file = attachments.get(path);
      if (!file) return sendJson(res, 404, { message: '404: Not Found', code: 0 });
      res.writeHead(200, { 'Content-Type': file.contentType, 'Content-Length': String(file.data.length) });
      res.end(file.data);
      return;
    }
    const m = API_PREFIX.exec(path);
    if (!m) return sendJson(res, 404, { message: '404: Not Found', code: 0 });
    const version = m[1] === undefined ? 10 : Number(m[1]);
    if (version !== 10 && version !== 9) {
      req.resume();
      return sendJson(res, 400, { message: 'Invalid API version provided', code: 50041 });
    }
    done(handleRest(req, res, m[2] ?? '/', url.searchParams));
  };

  async function handleRest(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams,
  ): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    if (rateLimiter.banned()) {
      req.resume();
      deps.violations.record({
        kind: 'rate_limited',
        detail: `Cloudflare ban (error 1015) on ${method} ${path}`,
      });
      res.writeHead(429, { 'Content-Type': 'text/plain', 'Retry-After': '3600' });
      res.end('error code: 1015');
      return;
    }
    const match = router.match(method, path);
    if (match.kind !== 'ok') {
      req.resume();
      if (match.kind === 'method')
        return sendJson(res, 405, Errors.methodNotAllowed().body(), { Allow: match.allowed.join(', ') });
      return sendJson(res, 404, Errors.notFound().body());
    }
    const { def, params } = match;
    const routeName = `${def.method} ${def.path}`;
    const world = deps.world;

    // Authentication.
    let auth: RestContext['auth'] = { kind: 'none' };
    const header = req.headers.authorization ?? '';
    if (def.auth !== 'none') {
      if (
        header.startsWith('Bot ') &&
        (def.auth === 'bot' || def.auth === 'bot-or-bearer') &&
        header.slice(4) === world.app.token
      ) {
        auth = { kind: 'bot' };
      } else if (header.startsWith('Bearer ') && (def.auth === 'bearer' || def.auth === 'bot-or-bearer')) {
        const grant = oauth.lookup(header.slice(7));
        if (grant && (def.scopes ?? []).every((s) => grant.scopes.includes(s)))
          auth = { kind: 'bearer', grant };
      }
      if (auth.kind === 'none') {
        req.resume();
        return fail(res, Errors.unauthorized(), routeName, {});
      }
    }

    // Rate limits (interaction endpoints are not bound to the global limit).
    const bucket = def.bucket ?? routeName;
    const decision = rateLimiter.take(
      bucket,
      majorParameter(params),
      def.global !== false && auth.kind !== 'none',
    );
    if (decision.limited) {
      req.resume();
      return limited(res, decision.limited, routeName);
    }

    let body: ParsedBody = { json: undefined, files: [], contentType: 'none' };
    try {
      if (method !== 'GET') body = await readBody(req, maxBody);
    } catch (err) {
      return fail(res, err, routeName, decision.headers);
    }
    const rawReason = req.headers['x-audit-log-reason'];
    let reason: string | null = null;
    if (typeof rawReason === 'string' && rawReason.length > 0) {
      try {
        reason = decodeURIComponent(rawReason).slice(0, 512);
      } catch {
        reason = rawReason.slice(0, 512);
      }
    }
    const ctx: RestContext = {
      req,
      method: method as Method,
      route: routeName,
      params,
      query,
      body: body.json,
      files: body.files,
      reason,
      auth,
      deps: restDeps,
    };
    let reply: RestReply;
    try {
      reply = await def.handler(ctx);
    } catch (err) {
      return fail(res, err, routeName, decision.headers);
    }
    if (reply.status === 429 && reply.headers?.['X-RateLimit-Scope']) {
      const scope = reply.headers['X-RateLimit-Scope'];
      deps.violations.record({
        kind: 'rate_limited',
        detail: `${scope} rate limit on ${routeName}`,
        route: routeName,
      });
      if (scope !== 'shared') countInvalid(routeName);
    }
    const status = reply.status ?? (reply.body === undefined ? 204 : 200);
    if (status === 204) {
      res.writeHead(204, { ...decision.headers, ...(reply.headers ?? {}) });
      res.end();
      return;
    }
    sendJson(res, status, reply.body ?? null, { ...decision.headers, ...(reply.headers ?? {}) });
  }

  function countInvalid(route: string): void {
    if (rateLimiter.countInvalid()) {
      deps.violations.record({
        kind: 'invalid_request_limit',
        detail: `more than ${rateLimiter.options.invalidRequests.limit} invalid requests (401/403/429) within ${rateLimiter.options.invalidRequests.windowMs} ms`,
        route,
      });
    }
  }

  function limited(
    res: ServerResponse,
    hit: { scope: string; retryAfter: number; headers: Record<string, string> },
    route: string,
  ): void {
    deps.violations.record({ kind: 'rate_limited', detail: `${hit.scope} rate limit on ${route}`, route });
    if (hit.scope !== 'shared') countInvalid(route);
    const message =
      hit.scope === 'shared' ? 'The resource is being rate limited.' : 'You are being rate limited.';
    sendJson(
      res,
      429,
      { message, retry_after: Math.round(hit.retryAfter * 1000) / 1000, global: hit.scope === 'global' },
      hit.headers,
    );
  }

  function fail(res: ServerResponse, err: unknown, route: string, headers: Record<string, string>): void {
    let e: RestError;
    if (err instanceof RestError) e = err;
    else if (err instanceof WorldError) e = new RestError(err.status, err.code, err.message);
    else if (err instanceof InteractionError) {
      e = new RestError(err.status, err.code, err.message, err.errors as never);
      if (err.violation) {
        deps.violations.record({
          kind: err.violation,
          detail: `${err.code} ${err.message} on ${route}`,
          route,
          code: err.code,
        });
      }
    } else {
      deps.violations.record({
        kind: 'sim_error',
        detail: `${route}: ${err instanceof Error ? err.message : String(err)}`,
        route,
      });
      e = new RestError(500, 0, '500: Internal Server Error');
    }
    if (e.status === 401 || e.status === 403) {
      deps.violations.record({
        kind: 'invalid_request',
        detail: `${e.status} ${e.message} on ${route}`,
        route,
        code: e.code,
      });
      countInvalid(route);
    }
    sendJson(res, e.status, e.body(), headers);
  }

  return Object.assign(handler, { rateLimiter, oauth, scenario });
}

/**
 * Writes a JSON response.
 *
 * @example
 * sendJson(res, 404, { message: '404: Not Found', code: 0 });
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}
