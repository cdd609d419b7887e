/**
 * A tiny route table for the simulated REST API: templates with `:params`, per-route auth kind, rate-limit
 * bucket and whether the route counts against the global limit.
 */
import type { IncomingMessage } from 'node:http';
import type { GatewayControl, ViolationLog } from '../contracts.js';
import type { World } from '../world/index.js';
import type { OAuthStore, AccessGrant } from '../oauth/store.js';
import type { UploadedFile } from './body.js';
import type { AttachmentStore } from './attachments.js';

/** HTTP methods the API uses. */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** How a route authenticates. */
export type AuthKind = 'bot' | 'bearer' | 'bot-or-bearer' | 'none';

/** Everything a route handler gets. */
export interface RestContext {
  readonly req: IncomingMessage;
  readonly method: Method;
  readonly route: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly files: readonly UploadedFile[];
  /** `X-Audit-Log-Reason`, URI-decoded. */
  readonly reason: string | null;
  /** The bot (`kind: 'bot'`), an OAuth2 user (`kind: 'bearer'`), or nobody. */
  readonly auth: { kind: 'bot' } | { kind: 'bearer'; grant: AccessGrant } | { kind: 'none' };
  readonly deps: RestDeps;
}

/** What handlers may reply. */
export interface RestReply {
  readonly status?: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Shared services of the REST layer. */
export interface RestDeps {
  readonly world: World;
  readonly gateway: GatewayControl;
  readonly violations: ViolationLog;
  readonly baseUrl: () => string;
  readonly gatewayUrl: () => string;
  readonly oauth: OAuthStore;
  readonly attachments: AttachmentStore;
}

/** One route. */
export interface RouteDef {
  readonly method: Method;
  readonly path: string;
  readonly auth: AuthKind;
  /** Rate-limit bucket name; default `${method} ${path}`. */
  readonly bucket?: string;
  /** False for interaction endpoints (not bound to the global limit). */
  readonly global?: boolean;
  /** OAuth2 scopes a bearer token needs. */
  readonly scopes?: readonly string[];
  /** Accept multipart uploads. */
  readonly files?: boolean;
  readonly handler: (ctx: RestContext) => RestReply | Promise<RestReply>;
}

interface Compiled {
  readonly def: RouteDef;
  readonly parts: readonly string[];
}

/** Result of matching a path. */
export type Match =
  | { kind: 'ok'; def: RouteDef; params: Record<string, string> }
  | { kind: 'method'; allowed: Method[] }
  | { kind: 'none' };

/**
 * Matches request paths to routes (literal segments win over params).
 *
 * @example
 * const router = new Router([{ method: 'GET', path: '/users/:user_id', auth: 'bot', handler }]);
 * router.match('GET', '/users/@me');
 */
export class Router {
  private readonly compiled: Compiled[];

  constructor(defs: readonly RouteDef[]) {
    this.compiled = defs
      .map((def) => ({ def, parts: def.path.split('/').filter(Boolean) }))
      // Literal segments first, so `/users/@me` beats `/users/:user_id`.
      .sort((a, b) => specificity(b.parts) - specificity(a.parts));
  }

  match(method: string, path: string): Match {
    const segs = path.split('/').filter(Boolean).map(safeDecode);
    const allowed: Method[] = [];
    for (const c of this.compiled) {
      const params = matchParts(c.parts, segs);
      if (!params) continue;
      if (c.def.method === method) return { kind: 'ok', def: c.def, params };
      allowed.push(c.def.method);
    }
    return allowed.length > 0 ? { kind: 'method', allowed } : { kind: 'none' };
  }
}

function specificity(parts: readonly string[]): number {
  return parts.reduce((n, p, i) => n + (p.startsWith(':') ? 0 : 2 ** Math.max(0, 12 - i)), 0);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function matchParts(parts: readonly string[], segs: readonly string[]): Record<string, string> | null {
  if (parts.length !== segs.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    const s = segs[i] as string;
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return null;
  }
  return params;
}

/**
 * The major parameter of a request (rate limits are per bucket + major parameter).
 *
 * @example
 * majorParameter({ channel_id: '1', message_id: '2' }); // 'channel:1'
 */
export function majorParameter(params: Readonly<Record<string, string>>): string {
  if (params.channel_id) return `channel:${params.channel_id}`;
  if (params.guild_id) return `guild:${params.guild_id}`;
  if (params.webhook_id) return `webhook:${params.webhook_id}:${params.webhook_token ?? ''}`;
  if (params.interaction_id) return `interaction:${params.interaction_id}`;
  return 'global';
}
