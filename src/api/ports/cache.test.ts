import { describe, expect, it } from 'vitest';
import { memoryApiCache } from './cache.js';

describe('memoryApiCache', () => {
  it('expires entries after their TTL', async () => {
    let now = 1000;
    const cache = memoryApiCache({ now: () => now });
    await cache.set('k', 'v', { ttlMs: 100, tags: [] });
    expect(cache.get('k')).toBe('v');
    now += 100;
    expect(cache.get('k')).toBeUndefined();
  });

  it('drops every entry carrying an invalidated tag, and only those', async () => {
    const cache = memoryApiCache();
    await cache.set('a', '1', { ttlMs: 1e6, tags: ['guild:1', 'guild:1:cogs'] });
    await cache.set('b', '2', { ttlMs: 1e6, tags: ['guild:1:settings'] });
    await cache.set('c', '3', { ttlMs: 1e6, tags: ['guild:2:cogs'] });
    await cache.invalidateTags(['guild:1:cogs']);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, '2', '3']);
  });

  it('evicts the oldest entries beyond maxEntries', async () => {
    const cache = memoryApiCache({ maxEntries: 2 });
    for (const k of ['a', 'b', 'c']) await cache.set(k, k, { ttlMs: 1e6, tags: ['t'] });
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, 'b', 'c']);
    expect(cache.size).toBe(2);
  });

  it('runs one load for concurrent misses of a key', async () => {
    const cache = memoryApiCache();
    let loads = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const load = async () => {
      loads++;
      await gate;
      return 'value';
    };
    const all = Promise.all(
      Array.from({ length: 10 }, () => cache.getOrLoad('k', { ttlMs: 1e6, tags: [] }, load)),
    );
    release();
    expect(await all).toEqual(Array(10).fill('value'));
    expect(loads).toBe(1);
    expect(await cache.getOrLoad('k', { ttlMs: 1e6, tags: [] }, load)).toBe('value');
    expect(loads).toBe(1);
  });

  it('does not store a value whose tag was invalidated while it loaded', async () => {
    const cache = memoryApiCache();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const pending = cache.getOrLoad('k', { ttlMs: 1e6, tags: ['guild:1'] }, async () => {
      await gate;
      return 'stale';
    });
    await cache.invalidateTags(['guild:1']);
    release();
    expect(await pending).toBe('stale');
    expect(cache.get('k')).toBeUndefined();
  });

  it('does not cache failed loads', async () => {
    const cache = memoryApiCache();
    await expect(
      cache.getOrLoad('k', { ttlMs: 1e6, tags: [] }, () => Promise.reject(new Error('x'))),
    ).rejects.toThrow('x');
    expect(await cache.getOrLoad('k', { ttlMs: 1e6, tags: [] }, () => 'ok')).toBe('ok');
  });
});
