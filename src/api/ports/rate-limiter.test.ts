import { describe, expect, it } from 'vitest';
import { memoryRateLimiter } from './rate-limiter.js';

describe('memoryRateLimiter', () => {
  it('allows the bucket size, then refuses with a retry delay, and refills over the window', () => {
    let now = 0;
    const limiter = memoryRateLimiter({ limit: 3, windowMs: 3000, now: () => now });
    const d = [1, 2, 3, 4].map(
      () => limiter.consume('k') as ReturnType<typeof limiter.consume> & { allowed: boolean },
    );
    expect(d.map((x) => x.allowed)).toEqual([true, true, true, false]);
    expect(d[3]).toMatchObject({ remaining: 0, retryAfterMs: 1000 });
    now += 1000;
    expect((limiter.consume('k') as { allowed: boolean }).allowed).toBe(true);
    expect((limiter.consume('k') as { allowed: boolean }).allowed).toBe(false);
    expect((limiter.consume('other') as { allowed: boolean }).allowed).toBe(true);
  });

  it('keeps memory bounded by sweeping idle buckets', () => {
    let now = 0;
    const limiter = memoryRateLimiter({ limit: 1, windowMs: 10, maxKeys: 100, now: () => now });
    for (let i = 0; i < 1000; i++) {
      now += 1;
      expect((limiter.consume(`k${i}`) as { allowed: boolean }).allowed).toBe(true);
    }
  });
});
