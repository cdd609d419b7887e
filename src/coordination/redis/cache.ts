import type { Redis } from 'ioredis';
import type { CacheBackend } from '../cache.js';
import type { RedisGuard } from './connection.js';
import type { RedisKeys } from './keys.js';
import { runScript } from './scripts.js';

/** Tag version counters outlive any load by far; they expire so unused tags do not accumulate. */
const TAG_VERSION_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Cache backend in Redis (under the shared {@link TaggedCache}): values `cache:v:<key>` with PX, a set
 * of member keys per tag, and a version counter per tag that invalidation bumps (the stamp a load
 * compares against before storing).
 *
 * @example
 * const cache = new TaggedCache(new RedisCacheBackend(redis, keys, guard));
 */
export class RedisCacheBackend implements CacheBackend {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly guard: RedisGuard,
  ) {}

  read(key: string, tags: readonly string[]): Promise<{ value: string | undefined; stamp: string }> {
    return this.guard('cache.get', async () => {
      if (tags.length === 0)
        return { value: (await this.redis.get(this.keys.cacheValue(key))) ?? undefined, stamp: '' };
      const r = (await runScript(
        this.redis,
        'cacheRead',
        [this.keys.cacheValue(key), ...tags.map((t) => this.keys.cacheTagVersion(t))],
        [],
      )) as (string | null)[];
      return { value: r[0] ?? undefined, stamp: tags.map((_, i) => r[i + 1] ?? '0').join(',') };
    });
  }

  write(key: string, json: string, ttlMs: number, tags: readonly string[], stamp?: string): Promise<boolean> {
    return this.guard('cache.set', async () => {
      if (tags.length === 0) {
        await this.redis.set(this.keys.cacheValue(key), json, 'PX', Math.max(1, Math.ceil(ttlMs)));
        return true;
      }
      const r = await runScript(
        this.redis,
        'cacheWrite',
        [
          this.keys.cacheValue(key),
          ...tags.map((t) => this.keys.cacheTag(t)),
          ...tags.map((t) => this.keys.cacheTagVersion(t)),
        ],
        [json, Math.max(1, Math.ceil(ttlMs)), tags.length, stamp ?? ''],
      );
      return r === 1;
    });
  }

  remove(key: string): Promise<void> {
    return this.guard('cache.delete', async () => {
      await this.redis.del(this.keys.cacheValue(key));
    });
  }

  invalidate(tag: string): Promise<number> {
    return this.guard('cache.invalidateTag', async () =>
      Number(
        await runScript(
          this.redis,
          'cacheInvalidate',
          [this.keys.cacheTag(tag), this.keys.cacheTagVersion(tag)],
          [TAG_VERSION_TTL_MS],
        ),
      ),
    );
  }
}
