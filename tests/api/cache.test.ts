import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestInvalidator } from '../../src/api/ingest-invalidator.js';
import { createRemoteOps } from '../../src/domain/remote.js';
import { eventId } from '../../src/storage/index.js';
import { IDS, type TestApi, call, seed, startTestApi } from './harness.js';

function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('read-through cache', () => {
  let t: TestApi;
  let admin: string;
  const A = `/api/v1/guilds/${IDS.guildA}`;
  beforeAll(async () => {
    t = await startTestApi();
    await seed(t, { days: 3 });
    admin = await t.token(IDS.admin);
  });
  afterAll(() => t.close());

  it('serves GETs from the cache until a write through the API invalidates them', async () => {
    const first = await call(t, 'GET', `${A}/settings`, { token: admin });
    expect(first.json.locale).toBe('en-US');
    // Change the row behind the API's back: the cached response is still served (proves it is a cache).
    t.storage.sqlite
      .prepare(
        'INSERT INTO guild_settings (guild_id, settings, updated_at) VALUES (?, \'{"locale":"ja-JP"}\', 0)',
      )
      .run(IDS.guildA);
    expect((await call(t, 'GET', `${A}/settings`, { token: admin })).json.locale).toBe('en-US');
    // A write through the API invalidates the tag: the next read is fresh.
    const patched = await call(t, 'PATCH', `${A}/settings`, { token: admin, body: { commandPrefix: '?' } });
    expect(patched.json).toMatchObject({ locale: 'ja-JP', commandPrefix: '?' });
    expect((await call(t, 'GET', `${A}/settings`, { token: admin })).json).toMatchObject({
      locale: 'ja-JP',
      commandPrefix: '?',
    });
  });

  it('a domain write from a shard (/internal) invalidates cached admin reads', async () => {
    expect((await call(t, 'GET', `${A}/cogs/leveling`, { token: admin })).json.enabled).toBe(true);
    const shard = createRemoteOps(t.url, await t.serviceToken('shard-1'));
    await shard.write(
      'cogs.setEnabled' as never,
      { guildId: IDS.guildA, cog: 'leveling', enabled: false } as never,
    );
    expect((await call(t, 'GET', `${A}/cogs/leveling`, { token: admin })).json.enabled).toBe(false);
    expect((await call(t, 'GET', `${A}/cogs`, { token: admin })).json.items[0].enabled).toBe(false);
    expect((await call(t, 'GET', A, { token: admin })).json.name).toBe('Guild A');
    await shard.write('guilds.upsert' as never, { id: IDS.guildA, name: 'Renamed by shard' } as never);
    expect((await call(t, 'GET', A, { token: admin })).json.name).toBe('Renamed by shard');
    // …and so does an in-process (all-mode) domain write.
    await t.deps.ops.write('guilds.upsert' as never, { id: IDS.guildA, name: 'Guild A' } as never);
    expect((await call(t, 'GET', A, { token: admin })).json.name).toBe('Guild A');
  });

  it('authorizes before the cache: a cached response never reaches someone without access', async () => {
    expect((await call(t, 'GET', `${A}/analytics/overview`, { token: admin })).status).toBe(200);
    expect(
      (await call(t, 'GET', `${A}/analytics/overview`, { token: await t.token(IDS.outsider) })).status,
    ).toBe(404);
    const temp = '1200000000000000066';
    await t.deps.ops.call(
      'roles.grant',
      { guildId: IDS.guildA, userId: temp, role: 'viewer' },
      { kind: 'write' },
    );
    const tempToken = await t.token(temp);
    expect((await call(t, 'GET', `${A}/analytics/overview`, { token: tempToken })).status).toBe(200);
    await t.deps.ops.call('roles.revoke', { guildId: IDS.guildA, userId: temp }, { kind: 'write' });
    expect((await call(t, 'GET', `${A}/analytics/overview`, { token: tempToken })).status).toBe(404);
    // Per-principal lists are cached per principal.
    const mineAdmin = await call(t, 'GET', '/api/v1/guilds', { token: admin });
    const mineOutsider = await call(t, 'GET', '/api/v1/guilds', { token: await t.token(IDS.outsider) });
    expect(mineAdmin.json.items.map((g: { id: string }) => g.id)).toEqual([IDS.guildA]);
    expect(mineOutsider.json.items.map((g: { id: string }) => g.id)).toEqual([IDS.guildB]);
  });

  it('collapses concurrent misses into one load (single-flight)', async () => {
    const metricsBefore = await (await fetch(`${t.url}/metrics`)).text();
    const path = `${A}/analytics/messages?bucket=hour&from=${encodeURIComponent(new Date(Date.now() - 3 * 86_400_000).toISOString())}`;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => call(t, 'GET', path, { token: admin })),
    );
    expect(new Set(results.map((r) => r.text)).size).toBe(1);
    expect(results.every((r) => r.status === 200)).toBe(true);
    const metricsAfter = await (await fetch(`${t.url}/metrics`)).text();
    const misses =
      metric(metricsAfter, 'guildhall_api_cache_lookups_total', 'result="miss"') -
      metric(metricsBefore, 'guildhall_api_cache_lookups_total', 'result="miss"');
    const hits =
      metric(metricsAfter, 'guildhall_api_cache_lookups_total', 'result="hit"') -
      metric(metricsBefore, 'guildhall_api_cache_lookups_total', 'result="hit"');
    expect(misses).toBe(1);
    expect(hits).toBe(19);
  });

  it('ingested events reach cached analytics through the ingest invalidator', async () => {
    const invalidate = createIngestInvalidator(t.deps.cache, { minIntervalMs: 0 });
    try {
      const before = (await call(t, 'GET', `${A}/analytics/overview`, { token: admin })).json.messages;
      const ts = Date.now() - 1000;
      t.storage.events.ingest([
        {
          id: eventId(ts, 'late-message'),
          ts,
          guildId: IDS.guildA,
          channelId: IDS.channel1,
          userId: IDS.viewer,
          kind: 'message',
        },
      ]);
      expect((await call(t, 'GET', `${A}/analytics/overview`, { token: admin })).json.messages).toBe(before);
      invalidate.touch([IDS.guildA]);
      await new Promise((r) => setTimeout(r, 10));
      expect((await call(t, 'GET', `${A}/analytics/overview`, { token: admin })).json.messages).toBe(
        before + 1,
      );
    } finally {
      invalidate.close();
    }
  });
});
