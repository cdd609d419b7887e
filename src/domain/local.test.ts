import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage, type Storage } from '../storage/index.js';
import { type CommittedWrite, createLocalOps } from './local.js';
import { createOpRegistry, defineRead, defineWrite } from './ops.js';

const dirs: string[] = [];
const stores: Storage[] = [];
function storage(): Storage {
  const dir = mkdtempSync(join(tmpdir(), 'guildhall-ops-'));
  dirs.push(dir);
  const s = openStorage({ dataDir: dir, databaseFile: 'db.sqlite', busyTimeoutMs: 1000 }, { migrate: true });
  stores.push(s);
  return s;
}
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const addUser = defineWrite(
  'users.add',
  z.strictObject({ id: z.string(), fail: z.boolean().default(false) }),
  (ctx, input) => {
    ctx.db.run(
      ctx.db.q.insertInto('users').values({
        id: input.id,
        username: 'u',
        global_name: null,
        avatar: null,
        created_at: ctx.now,
        updated_at: ctx.now,
      }),
    );
    ctx.audit({ action: 'user.add', guildId: '1', target: input.id });
    if (input.fail) throw new Error('after the insert');
    return { id: input.id };
  },
  { tags: (i) => [`user:${i.id}`], before: (ctx) => ctx.events.compact() },
);
const countUsers = defineRead(
  'users.count',
  z.strictObject({}),
  z.number(),
  (ctx) => ctx.db.all(ctx.db.q.selectFrom('users').select('id')).length,
);

describe('createLocalOps', () => {
  it('runs a write and its audit row in one transaction, then hands the tags (plus the audit tag) over', async () => {
    const committed: CommittedWrite[] = [];
    const ops = createLocalOps(
      storage(),
      { registry: createOpRegistry([addUser, countUsers]) },
      { onCommitted: (w) => void committed.push(w) },
    );
    expect(await ops.write('users.add', { id: 'a', fail: false })).toEqual({ id: 'a' });
    expect(committed).toEqual([
      expect.objectContaining({ op: 'users.add', tags: ['user:a', 'guild:1:audit'] }),
    ]);
    await expect(ops.write('users.add', { id: 'b', fail: true })).rejects.toThrow('after the insert');
    expect(await ops.read('users.count', {})).toBe(1);
    expect(ops.db.all(ops.db.q.selectFrom('audit_log').select('target'))).toEqual([{ target: 'a' }]);
    expect(committed).toHaveLength(1);
  });

  it('validates input, refuses unknown ops and stale fences before touching the database', async () => {
    const s = storage();
    const ops = createLocalOps(
      s,
      { registry: createOpRegistry([addUser, countUsers]) },
      { checkFence: (f) => f.epoch === 5 },
    );
    await expect(ops.call('users.add', { id: 1 })).rejects.toMatchObject({
      status: 400,
      code: 'validation_failed',
    });
    await expect(ops.call('nope', {})).rejects.toMatchObject({ status: 404, code: 'op_not_found' });
    await expect(ops.call('users.count', {}, { kind: 'write' })).rejects.toMatchObject({ status: 404 });
    await expect(
      ops.write('users.add', { id: 'c' }, { fence: { shardId: 0, generation: 1, epoch: 4 } }),
    ).rejects.toMatchObject({
      status: 409,
      code: 'stale_epoch',
    });
    await expect(
      ops.write('users.add', { id: 'c' }, { fence: { shardId: 0, generation: 1, epoch: 5 } }),
    ).resolves.toEqual({ id: 'c' });
    expect(await ops.read('users.count', {})).toBe(1);
  });

  it('maps constraint violations to 409 conflict', async () => {
    const ops = createLocalOps(storage(), { registry: createOpRegistry([addUser]) });
    await ops.write('users.add', { id: 'dup' });
    await expect(ops.write('users.add', { id: 'dup' })).rejects.toMatchObject({
      status: 409,
      code: 'conflict',
    });
  });
});
