import type { Redis } from 'ioredis';
import type { Claims } from '../claims.js';
import type { RedisGuard } from './connection.js';
import type { RedisKeys } from './keys.js';

/**
 * {@link Claims} in Redis: `SET claim:<key> 1 NX PX ttl`.
 *
 * @example
 * const claims = new RedisClaims(redis, keys, guard);
 */
export class RedisClaims implements Claims {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly guard: RedisGuard,
  ) {}

  claim(key: string, ttlMs: number): Promise<boolean> {
    return this.guard('claims.claim', async () => {
      const r = await this.redis.set(this.keys.claim(key), '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
      return r === 'OK';
    });
  }
}
