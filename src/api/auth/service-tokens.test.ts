import { describe, expect, it } from 'vitest';
import { KeySet } from './keys.js';
import { serviceTokenSource } from './service-tokens.js';

describe('serviceTokenSource', () => {
  it('mints an internal-audience token once and renews it when four fifths of its life passed', async () => {
    const keys = await KeySet.create({ secret: 'x'.repeat(40), issuer: 'guildhall' });
    let now = 1_000_000;
    const source = await serviceTokenSource(keys, 'shard-2', { ttlSeconds: 100, nowSeconds: () => now });
    const a = await source();
    expect(await source()).toBe(a);
    const claims = await keys.verify(a, 'internal');
    expect(claims.sub).toBe('service:shard-2');
    await expect(keys.verify(a, 'admin')).rejects.toMatchObject({ code: 'token_wrong_audience' });
    now += 81;
    expect(await source()).not.toBe(a);
  });
});
