// A shard pod's event pipeline against a real redis-server: every event lands once and in order, each
// session stream's checkpoint never runs ahead of its events in the log, and a full buffer drops the oldest
// events that are not being appended (Redis paused with CLIENT PAUSE keeps an append in flight).
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  type Coordination,
  type EventLog,
  createCoordination,
} from '../../src/coordination/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import {
  EventPipeline,
  type SessionCheckpoint,
  type ShardEvent,
  checkpointKey,
} from '../../src/shard/event-pipeline.js';
import { type ActivityEvent, eventId } from '../../src/storage/index.js';
import { RedisServer } from '../helpers/redis-server.js';
import { waitUntil } from '../helpers/wait.js';

let redis: RedisServer;
let coordination: Coordination;
let admin: Redis;
beforeAll(async () => {
  redis = await RedisServer.start();
  coordination = await createCoordination({ redisUrl: redis.url, keyPrefix: 'ptest:', log: silentLogger() });
  admin = new Redis(redis.url);
});
afterAll(async () => {
  admin.disconnect();
  await coordination.close();
  await redis.stop();
});

const G = '1100000000000000001';
let n = 0;
/** An event of stream `shardId`, tagged with its gateway seq in `attrs` so the log tells which it was. */
const ev = (shardId: number, seq: number): ShardEvent => {
  const ts = Date.UTC(2026, 10, 25, 12) + seq;
  const event: ActivityEvent = {
    id: eventId(ts, `p:${shardId}:${seq}`),
    ts,
    guildId: G,
    kind: 'message',
    attrs: { seq },
  };
  return { event, shardId, generation: 1, epoch: 1 };
};

/** Everything the log holds, in append order, as [shardId, seq]. */
async function logged(log: EventLog<ShardEvent>): Promise<[number, number][]> {
  const out: [number, number][] = [];
  for (;;) {
    const entries = await log.read('reader', { count: 100, blockMs: 0 });
    if (entries.length === 0) return out;
    for (const e of entries) for (const s of e.events) out.push([s.shardId, s.event.attrs!.seq as number]);
  }
}

describe('EventPipeline', () => {
  it('appends every event once and in order; a checkpoint never runs ahead of its stream in the log', async () => {
    const real = coordination.eventLog<ShardEvent>(`events-${++n}`);
    // Watches the appends that succeeded (the real log does the work), to check each durable seq.
    const landed = new Map<number, number[]>([
      [0, []],
      [1, []],
    ]);
    const log: EventLog<ShardEvent> = {
      append: async (events: readonly ShardEvent[], cps?: readonly Checkpoint[]) => {
        const ids = await real.append(events, cps);
        for (const e of events) landed.get(e.shardId)!.push(e.event.attrs!.seq as number);
        return ids;
      },
      checkpoint: (key) => real.checkpoint(key),
      read: (consumer, opts) => real.read(consumer, opts),
      ack: (ids) => real.ack(ids),
      reclaim: (consumer, minIdleMs, count) => real.reclaim(consumer, minIdleMs, count),
      pending: () => real.pending(),
    };
    const pipeline = new EventPipeline(log, silentLogger(), { maxBatch: 64, lingerMs: 2 });
    const violations: string[] = [];
    const durables = new Map<number, number[]>([
      [0, []],
      [1, []],
    ]);
    const pushed = new Map<number, number[]>([
      [0, []],
      [1, []],
    ]);
    for (const shard of [0, 1]) {
      pipeline.track(checkpointKey(2, shard), { sessionId: `s${shard}`, seq: 0 }, (seq) => {
        durables.get(shard)!.push(seq);
        // Every event of the stream with a seq up to `seq` must already be in the log.
        const inLog = new Set(landed.get(shard));
        const missing = pushed.get(shard)!.filter((s) => s <= seq && !inLog.has(s));
        if (missing.length > 0)
          violations.push(`shard ${shard} durable ${seq} before seqs ${missing.join()}`);
      });
    }
    // Stream 0 is busy (an event on most dispatches); stream 1 rarely has one, so its first buffered
    // event is often far behind the batch being sent.
    const seq = [0, 0];
    for (let i = 0; i < 6000; i++) {
      const shard = i % 7 === 0 ? 1 : 0;
      const s = ++seq[shard]!;
      if (shard === 0 || s % 5 === 0) {
        pipeline.push(checkpointKey(2, shard), s, ev(shard, s));
        pushed.get(shard)!.push(s);
      }
      pipeline.processed(checkpointKey(2, shard), s);
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    await pipeline.flush();

    expect(violations).toEqual([]);
    expect(pipeline.buffered).toBe(0);
    for (const shard of [0, 1]) {
      const d = durables.get(shard)!;
      expect(d.length).toBeGreaterThan(3);
      expect([...d].sort((a, b) => a - b)).toEqual(d); // only ever advances
      expect(d.at(-1)).toBe(seq[shard]);
      expect(pipeline.durable(checkpointKey(2, shard))).toBe(seq[shard]);
      const stored = JSON.parse((await log.checkpoint(checkpointKey(2, shard)))!) as SessionCheckpoint;
      expect(stored).toEqual({ sessionId: `s${shard}`, seq: seq[shard] });
    }
    const all = await logged(real);
    expect(all).toHaveLength(pushed.get(0)!.length + pushed.get(1)!.length);
    for (const shard of [0, 1]) {
      expect(all.filter(([s]) => s === shard).map(([, q]) => q)).toEqual(pushed.get(shard));
    }
  });

  it('when the buffer overflows during an append, keeps the batch in flight and the newest events, counting the dropped', async () => {
    const log = coordination.eventLog<ShardEvent>(`events-${++n}`);
    const metrics = new Registry();
    const pipeline = new EventPipeline(
      log,
      silentLogger(),
      { maxBatch: 20, maxBuffered: 50, lingerMs: 1 },
      metrics,
    );
    const key = checkpointKey(1, 0);
    pipeline.track(key, { sessionId: 's', seq: 0 });
    await admin.call('CLIENT', 'PAUSE', '500', 'WRITE');
    const pausedAt = Date.now();
    for (let s = 1; s <= 20; s++) pipeline.push(key, s, ev(0, s));
    await new Promise((r) => setTimeout(r, 50)); // the append of 1..20 is now waiting on Redis
    for (let s = 21; s <= 80; s++) pipeline.push(key, s, ev(0, s));
    pipeline.processed(key, 80);
    expect(pipeline.buffered).toBe(50);
    expect(Date.now() - pausedAt).toBeLessThan(450); // still paused: 1..20 were in flight throughout
    await pipeline.flush();
    await waitUntil('everything appended', () => pipeline.buffered === 0, 5000, 20);

    const seqs = (await logged(log)).map(([, s]) => s);
    const expected = [
      ...Array.from({ length: 20 }, (_, i) => i + 1),
      ...Array.from({ length: 30 }, (_, i) => i + 51),
    ];
    expect(seqs).toEqual(expected);
    const dropped = (await metrics.getSingleMetric('guildhall_shard_events_dropped_total')!.get()).values[0]!
      .value;
    expect(dropped).toBe(30);
    expect(pipeline.durable(key)).toBe(80);
  });
});
