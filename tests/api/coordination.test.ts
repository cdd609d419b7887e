import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiExtrasFromCoordination } from '../../src/api/coordination-adapters.js';
import { type Coordination, createCoordination } from '../../src/coordination/index.js';
import { createRemoteOps } from '../../src/domain/remote.js';
import { silentLogger } from '../../src/logging/logger.js';
import { RedisServer } from '../helpers/redis-server.js';
import { IDS, type TestApi, call, seed, startTestApi } from './harness.js';

describe('the API on the real coordination layer (redis-server)', () => {
  let redis: RedisServer;
  let coord: Coordination;
  let other: Coordination; // a second process's view (e.g. a shard pod)
  let t: TestApi;
  const errors: unknown[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start();
    const open = () =>
      createCoordination({ redisUrl: redis.url, keyPrefix: 'gh-api-test:', log: silentLogger() });
    coord = await open();
    other = await open();
    t = await startTestApi(
      {},
      apiExtrasFromCoordination(coord, { rateLimitPerMinute: 1000, onError: (err) => errors.push(err) }),
    );
    await seed(t, { days: 2 });
  });
  afterAll(async () => {
    await t.close();
    await coord.close();
    await other.close();
    await redis.stop();
  });

  it('caches in Redis and invalidates on writes through the API and through domain ops', async () => {
    const admin = await t.token(IDS.admin);
    const A = `/api/v1/guilds/${IDS.guildA}`;
    expect(
      (await call(t, 'GET', `${A}/cogs/leveling/config`, { token: admin })).json.config.xpPerMessage,
    ).toBe(10);
    // The response really lives in Redis.
    const client = new Redis(redis.url);
    try {
      expect((await client.keys('gh-api-test:*')).some((k) => k.includes('cogs.config.get'))).toBe(true);
    } finally {
      client.disconnect();
    }
    await call(t, 'PUT', `${A}/cogs/leveling/config`, { token: admin, body: { xpPerMessage: 42 } });
    expect(
      (await call(t, 'GET', `${A}/cogs/leveling/config`, { token: admin })).json.config.xpPerMessage,
    ).toBe(42);
    const shard = createRemoteOps(t.url, await t.serviceToken());
    await shard.write(
      'cogs.setConfig' as never,
      { guildId: IDS.guildA, cog: 'leveling', config: { xpPerMessage: 7 } } as never,
    );
    expect(
      (await call(t, 'GET', `${A}/cogs/leveling/config`, { token: admin })).json.config.xpPerMessage,
    ).toBe(7);
    expect(errors).toEqual([]);
  });

  it('fences shard writes with real lease epochs: the previous owner’s late write is refused', async () => {
    await other.plans.publish({ generation: 1, totalShards: 2, maxConcurrency: 1, shardsPerPod: 2 }, null);
    const first = (await other.leases.acquire(1, 0, 'shard-a', 60_000))!;
    const shard = createRemoteOps(t.url, await t.serviceToken('shard-a'));
    await expect(
      shard.write('guilds.upsert' as never, { id: IDS.guildA, name: 'from shard-a' } as never, {
        fence: { shardId: 0, generation: 1, epoch: first.epoch },
      }),
    ).resolves.toMatchObject({ name: 'from shard-a' });
    await other.leases.release(1, 0, 'shard-a', first.epoch);
    const second = (await other.leases.acquire(1, 0, 'shard-b', 60_000))!;
    expect(second.epoch).toBeGreaterThan(first.epoch);
    await expect(
      shard.write('guilds.upsert' as never, { id: IDS.guildA, name: 'late write' } as never, {
        fence: { shardId: 0, generation: 1, epoch: first.epoch },
      }),
    ).rejects.toMatchObject({ status: 409, code: 'stale_epoch' });
    expect(
      (t.storage.sqlite.prepare('SELECT name FROM guilds WHERE id = ?').get(IDS.guildA) as { name: string })
        .name,
    ).toBe('from shard-a');

    const sa = await t.token(IDS.superadmin);
    const plan = await call(t, 'GET', '/api/v1/cluster/plan', { token: sa });
    expect(plan.json).toMatchObject({ source: 'redis', plan: { generation: 1, totalShards: 2 } });
    const shards = await call(t, 'GET', '/api/v1/cluster/shards', { token: sa });
    expect(shards.json.items).toEqual([
      expect.objectContaining({ shardId: 0, pod: 'shard-b', epoch: second.epoch, status: 'leased' }),
      expect.objectContaining({ shardId: 1, pod: null, status: 'unassigned' }),
    ]);
    const pods = await call(t, 'GET', '/api/v1/cluster/pods', { token: sa });
    expect(pods.json.items).toEqual([expect.objectContaining({ name: 'shard-b', shards: [0] })]);
  });

  it('delivers live events published by another process over Redis pub/sub', async () => {
    const res = await fetch(`${t.url}/api/v1/guilds/${IDS.guildA}/live`, {
      headers: { authorization: `Bearer ${await t.token(IDS.viewer)}` },
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const deadline = Date.now() + 5000;
    let published = false;
    while (!text.includes('event: activity') && Date.now() < deadline) {
      if (text.includes('event: hello') && !published) {
        published = true;
        // give the subscription a moment to reach Redis, then publish from the other connection
        await new Promise((r) => setTimeout(r, 100));
        await other.pubsub.publish(`live:${IDS.guildA}`, {
          type: 'activity',
          at: new Date().toISOString(),
          data: { message: 3 },
        });
      }
      const { value, done } = await Promise.race([
        reader.read(),
        new Promise<{ value: undefined; done: true }>((r) =>
          setTimeout(() => r({ value: undefined, done: true }), 1000),
        ),
      ]);
      if (done && !value) continue;
      text += decoder.decode(value);
    }
    await reader.cancel();
    expect(text).toContain('event: activity');
    expect(text).toContain('"message":3');
  });

  it('keeps serving (uncached, not rate limited) when Redis dies, and reports it', async () => {
    const admin = await t.token(IDS.admin);
    const path = `/api/v1/guilds/${IDS.guildA}/analytics/overview?from=2026-01-01T00:00:00Z`;
    errors.length = 0;
    await redis.kill();
    try {
      const r = await call(t, 'GET', path, { token: admin });
      expect(r.status).toBe(200);
      expect(r.json.messages).toBeGreaterThan(0);
      expect(errors.length).toBeGreaterThanOrEqual(2); // the rate limiter and the cache both noticed
      const w = await call(t, 'PATCH', `/api/v1/guilds/${IDS.guildA}/settings`, {
        token: admin,
        body: { locale: 'nl-NL' },
      });
      expect(w.status).toBe(200); // the write commits; only the post-commit invalidation fails (logged)
      const ready = await call(t, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.json).toEqual({ status: 'not_ready', failing: ['coordination'] });
    } finally {
      await redis.restart();
    }
    for (let i = 0; i < 100 && (await call(t, 'GET', '/readyz')).status !== 200; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect((await call(t, 'GET', '/readyz')).status).toBe(200);
  });
});
