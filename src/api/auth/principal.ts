import type { Actor } from '../../domain/ops.js';
import type { GuildRole } from '../../domain/tables.js';

/**
 * Scopes an API key can carry: `read` caps it at viewer, `write` at admin (never above its creator).
 *
 * @example
 * z.array(z.enum(API_KEY_SCOPES));
 */
export const API_KEY_SCOPES = ['read', 'write'] as const;
/**
 * A scope an API key can carry.
 *
 * @example
 * const scopes: ApiKeyScope[] = ['read'];
 */
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/**
 * A person, via an access JWT. `scope` is set on CLI-issued tokens limited to one guild and role.
 *
 * @example
 * if (p.kind === 'user' && p.scope === null) rbac.userRole(p.userId, guildId);
 */
export interface UserPrincipal {
  readonly kind: 'user';
  readonly userId: string;
  readonly tokenId: string;
  readonly scope: { readonly guildId: string; readonly role: GuildRole } | null;
}

/**
 * An automation API key, acting for (and never above) the user who created it.
 *
 * @example
 * const bound = p.kind === 'api_key' && p.guildId !== null;
 */
export interface ApiKeyPrincipal {
  readonly kind: 'api_key';
  readonly keyId: string;
  readonly userId: string | null;
  readonly guildId: string | null;
  readonly scopes: readonly ApiKeyScope[];
}

/**
 * A shard pod (or another platform service) with a service token of audience `internal`.
 *
 * @example
 * if (p.kind === 'service') log.info({ service: p.name });
 */
export interface ServicePrincipal {
  readonly kind: 'service';
  readonly name: string;
}

/**
 * Who is calling.
 *
 * @example
 * const p: Principal | undefined = ctx.state.principal;
 */
export type Principal = UserPrincipal | ApiKeyPrincipal | ServicePrincipal;

/**
 * A stable key per principal (rate limits, per-user cache keys).
 *
 * @example
 * principalKey({ kind: 'service', name: 'shard-0' }); // 'service:shard-0'
 */
export function principalKey(p: Principal): string {
  switch (p.kind) {
    case 'user':
      return p.scope ? `user:${p.userId}:${p.scope.guildId}:${p.scope.role}` : `user:${p.userId}`;
    case 'api_key':
      return `api_key:${p.keyId}`;
    case 'service':
      return `service:${p.name}`;
  }
}

/**
 * The audit-log actor of a principal.
 *
 * @example
 * actorOf(principal); // { type: 'user', id: '1180000000000000001' }
 */
export function actorOf(p: Principal | undefined): Actor {
  if (!p) return { type: 'system', id: null };
  switch (p.kind) {
    case 'user':
      return { type: 'user', id: p.userId };
    case 'api_key':
      return { type: 'api_key', id: p.keyId };
    case 'service':
      return { type: 'service', id: p.name };
  }
}
