import { z } from 'zod';
import { GUILD_ROLES, type GuildRole } from '../../domain/tables.js';
import { type KeySet, unauthorized } from './keys.js';
import type { ServicePrincipal, UserPrincipal } from './principal.js';

const snowflake = /^\d{17,20}$/;
const scopeClaim = z.strictObject({ g: z.string().regex(snowflake), r: z.enum(GUILD_ROLES) });

/**
 * Signs an admin access token for a user. Roles are *not* in the token: they are looked up on every
 * request, so a revoked grant takes effect at once. The exception is `scope`: a token limited to one guild
 * and role (issued by `guildhall token issue`), honoured until it expires — keep those short.
 *
 * @example
 * const jwt = await issueAccessToken(keys, { userId, ttlSeconds: 900 });
 */
export function issueAccessToken(
  keys: KeySet,
  o: { userId: string; ttlSeconds: number; scope?: { guildId: string; role: GuildRole } },
): Promise<string> {
  const claims: { sub: string; gsc?: { g: string; r: GuildRole } } = { sub: o.userId };
  if (o.scope) claims.gsc = { g: o.scope.guildId, r: o.scope.role };
  return keys.sign(claims, { audience: 'admin', ttlSeconds: o.ttlSeconds });
}

/**
 * Signs a service token (audience `internal`) for a shard pod or another platform component.
 *
 * @example
 * const jwt = await issueServiceToken(keys, { name: 'shard-3', ttlSeconds: 3600 });
 */
export function issueServiceToken(keys: KeySet, o: { name: string; ttlSeconds: number }): Promise<string> {
  return keys.sign({ sub: `service:${o.name}` }, { audience: 'internal', ttlSeconds: o.ttlSeconds });
}

interface Cached<T> {
  readonly token: string;
  readonly value: T;
  readonly expSeconds: number;
}

/**
 * Verifies access and service tokens, remembering successful verifications until the token expires (a
 * signature is checked once per token, not once per request). Failures are never cached.
 *
 * @example
 * const verifier = new TokenVerifier(keys);
 * const principal = await verifier.user(jwt);
 */
export class TokenVerifier {
  private readonly cache = {
    admin: new Map<string, Cached<UserPrincipal>>(),
    internal: new Map<string, Cached<ServicePrincipal>>(),
  };

  constructor(
    private readonly keys: KeySet,
    private readonly opts: { maxEntries?: number; nowSeconds?: () => number } = {},
  ) {}

  private now(): number {
    return this.opts.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
  }

  /** The principal of an admin token verified before and not expired yet, without any async work. */
  cachedUser(token: string): UserPrincipal | undefined {
    return this.hit(this.cache.admin, token);
  }

  /** Like {@link cachedUser} for service tokens. */
  cachedService(token: string): ServicePrincipal | undefined {
    return this.hit(this.cache.internal, token);
  }

  /** An admin-audience token → the user principal. */
  async user(token: string): Promise<UserPrincipal> {
    return this.cachedUser(token) ?? ((await this.verify(token, 'admin')) as UserPrincipal);
  }

  /** An internal-audience token → the service principal. */
  async service(token: string): Promise<ServicePrincipal> {
    return this.cachedService(token) ?? ((await this.verify(token, 'internal')) as ServicePrincipal);
  }

  // Keyed by the token's tail (its signature): hashing 32 characters instead of the whole token on every
  // request; a hit still has to be the very same token.
  private hit<T>(map: Map<string, Cached<T>>, token: string): T | undefined {
    const key = token.slice(-32);
    const hit = map.get(key);
    if (!hit || hit.token !== token) return undefined;
    if (hit.expSeconds > this.now()) return hit.value;
    map.delete(key);
    return undefined;
  }

  private async verify(
    token: string,
    audience: 'admin' | 'internal',
  ): Promise<UserPrincipal | ServicePrincipal> {
    const claims = await this.keys.verify(token, audience);
    let value: UserPrincipal | ServicePrincipal;
    if (audience === 'internal') {
      if (!claims.sub.startsWith('service:'))
        throw unauthorized('token_invalid_claims', 'Not a service token');
      value = { kind: 'service', name: claims.sub.slice('service:'.length) };
    } else {
      if (!snowflake.test(claims.sub))
        throw unauthorized('token_invalid_claims', 'The subject is not a user id');
      let scope: UserPrincipal['scope'] = null;
      if (claims.gsc !== undefined) {
        const parsed = scopeClaim.safeParse(claims.gsc);
        if (!parsed.success) throw unauthorized('token_invalid_claims', 'The guild scope claim is invalid');
        scope = { guildId: parsed.data.g, role: parsed.data.r };
      }
      value = { kind: 'user', userId: claims.sub, tokenId: String(claims.jti ?? ''), scope };
    }
    const map = this.cache[audience] as Map<string, Cached<UserPrincipal | ServicePrincipal>>;
    const max = this.opts.maxEntries ?? 10_000;
    if (map.size >= max) map.delete(map.keys().next().value as string);
    map.set(token.slice(-32), { token, value, expSeconds: claims.exp });
    return value;
  }
}
