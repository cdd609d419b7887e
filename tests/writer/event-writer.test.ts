// The api pod's event writer against a real redis-server (event log, leases) and a real SQLite file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Coordination, createCoordination } from '../../src/coordination/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import type { ShardEvent } from '../../src/shard/event-pipeline.js';
import { type ActivityEvent, eventId } from '../../src/storage/index.js';
import { EventWriter } from '../../src/writer/event-writer.js';
import { RedisServer } from '../helpers/redis-server.js';
import { freshStorage } from '../storage/helpers.js';

const G = '1100000000000000001';
let redis: RedisServer;
let coordination: Coordination;
beforeAll(async () => {
  redis = await RedisServer.start();
  coordination = await createCoordination({ redisUrl: redis.url, keyPrefix: 'wtest:', log: silentLogger() });
});
afterAll(async () => {
  await coordination.close();
  await redis.stop();
});

let n = 0;
const ev = (i: number): ActivityEvent => {
  const ts = Date.UTC(2026, 10, 25, 12) + i;
  return { id: eventId(ts, `w:${i}`), ts, guildId: G, channelId: null, userId: null, kind: 'message' };
};
const stored = (s: ReturnType<typeof freshStorage>) =>
  s.storage.events.query({ guildId: G, fromMs: 0, toMs: Date.UTC(2030, 0, 1) }).map((e) => e.id);

describe('EventWriter', () => {
  it('stores every event once, acknowledges after commit, and ignores replays', async () => {
    const s = freshStorage();
    const log = coordination.eventLog<ShardEvent>(`events-${++n}`);
    const lease = (await coordination.leases.acquire(1, 0, 'pod-a', 10_000))!;
    const events = Array.from({ length: 2500 }, (_, i) => ev(i));
    for (let i = 0; i < events.length; i += 250) {
      await log.append(
        events.slice(i, i + 250).map((event) => ({ event, shardId: 0, generation: 1, epoch: lease.epoch })),
      );
    }
    // The same events again (a shard generation overlap, a replayed append).
    await log.append(
      events.slice(0, 100).map((event) => ({ event, shardId: 0, generation: 1, epoch: lease.epoch })),
    );
    const writer = new EventWriter(log, s.storage.events, coordination.leases, silentLogger(), {
      consumer: 'api-0',
      blockMs: 50,
    });
    let total = 0;
    for (let i = 0; i < 20; i++) total += await writer.step();
    expect(total).toBe(2500);
    expect(new Set(stored(s)).size).toBe(2500);
    expect(stored(s)).toHaveLength(2500);
    expect((await log.pending()).pending).toBe(0);
    await s.cleanup();
  });

  it("refuses a stale owner's late events once a newer lease epoch exists", async () => {
    const s = freshStorage();
    const log = coordination.eventLog<ShardEvent>(`events-${++n}`);
    const old = (await coordination.leases.acquire(1, 3, 'pod-old', 200))!;
    await new Promise((r) => setTimeout(r, 300)); // pod-old paused past its TTL
    const current = (await coordination.leases.acquire(1, 3, 'pod-new', 10_000))!;
    expect(current.epoch).toBeGreaterThan(old.epoch);
    await log.append([
      { event: ev(10_001), shardId: 3, generation: 1, epoch: old.epoch },
      { event: ev(10_002), shardId: 3, generation: 1, epoch: current.epoch },
    ]);
    const writer = new EventWriter(log, s.storage.events, coordination.leases, silentLogger(), {
      blockMs: 50,
    });
    await writer.step();
    expect(stored(s)).toEqual([ev(10_002).id]);
    await s.cleanup();
  });

  it('takes over entries a dead writer read but never acknowledged', async () => {
    const s = freshStorage();
    const log = coordination.eventLog<ShardEvent>(`events-${++n}`);
    const lease = (await coordination.leases.acquire(1, 5, 'pod-a', 10_000))!;
    await log.append(
      Array.from({ length: 300 }, (_, i) => ({
        event: ev(20_000 + i),
        shardId: 5,
        generation: 1,
        epoch: lease.epoch,
      })),
    );
    // A writer that read the entries and died before acknowledging them.
    const taken = await log.read('api-dead', { count: 100, blockMs: 0 });
    expect(taken.length).toBeGreaterThan(0);
    const writer = new EventWriter(log, s.storage.events, coordination.leases, silentLogger(), {
      consumer: 'api-1',
      reclaimIdleMs: 100,
      blockMs: 20,
    });
    await new Promise((r) => setTimeout(r, 150));
    for (let i = 0; i < 5; i++) await writer.step();
    expect(stored(s)).toHaveLength(300);
    expect((await log.pending()).pending).toBe(0);
    await s.cleanup();
  });
});
