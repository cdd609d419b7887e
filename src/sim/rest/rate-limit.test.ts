import { describe, expect, it } from 'vitest';
import { bucketHash, RateLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it('counts per bucket and major parameter, resets after the window, with Discord headers', () => {
    let now = 1_000_000;
    const rl = new RateLimiter({ routes: { r: { limit: 2, windowMs: 1000 } } }, () => now);
    const a1 = rl.take('r', 'channel:1', true);
    expect(a1.limited).toBeNull();
    expect(a1.headers).toMatchObject({
      'X-RateLimit-Limit': '2',
      'X-RateLimit-Remaining': '1',
      'X-RateLimit-Reset-After': '1.000',
      'X-RateLimit-Reset': '1001.000',
      'X-RateLimit-Bucket': bucketHash('r'),
    });
    rl.take('r', 'channel:1', true);
    const a3 = rl.take('r', 'channel:1', true);
    expect(a3.limited).toMatchObject({ scope: 'user', retryAfter: 1 });
    expect(a3.limited?.headers['Retry-After']).toBe('1');
    expect(rl.take('r', 'channel:2', true).limited).toBeNull();
    now += 1000;
    expect(rl.take('r', 'channel:1', true).limited).toBeNull();
  });

  it('the global limit spans buckets and skips requests that do not count globally', () => {
    const now = 5_000;
    const rl = new RateLimiter({ globalPerSecond: 3 }, () => now);
    for (let i = 0; i < 3; i++) expect(rl.take(`b${i}`, 'global', true).limited).toBeNull();
    expect(rl.take('b9', 'global', false).limited).toBeNull();
    const hit = rl.take('b4', 'global', true).limited;
    expect(hit?.scope).toBe('global');
    expect(hit?.headers).toMatchObject({ 'X-RateLimit-Global': 'true', 'X-RateLimit-Scope': 'global' });
  });

  it('disabled limits still send headers but never limit', () => {
    const rl = new RateLimiter({ enabled: false, routes: { r: { limit: 1, windowMs: 1000 } } }, () => 0);
    for (let i = 0; i < 5; i++) expect(rl.take('r', 'x', true).limited).toBeNull();
    expect(rl.takeRename('c', {})).toBeNull();
  });

  it('channel renames: the limit per channel, shared scope', () => {
    let now = 0;
    const rl = new RateLimiter({ channelRename: { limit: 2, windowMs: 600_000 } }, () => now);
    expect(rl.takeRename('c', {})).toBeNull();
    now = 1000;
    expect(rl.takeRename('c', {})).toBeNull();
    expect(rl.takeRename('c', {})).toMatchObject({ scope: 'shared', retryAfter: 599 });
    expect(rl.takeRename('d', {})).toBeNull();
    now = 600_000;
    expect(rl.takeRename('c', {})).toBeNull();
  });

  it('invalid requests: reports once when the window limit is passed, then bans for banMs', () => {
    let now = 0;
    const rl = new RateLimiter({ invalidRequests: { limit: 3, windowMs: 10_000 }, banMs: 5_000 }, () => now);
    expect([rl.countInvalid(), rl.countInvalid(), rl.countInvalid()]).toEqual([false, false, false]);
    expect(rl.banned()).toBe(false);
    expect(rl.countInvalid()).toBe(true);
    expect(rl.countInvalid()).toBe(false);
    expect(rl.banned()).toBe(true);
    now = 5_000;
    expect(rl.banned()).toBe(false);
    now = 10_000;
    expect(rl.invalidCount()).toBe(0);
  });
});
