// Partitioned activity events against real SQLite files: partitions, range queries, retention, duplicates,
// row-by-row rejection, and rollups checked against GROUP BY over the raw events.
import { afterEach, describe, expect, it } from 'vitest';
import {
  EVENT_KINDS,
  type EventKind,
  eventId,
  type ActivityEvent,
  openStorage,
} from '../../src/storage/index.js';
import { freshStorage } from './helpers.js';

const G1 = '1000000000000000001';
const G2 = '1000000000000000002';
const C1 = '2000000000000000001';
const U1 = '3000000000000000001';

function ev(ts: number, over: Partial<ActivityEvent> = {}, key?: string): ActivityEvent {
  return { id: eventId(ts, key), ts, guildId: G1, channelId: C1, userId: U1, kind: 'message', ...over };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});
function setup(now?: () => number) {
  const s = freshStorage({ now });
  cleanups.push(s.cleanup);
  return s;
}
const tableNames = (s: ReturnType<typeof setup>) =>
  (
    s.storage.sqlite
      .prepare("SELECT name FROM sqlite_schema WHERE type='table' AND name LIKE 'events_%' ORDER BY name")
      .all() as {
      name: string;
    }[]
  ).map((r) => r.name);

describe('month partitions', () => {
  it('creates a partition per month on demand, across a month boundary', () => {
    const s = setup();
    expect(tableNames(s)).toEqual([]);
    const lastMs = Date.UTC(2026, 9, 31, 23, 59, 59, 999);
    const firstMs = Date.UTC(2026, 10, 1, 0, 0, 0, 0);
    const r = s.storage.events.ingest([ev(lastMs, {}, 'a'), ev(firstMs, {}, 'b')]);
    expect(r).toEqual({ inserted: 2, duplicates: 0, rejected: [] });
    expect(tableNames(s)).toEqual(['events_2026_10', 'events_2026_11']);
    expect(s.storage.events.partitions().map((p) => p.month)).toEqual(['2026_10', '2026_11']);
    const inOct = s.storage.sqlite.prepare('SELECT ts FROM events_2026_10').all();
    const inNov = s.storage.sqlite.prepare('SELECT ts FROM events_2026_11').all();
    expect(inOct).toEqual([{ ts: lastMs }]);
    expect(inNov).toEqual([{ ts: firstMs }]);
  });

  it('a 40-day range query reads exactly the months it needs, and only those', () => {
    const s = setup();
    const months = [7, 8, 9, 10, 11]; // Aug..Dec 2026 (0-based month index)
    s.storage.events.ingest(months.map((m) => ev(Date.UTC(2026, m, 20), {}, `m${m}`)));
    // 2026-10-05 .. 2026-11-14: 40 days, October and November only.
    const from = Date.UTC(2026, 9, 5);
    const to = from + 40 * 86_400_000;
    expect(new Date(to).toISOString()).toBe('2026-11-14T00:00:00.000Z');
    expect(s.storage.events.tablesForRange(from, to)).toEqual(['events_2026_10', 'events_2026_11']);

    s.statements.length = 0;
    const rows = s.storage.events.query({ guildId: G1, fromMs: from, toMs: to });
    expect(rows.map((r) => new Date(r.ts).toISOString())).toEqual(['2026-10-20T00:00:00.000Z']);
    const touched = new Set(s.statements.join('\n').match(/events_\d{4}_\d{2}/g));
    expect([...touched].sort()).toEqual(['events_2026_10', 'events_2026_11']);

    // A range over months that have no partition touches none.
    expect(s.storage.events.tablesForRange(Date.UTC(2025, 0, 1), Date.UTC(2025, 1, 10))).toEqual([]);
    expect(
      s.storage.events.query({ guildId: G1, fromMs: Date.UTC(2025, 0, 1), toMs: Date.UTC(2025, 1, 10) }),
    ).toEqual([]);
    // The exclusive end does not pull in the next month.
    expect(s.storage.events.tablesForRange(Date.UTC(2026, 9, 1), Date.UTC(2026, 10, 1))).toEqual([
      'events_2026_10',
    ]);
  });

  it('retention drops only whole expired months, one DROP per month, and keeps rollups', () => {
    const now = Date.UTC(2026, 10, 15);
    const s = setup(() => now);
    // Jan..Nov 2026.
    s.storage.events.ingest(Array.from({ length: 11 }, (_, m) => ev(Date.UTC(2026, m, 10), {}, `r${m}`)));
    const rollupSql = 'SELECT COUNT(*) AS n, SUM(count) AS c FROM rollup_daily';
    s.storage.events.compact();
    const rollupsBefore = s.storage.sqlite.prepare(rollupSql).get();
    expect(rollupsBefore).toEqual({ n: 11, c: 11 });
    s.statements.length = 0;
    const dropped = s.storage.events.dropExpired(3, now);
    expect(dropped).toEqual([
      '2026_01',
      '2026_02',
      '2026_03',
      '2026_04',
      '2026_05',
      '2026_06',
      '2026_07',
      '2026_08',
    ]);
    expect(tableNames(s)).toEqual(['events_2026_09', 'events_2026_10', 'events_2026_11']);
    expect(s.statements.filter((q) => q.startsWith('DROP TABLE'))).toHaveLength(8);
    expect(s.statements.some((q) => /^DELETE FROM events_/.test(q))).toBe(false);
    expect(s.storage.sqlite.prepare(rollupSql).get()).toEqual(rollupsBefore);
    expect(
      s.storage.events.series({
        guildId: G1,
        fromMs: Date.UTC(2026, 0, 1),
        toMs: Date.UTC(2026, 1, 1),
        bucket: 'day',
      }),
    ).toEqual([{ bucket_ms: Date.UTC(2026, 0, 10), count: 1 }]);
    // Running it again drops nothing; ingesting into a dropped month recreates it.
    expect(s.storage.events.dropExpired(3, now)).toEqual([]);
    s.storage.events.ingest([ev(Date.UTC(2026, 0, 11), {}, 'again')]);
    expect(tableNames(s)).toContain('events_2026_01');
  });
});

describe('ingest', () => {
  it('ignores duplicate ids within one batch and across batches, and counts them once in rollups', () => {
    const s = setup();
    const ts = Date.UTC(2026, 10, 3, 12);
    const a = ev(ts, {}, 'message:1');
    const b = ev(ts + 1, {}, 'message:2');
    expect(s.storage.events.ingest([a, a, b])).toEqual({ inserted: 2, duplicates: 1, rejected: [] });
    expect(s.storage.events.ingest([b, a, ev(ts + 2, {}, 'message:3')])).toEqual({
      inserted: 1,
      duplicates: 2,
      rejected: [],
    });
    expect(s.storage.sqlite.prepare('SELECT COUNT(*) AS n FROM events_2026_11').get()).toEqual({ n: 3 });
    expect(
      s.storage.events.series({
        guildId: G1,
        fromMs: ts - 86_400_000,
        toMs: ts + 86_400_000,
        bucket: 'hour',
      }),
    ).toEqual([{ bucket_ms: ts, count: 3 }]);
    // Deterministic ids: the same natural key always gives the same id (so two shard generations dedupe).
    expect(eventId(ts, 'message:1')).toBe(a.id);
  });

  it('rejects invalid rows one by one with a reason while valid rows land', () => {
    const s = setup();
    const ts = Date.UTC(2026, 10, 4);
    const good = ev(ts, {}, 'good');
    const batch: unknown[] = [
      good,
      { ...ev(ts, {}, 'x1'), guildId: undefined },
      { ...ev(ts, {}, 'x2'), kind: 'dance' },
      { ...ev(ts, {}, 'x3'), id: 'not-an-id' },
      { ...ev(ts, {}, 'x4'), ts: ts + 5 },
      { ...ev(ts, {}, 'x5'), extra: 1 },
      { ...ev(ts, {}, 'x6'), attrs: 'nope' },
      null,
      "'; DROP TABLE guilds; --",
      ev(
        ts + 1,
        { channelId: null, userId: null, kind: 'automod', attrs: { rule: "'; DROP TABLE x; --" } },
        'good2',
      ),
    ];
    const r = s.storage.events.ingest(batch);
    expect(r.inserted).toBe(2);
    expect(r.rejected.map((x) => x.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const reasons = Object.fromEntries(r.rejected.map((x) => [x.index, x.reason]));
    expect(reasons[1]).toMatch(/guildId/);
    expect(reasons[2]).toMatch(/kind/);
    expect(reasons[3]).toMatch(/id: a 26-character event id/);
    expect(reasons[4]).toMatch(/does not match the timestamp the id encodes/);
    expect(reasons[5]).toMatch(/extra/);
    expect(reasons[6]).toMatch(/attrs/);
    expect(r.rejected[1]!.id).toBe(batch[2] && (batch[2] as ActivityEvent).id);
    const stored = s.storage.events.query({ guildId: G1, fromMs: ts, toMs: ts + 10 });
    expect(stored.map((e) => e.id)).toEqual([good.id, (batch[9] as ActivityEvent).id]);
    expect(JSON.parse(stored[1]!.attrs!)).toEqual({ rule: "'; DROP TABLE x; --" });
    expect(
      s.storage.sqlite.prepare("SELECT COUNT(*) AS n FROM sqlite_schema WHERE name='guilds'").get(),
    ).toEqual({ n: 1 });
  });
});

describe('rollups', () => {
  it('equal GROUP BY over the raw events for a randomized data set of 120k events (with duplicates), across a crash', async () => {
    const s = setup();
    // Deterministic pseudo-random generator so a failure can be reproduced.
    let seed = 0x9e3779b9;
    const rnd = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const guilds = Array.from({ length: 12 }, (_, i) => String(1_100_000_000_000_000_000n + BigInt(i)));
    const channels = Array.from({ length: 8 }, (_, i) => String(1_200_000_000_000_000_000n + BigInt(i)));
    const users = Array.from({ length: 400 }, (_, i) => String(1_300_000_000_000_000_000n + BigInt(i)));
    const start = Date.UTC(2026, 8, 20); // spans Sep, Oct, Nov
    const span = 70 * 86_400_000;
    const all: ActivityEvent[] = [];
    for (let i = 0; i < 120_000; i++) {
      const ts = start + Math.floor(rnd() * span);
      const kind: EventKind = pick(EVENT_KINDS);
      all.push({
        id: eventId(ts, `e${i}`),
        ts,
        guildId: pick(guilds),
        channelId: rnd() < 0.1 ? null : pick(channels),
        userId: rnd() < 0.05 ? null : pick(users),
        kind,
        ...(rnd() < 0.2 ? { attrs: { n: i } } : {}),
      });
    }
    let inserted = 0;
    let duplicates = 0;
    for (let i = 0; i < all.length; i += 1000) {
      const batch = all.slice(i, i + 1000);
      // ~5% of each batch re-sends events of earlier batches (a replayed batch, a reshard overlap).
      for (let k = 0; k < 50 && i > 0; k++) batch.push(all[Math.floor(rnd() * i)]!);
      const r = s.storage.events.ingest(batch);
      expect(r.rejected).toEqual([]);
      inserted += r.inserted;
      duplicates += r.duplicates;
    }
    expect(inserted).toBe(120_000);
    expect(duplicates).toBeGreaterThan(5000);

    const tables = s.storage.events.partitions().map((p) => p.table);
    expect(tables).toEqual(['events_2026_09', 'events_2026_10', 'events_2026_11']);
    const raw = `(${tables.map((t) => `SELECT * FROM ${t}`).join(' UNION ALL ')})`;
    expect(s.storage.sqlite.prepare(`SELECT COUNT(*) AS n FROM ${raw}`).get()).toEqual({ n: 120_000 });

    const cmp = (rollupSql: string, rawSql: string) => {
      const a = db.prepare(rollupSql).all();
      const b = db.prepare(rawSql).all();
      expect(a.length).toBeGreaterThan(100);
      expect(a).toEqual(b);
    };
    const order = 'ORDER BY guild_id, bucket_ms, channel_id, kind';
    // 120k events crossed the compaction threshold several times; the last batches' deltas are still only in
    // the journal. Simulate a crash there: close without compacting, reopen, and the rollups must still equal
    // the raw events (the journal is reloaded and folded).
    const pendingBatches = s.storage.events.pendingRollupBatches;
    expect(pendingBatches).toBeGreaterThan(0);
    expect(s.storage.sqlite.prepare('SELECT COUNT(*) AS n FROM rollup_journal').get()).toEqual({
      n: pendingBatches,
    });
    expect(
      (s.storage.sqlite.prepare('SELECT COUNT(*) AS n FROM rollup_hourly').get() as { n: number }).n,
    ).toBeGreaterThan(0);
    await s.storage.close();
    const reopened = openStorage(
      { dataDir: s.dir.path, databaseFile: 'test.sqlite', busyTimeoutMs: 1000 },
      { migrate: true },
    );
    cleanups.push(() => reopened.close());
    const db = reopened.sqlite;
    expect(reopened.events.pendingRollupBatches).toBe(pendingBatches);
    expect(reopened.events.compact()).toBe(pendingBatches);
    expect(db.prepare('SELECT COUNT(*) AS n FROM rollup_journal').get()).toEqual({ n: 0 });
    cmp(
      `SELECT guild_id, bucket_ms, channel_id, kind, count FROM rollup_hourly ${order}`,
      `SELECT guild_id, ts - ts % 3600000 AS bucket_ms, COALESCE(channel_id, '') AS channel_id, kind, COUNT(*) AS count
         FROM ${raw} GROUP BY 1, 2, 3, 4 ${order}`,
    );
    cmp(
      `SELECT guild_id, bucket_ms, channel_id, kind, count FROM rollup_daily ${order}`,
      `SELECT guild_id, ts - ts % 86400000 AS bucket_ms, COALESCE(channel_id, '') AS channel_id, kind, COUNT(*) AS count
         FROM ${raw} GROUP BY 1, 2, 3, 4 ${order}`,
    );
    cmp(
      'SELECT guild_id, day_ms, COUNT(*) AS users FROM active_users_daily GROUP BY 1, 2 ORDER BY 1, 2',
      `SELECT guild_id, ts - ts % 86400000 AS day_ms, COUNT(DISTINCT user_id) AS users FROM ${raw}
         WHERE user_id IS NOT NULL AND kind NOT IN ('member_join', 'member_leave', 'member_update')
         GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    // The public series/activeUsers helpers agree with the raw data for one guild over 30 days.
    const g = guilds[3]!;
    const from = Date.UTC(2026, 9, 1);
    const to = Date.UTC(2026, 9, 31);
    expect(
      reopened.events.series({ guildId: g, fromMs: from, toMs: to, bucket: 'day', kinds: ['message'] }),
    ).toEqual(
      db
        .prepare(
          `SELECT ts - ts % 86400000 AS bucket_ms, COUNT(*) AS count FROM ${raw} WHERE guild_id = ? AND kind = 'message' AND ts >= ? AND ts < ? GROUP BY 1 ORDER BY 1`,
        )
        .all(g, from, to),
    );
    expect(reopened.events.activeUsers({ guildId: g, fromMs: from, toMs: to })).toHaveLength(30);
  });
});

describe('restarts', () => {
  it('a crash after a restart that followed a compaction recounts only the unfolded batch', async () => {
    const s = setup();
    const opts = { dataDir: s.dir.path, databaseFile: 'test.sqlite', busyTimeoutMs: 1000 };
    const ts = Date.UTC(2026, 10, 6, 9);
    expect(s.storage.events.ingest([ev(ts, {}, 'r1'), ev(ts + 1, {}, 'r2')]).inserted).toBe(2);
    expect(s.storage.events.compact()).toBe(1); // folded: the journal is empty again
    await s.storage.close();
    // Restart, one more batch, then a crash before it is folded.
    const second = openStorage(opts, { migrate: true });
    expect(second.events.ingest([ev(ts + 2, {}, 'r3')]).inserted).toBe(1);
    await second.close();
    const third = openStorage(opts, { migrate: true });
    cleanups.push(() => third.close());
    expect(third.events.pendingRollupBatches).toBe(1);
    expect(
      third.events.series({ guildId: G1, fromMs: ts - 3_600_000, toMs: ts + 3_600_000, bucket: 'hour' }),
    ).toEqual([{ bucket_ms: ts, count: 3 }]);
    expect(third.events.activeUsers({ guildId: G1, fromMs: ts - 86_400_000, toMs: ts + 86_400_000 })).toEqual(
      [{ day_ms: Date.UTC(2026, 10, 6), users: 1 }],
    );
  });
});

describe('live stream', () => {
  it('time-ordered ids with late events, replays and in-batch copies: stored once, rollups equal GROUP BY', () => {
    const s = setup();
    let seed = 77;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const guilds = Array.from({ length: 30 }, (_, i) => String(1_100_000_000_000_000_000n + BigInt(i)));
    const kinds: EventKind[] = ['message', 'message', 'reaction_add', 'member_join', 'voice_join'];
    // Four hours across the October/November boundary (two partitions, hour and day boundaries).
    const start = Date.UTC(2026, 9, 31, 22);
    const span = 4 * 3_600_000;
    const make = (i: number, ts: number): ActivityEvent => {
      const g = Math.floor(rnd() * rnd() * guilds.length);
      return {
        id: eventId(ts, `live:${i}`),
        ts,
        guildId: guilds[g]!,
        channelId:
          rnd() < 0.1 ? null : String(1_200_000_000_000_000_000n + BigInt(g * 10 + Math.floor(rnd() * 4))),
        userId: rnd() < 0.05 ? null : String(1_300_000_000_000_000_000n + BigInt(Math.floor(rnd() * 300))),
        kind: kinds[Math.floor(rnd() * kinds.length)]!,
        ...(rnd() < 0.5 ? { attrs: { len: i % 200 } } : {}),
      };
    };
    const N = 40_000;
    const stream = Array.from({ length: N }, (_, i) => make(i, start + Math.floor((i / N) * span)));
    const seen = new Set<string>();
    let expectDup = 0;
    let inserted = 0;
    let duplicates = 0;
    let late = N;
    for (let i = 0; i < N; i += 1000) {
      const batch = stream.slice(i, i + 1000);
      // In-batch copies (a shard's retried append), replays of stored events (a reshard overlap), and
      // events never seen that are older than everything stored (a slow shard): the last two have ids
      // below the partition's largest id.
      for (let k = 0; k < 20; k++) batch.push(batch[Math.floor(rnd() * 1000)]!);
      for (let k = 0; k < 20 && i > 0; k++) batch.push(stream[Math.floor(rnd() * i)]!);
      for (let k = 0; k < 10 && i > 0; k++) {
        const e = make(late++, stream[Math.floor(rnd() * i)]!.ts);
        stream.push(e);
        batch.splice(Math.floor(rnd() * batch.length), 0, e);
      }
      for (const e of batch) {
        if (seen.has(e.id)) expectDup++;
        seen.add(e.id);
      }
      const r = s.storage.events.ingest(batch);
      expect(r.rejected).toEqual([]);
      inserted += r.inserted;
      duplicates += r.duplicates;
    }
    expect(inserted).toBe(seen.size);
    expect(duplicates).toBe(expectDup);
    expect(duplicates).toBeGreaterThan(1500);
    // Most rows went in with multi-row statements; late events and replays one by one.
    const multi = s.statements.filter((q) => /INSERT OR IGNORE INTO events_.*\), \(/s.test(q)).length;
    expect(multi).toBeGreaterThan(N / 100);

    const db = s.storage.sqlite;
    const tables = s.storage.events.partitions().map((p) => p.table);
    expect(tables).toEqual(['events_2026_10', 'events_2026_11']);
    const raw = `(${tables.map((t) => `SELECT * FROM ${t}`).join(' UNION ALL ')})`;
    const ids = (db.prepare(`SELECT id FROM ${raw} ORDER BY id`).pluck().all() as string[]).join();
    expect(ids).toBe([...seen].sort().join());
    s.storage.events.compact();
    const order = 'ORDER BY guild_id, bucket_ms, channel_id, kind';
    for (const [table, width] of [
      ['rollup_hourly', 3_600_000],
      ['rollup_daily', 86_400_000],
    ] as const) {
      expect(
        db.prepare(`SELECT guild_id, bucket_ms, channel_id, kind, count FROM ${table} ${order}`).all(),
      ).toEqual(
        db
          .prepare(
            `SELECT guild_id, ts - ts % ${width} AS bucket_ms, COALESCE(channel_id, '') AS channel_id, kind, COUNT(*) AS count
               FROM ${raw} GROUP BY 1, 2, 3, 4 ${order}`,
          )
          .all(),
      );
    }
    expect(
      db.prepare('SELECT guild_id, day_ms, user_id FROM active_users_daily ORDER BY 1, 2, 3').all(),
    ).toEqual(
      db
        .prepare(
          `SELECT DISTINCT guild_id, ts - ts % 86400000 AS day_ms, user_id FROM ${raw}
             WHERE user_id IS NOT NULL AND kind NOT IN ('member_join', 'member_leave', 'member_update') ORDER BY 1, 2, 3`,
        )
        .all(),
    );
  });
});

describe('two guilds', () => {
  it('queries and series never mix guilds', () => {
    const s = setup();
    const ts = Date.UTC(2026, 10, 5, 10);
    s.storage.events.ingest([
      ev(ts, {}, 'g1'),
      ev(ts, { guildId: G2 }, 'g2a'),
      ev(ts + 1, { guildId: G2 }, 'g2b'),
    ]);
    expect(s.storage.events.query({ guildId: G1, fromMs: ts, toMs: ts + 10 })).toHaveLength(1);
    expect(
      s.storage.events.series({ guildId: G2, fromMs: ts, toMs: ts + 3_600_000, bucket: 'hour' }),
    ).toEqual([{ bucket_ms: ts, count: 2 }]);
    expect(
      [...s.storage.events.iterate({ guildId: G2, fromMs: ts, toMs: ts + 10 })].map((e) => e.guild_id),
    ).toEqual([G2, G2]);
  });
});
