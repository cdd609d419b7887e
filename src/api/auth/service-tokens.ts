import { KeySet } from './keys.js';
import { issueServiceToken } from './tokens.js';

/**
 * Options of {@link serviceTokenSource}.
 *
 * @example
 * await serviceTokenSource(keys, 'shard-0', { ttlSeconds: 600 });
 */
export interface ServiceTokenSourceOptions {
  /** Lifetime of each token (default 1 hour); a new one is minted when less than a fifth is left. */
  readonly ttlSeconds?: number;
  readonly nowSeconds?: () => number;
}

/**
 * For shard pods: mints service tokens (audience `internal`, subject `service:<name>`) with the shared
 * signing key and renews them before they expire. Pass the result to `createRemoteOps` as its token.
 *
 * @example
 * const token = await serviceTokenSource({ secret: config.api.jwtSecret, issuer: config.api.jwtIssuer }, config.shard.podName);
 * const ops = createRemoteOps(config.api.internalUrl, token);
 */
export async function serviceTokenSource(
  keys: KeySet | { secret?: string; ed25519PrivateKeyPem?: string; issuer: string },
  name: string,
  opts: ServiceTokenSourceOptions = {},
): Promise<() => Promise<string>> {
  const keySet = keys instanceof KeySet ? keys : await KeySet.create(keys);
  const ttl = opts.ttlSeconds ?? 3600;
  const now = opts.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  let current: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  return async () => {
    if (current && now() < current.renewAt) return current.token;
    pending ??= issueServiceToken(keySet, { name, ttlSeconds: ttl })
      .then((token) => {
        current = { token, renewAt: now() + Math.floor((ttl * 4) / 5) };
        return token;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}
