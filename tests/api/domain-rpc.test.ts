import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../../src/errors/app-error.js';
import { createRemoteOps } from '../../src/domain/remote.js';
import { type Fence, createOpRegistry, defineWrite } from '../../src/domain/ops.js';
import { platformOps } from '../../src/domain/platform-ops.js';
import { IDS, type TestApi, call, seed, startTestApi } from './harness.js';

const failing = defineWrite(
  'test.halfway',
  z.strictObject({ guildId: z.string(), how: z.enum(['app', 'crash']) }),
  (ctx, input) => {
    ctx.db.run(ctx.db.q.updateTable('guilds').set({ name: 'HALFWAY' }).where('id', '=', input.guildId));
    ctx.audit({ action: 'test.halfway', guildId: input.guildId });
    if (input.how === 'app') throw new AppError(409, 'test_conflict', 'refused after writing');
    throw new Error('disk on fire');
  },
);

describe('domain RPC over /internal/v1', () => {
  let t: TestApi;
  const epochs = new Map<number, { generation: number; epoch: number }>([[3, { generation: 2, epoch: 17 }]]);
  const checkFence = (f: Fence) => {
    const cur = epochs.get(f.shardId);
    return cur !== undefined && cur.generation === f.generation && cur.epoch === f.epoch;
  };
  const registry = createOpRegistry(platformOps);
  beforeAll(async () => {
    t = await startTestApi({}, { checkFence, extraOps: [failing] });
    await seed(t, { days: 1 });
  });
  afterAll(() => t.close());

  it('a shard writes through the typed client; the write lands in one transaction and the admin API sees it', async () => {
    const ops = createRemoteOps<typeof registry.types>(t.url, () => t.serviceToken('shard-3'), { registry });
    const viewer = await t.token(IDS.admin);
    const before = await call(t, 'GET', '/api/v1/guilds', { token: viewer }); // warms the cache
    expect(before.json.items).toHaveLength(1);
    const g = await ops.write(
      'guilds.upsert',
      { id: '1100000000000000055', name: 'New Guild', memberCount: 7 },
      { fence: { shardId: 3, generation: 2, epoch: 17 } },
    );
    expect(g).toMatchObject({ id: '1100000000000000055', name: 'New Guild', memberCount: 7, leftAt: null });
    const cogs = await ops.read('cogs.list', { guildId: IDS.guildA });
    expect(cogs.map((c) => c.name)).toEqual(['leveling', 'tickets']);
    await t.deps.ops.call(
      'roles.grant',
      { guildId: '1100000000000000055', userId: IDS.admin, role: 'admin' },
      { kind: 'write' },
    );
    const after = await call(t, 'GET', '/api/v1/guilds', { token: viewer });
    expect(after.json.items.map((x: { id: string }) => x.id)).toContain('1100000000000000055');
  });

  it('refuses a stale fencing token with 409 stale_epoch (and writes nothing)', async () => {
    const ops = createRemoteOps<typeof registry.types>(t.url, await t.serviceToken('shard-3-old'));
    const stale = ops.write(
      'guilds.upsert',
      { id: IDS.guildA, name: 'Stale write' },
      { fence: { shardId: 3, generation: 2, epoch: 16 } },
    );
    await expect(stale).rejects.toMatchObject({ status: 409, code: 'stale_epoch' });
    expect(
      (t.storage.sqlite.prepare('SELECT name FROM guilds WHERE id = ?').get(IDS.guildA) as { name: string })
        .name,
    ).toBe('Guild A');
    epochs.set(3, { generation: 2, epoch: 18 });
    await expect(
      ops.write(
        'guilds.upsert',
        { id: IDS.guildA, name: 'Guild A' },
        { fence: { shardId: 3, generation: 2, epoch: 17 } },
      ),
    ).rejects.toMatchObject({ code: 'stale_epoch' });
    await expect(
      ops.write(
        'guilds.upsert',
        { id: IDS.guildA, name: 'Guild A' },
        { fence: { shardId: 3, generation: 2, epoch: 18 } },
      ),
    ).resolves.toMatchObject({ name: 'Guild A' });
  });

  it('validates input with the op schema, hides admin-only ops, and needs a service token', async () => {
    const svc = await t.serviceToken();
    const bad = await call(t, 'POST', '/internal/v1/ops/guilds.upsert', {
      token: svc,
      body: { input: { id: 'x', name: 5 } },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.details.map((d: { path: string }) => d.path)).toEqual(['input.id', 'input.name']);
    const badFence = await call(t, 'POST', '/internal/v1/ops/guilds.upsert', {
      token: svc,
      body: { input: { id: IDS.guildA, name: 'x' }, fence: { shardId: -1, generation: 0, epoch: 'x' } },
    });
    expect(badFence.status).toBe(400);
    expect(
      (await call(t, 'POST', '/internal/v1/ops/nope', { token: svc, body: { input: {} } })).json.code,
    ).toBe('op_not_found');
    const adminOnly = await call(t, 'POST', '/internal/v1/ops/apiKeys.revoke', {
      token: svc,
      body: { input: { id: 'x' } },
    });
    expect(adminOnly.status).toBe(404);
    const listed = await call(t, 'GET', '/internal/v1/ops', { token: svc });
    const names = listed.json.items.map((o: { name: string }) => o.name);
    expect(names).toContain('guilds.upsert');
    expect(names).not.toContain('apiKeys.create');
    expect(
      listed.json.items.find((o: { name: string }) => o.name === 'guilds.upsert').input.required,
    ).toEqual(['id', 'name']);
    expect(
      (await call(t, 'POST', '/internal/v1/ops/guilds.get', { body: { input: { id: IDS.guildA } } })).status,
    ).toBe(401);
    const expired = await t.deps.keys.sign(
      { sub: 'service:shard-0' },
      { audience: 'internal', ttlSeconds: 1, nowSeconds: 1000 },
    );
    expect(
      (
        await call(t, 'POST', '/internal/v1/ops/guilds.get', {
          token: expired,
          body: { input: { id: IDS.guildA } },
        })
      ).json.code,
    ).toBe('token_expired');
    // The typed client validates locally before sending when it has the registry.
    const typed = createRemoteOps<typeof registry.types>(t.url, svc, { registry });
    await expect(typed.write('guilds.upsert', { id: 'x', name: '' })).rejects.toMatchObject({ status: 400 });
    const read = await call(t, 'POST', '/internal/v1/ops/guilds.get', {
      token: svc,
      body: { input: { id: '1100000000000000999' } },
    });
    expect(read.json).toEqual({ output: null });
  });

  it('a write that fails halfway leaves nothing behind — not even its audit row', async () => {
    const svc = await t.serviceToken();
    const auditCount = () =>
      (t.storage.sqlite.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n;
    const before = auditCount();
    const app = await call(t, 'POST', '/internal/v1/ops/test.halfway', {
      token: svc,
      body: { input: { guildId: IDS.guildA, how: 'app' } },
    });
    expect(app.status).toBe(409);
    expect(app.json.code).toBe('test_conflict');
    const crash = await call(t, 'POST', '/internal/v1/ops/test.halfway', {
      token: svc,
      body: { input: { guildId: IDS.guildA, how: 'crash' } },
    });
    expect(crash.status).toBe(500);
    expect(crash.json.code).toBe('internal_error');
    expect(crash.text).not.toContain('disk on fire');
    expect(auditCount()).toBe(before);
    expect(
      (t.storage.sqlite.prepare('SELECT name FROM guilds WHERE id = ?').get(IDS.guildA) as { name: string })
        .name,
    ).toBe('Guild A');
  });

  it('maps an unreachable api pod to 503 rpc_unavailable', async () => {
    const ops = createRemoteOps('http://127.0.0.1:1', 'token', { timeoutMs: 2000 });
    await expect(ops.read('guilds.get' as never, { id: IDS.guildA } as never)).rejects.toMatchObject({
      status: 503,
      code: 'rpc_unavailable',
    });
  });
});
