// The shard's guild reports over the real domain RPC: a test api (real HTTP server, real SQLite) with a
// fence check, and the typed remote client a shard pod uses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { createRemoteOps } from '../../src/domain/remote.js';
import type { Fence } from '../../src/domain/ops.js';
import { silentLogger } from '../../src/logging/logger.js';
import { GuildReporter } from '../../src/shard/guild-reporter.js';
import type { HeldShard } from '../../src/shard/pod.js';
import { type TestApi, startTestApi } from '../api/harness.js';

const shard: HeldShard = { shardId: 1, generation: 4, totalShards: 8, epoch: 20 };
const G = (n: number) => String(1_300_000_000_000_000_000n + BigInt(n));
const create = (n: number, name = `Guild ${n}`) =>
  ({
    t: 'GUILD_CREATE',
    s: n,
    op: 0,
    d: { id: G(n), name, owner_id: G(9999), icon: null, member_count: n },
  }) as unknown as GatewayDispatchPayload;
const del = (n: number, unavailable?: boolean) =>
  ({
    t: 'GUILD_DELETE',
    s: 0,
    op: 0,
    d: { id: G(n), ...(unavailable ? { unavailable } : {}) },
  }) as unknown as GatewayDispatchPayload;

describe('guild reports (shard → api)', () => {
  let t: TestApi;
  let current = 20;
  let calls = 0;
  const checkFence = (f: Fence) => f.shardId === 1 && f.generation === 4 && f.epoch === current;
  beforeAll(async () => {
    t = await startTestApi({}, { checkFence });
  });
  afterAll(() => t.close());

  const rows = () =>
    t.storage.sqlite
      .prepare('SELECT id, name, member_count, left_at FROM guilds WHERE id LIKE ? ORDER BY id')
      .all('13%') as {
      id: string;
      name: string;
      member_count: number;
      left_at: string | null;
    }[];

  it('sends the GUILD_CREATE burst in a few fenced batches, coalesces updates, and records departures (not outages)', async () => {
    const ops = createRemoteOps(t.url, await t.serviceToken('shard-1'));
    const reporter = new GuildReporter(
      (op, input, o) => {
        calls++;
        return ops.write(op as never, input as never, o);
      },
      silentLogger(),
      { flushMs: 50, maxBatch: 100 },
    );
    for (let n = 1; n <= 250; n++) reporter.observe(create(n), shard);
    reporter.observe(create(7, 'Renamed'), shard); // newest wins
    reporter.observe(del(3), shard); // the bot was removed
    reporter.observe(del(4, true), shard); // an outage: still a member
    await reporter.flush();
    expect(calls).toBeLessThanOrEqual(4);
    const stored = rows();
    expect(stored).toHaveLength(249); // 3 left before it was ever stored
    expect(stored.find((r) => r.id === G(7))).toMatchObject({ name: 'Renamed', member_count: 7 });
    expect(stored.find((r) => r.id === G(4))).toMatchObject({ left_at: null });

    reporter.observe(del(5), shard);
    await reporter.flush();
    expect(rows().find((r) => r.id === G(5))!.left_at).not.toBeNull();

    // Another pod took the shard over (newer epoch): this pod's late reports are refused and dropped.
    current = 21;
    reporter.observe(create(6, 'Stale name'), shard);
    await reporter.flush();
    expect(rows().find((r) => r.id === G(6))!.name).toBe('Guild 6');
    await reporter.close();
  });

  it('keeps reports while the api is unreachable and sends them once it answers', async () => {
    let up = false;
    const ops = createRemoteOps(t.url, await t.serviceToken('shard-1'));
    current = 20;
    const reporter = new GuildReporter(
      (op, input, o) =>
        up ? ops.write(op as never, input as never, o) : Promise.reject(new Error('ECONNREFUSED')),
      silentLogger(),
      { flushMs: 20 },
    );
    reporter.observe(create(500, 'Late'), shard);
    await reporter.flush();
    expect(rows().find((r) => r.id === G(500))).toBeUndefined();
    up = true;
    await reporter.flush();
    expect(rows().find((r) => r.id === G(500))).toMatchObject({ name: 'Late' });
    await reporter.close();
  });
});
