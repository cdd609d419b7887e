// Member and command rollups (migration 3): `member_daily` and `command_daily` equal GROUP BY over the raw
// events (across a crash, and when migration 3 backfills a version-2 file), and the analytics answers
// built on them (top members, command usage, retention cohorts) equal the raw-scan answers they replaced,
// for random ranges. Hour-precision rollup reads that take whole days from the daily table equal the
// hourly sums. Real SQLite files throughout.
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AnalyticsQueries } from '../../src/api/analytics-queries.js';
import {
  APPLICATION_ID,
  type ActivityEvent,
  EVENT_KINDS,
  type EventKind,
  MIGRATIONS,
  eventId,
  openStorage,
} from '../../src/storage/index.js';
import { COMMAND_NAME_SQL, commandName, partitionDdl } from '../../src/storage/events.js';
import { DAY_MS, HOUR_MS, splitDays } from '../../src/storage/partitions.js';
import { cohortCounts, cohortsFromRows, rawAnalytics, rawUnion } from '../helpers/analytics-reference.js';
import { tempDir } from '../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Deterministic pseudo-random generator, so a failure can be reproduced. */
function random(seed: number) {
  let s = seed;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  return { rnd, pick: <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]! };
}

const GUILDS = ['1100000000000000001', '1100000000000000002'];
const USERS = Array.from({ length: 60 }, (_, i) => String(1_300_000_000_000_000_000n + BigInt(i)));
const START = Date.UTC(2026, 9, 20); // Oct 20 → Nov 25: crosses a month partition
const SPAN = 36 * DAY_MS;
const COMMAND_ATTRS = [
  { name: 'rank' },
  { name: 'help' },
  { command: 'meme' },
  { name: 5, command: 'play' },
  { name: null },
  {},
  undefined,
  { name: "'; DROP TABLE command_daily; --" },
];

/** Messages, joins (often several per member, some on the same day) and commands, with other kinds mixed in. */
function dataset(n: number, seed: number): ActivityEvent[] {
  const { rnd, pick } = random(seed);
  const out: ActivityEvent[] = [];
  for (let i = 0; i < n; i++) {
    const ts = START + Math.floor(rnd() * SPAN);
    const x = rnd();
    const kind: EventKind =
      x < 0.55 ? 'message' : x < 0.65 ? 'member_join' : x < 0.75 ? 'command' : pick(EVENT_KINDS);
    const attrs = kind === 'command' ? pick(COMMAND_ATTRS) : undefined;
    out.push({
      id: eventId(ts, `m${seed}:${i}`),
      ts,
      guildId: pick(GUILDS),
      channelId: '1200000000000000001',
      userId: rnd() < 0.03 ? null : pick(USERS),
      kind,
      ...(attrs === undefined ? {} : { attrs }),
    });
  }
  return out;
}

/** The rollup tables against GROUP BY over every stored event. */
function expectRollupsEqualRaw(db: BetterSqlite3.Database): void {
  const raw = rawUnion(db);
  const members = db
    .prepare(
      'SELECT guild_id, day_ms, user_id, messages, first_join_ms, last_message_ms FROM member_daily ORDER BY 1, 2, 3',
    )
    .all();
  expect(members.length).toBeGreaterThan(1000);
  expect(members).toEqual(
    db
      .prepare(
        `SELECT guild_id, ts - ts % ${DAY_MS} AS day_ms, user_id, SUM(kind = 'message') AS messages,
           MIN(CASE WHEN kind = 'member_join' THEN ts END) AS first_join_ms,
           MAX(CASE WHEN kind = 'message' THEN ts END) AS last_message_ms
         FROM ${raw} WHERE user_id IS NOT NULL AND kind IN ('message', 'member_join')
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      )
      .all(),
  );
  const commands = db
    .prepare('SELECT guild_id, day_ms, name, count FROM command_daily ORDER BY 1, 2, 3')
    .all() as { name: string }[];
  expect(new Set(commands.map((c) => c.name))).toEqual(
    new Set(['rank', 'help', 'meme', 'play', '(unknown)', "'; DROP TABLE command_daily; --"]),
  );
  expect(commands).toEqual(
    db
      .prepare(
        `SELECT guild_id, ts - ts % ${DAY_MS} AS day_ms, ${COMMAND_NAME_SQL} AS name, COUNT(*) AS count
         FROM ${raw} WHERE kind = 'command' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      )
      .all(),
  );
}

function open(dir: string) {
  const s = openStorage(
    { dataDir: dir, databaseFile: 'test.sqlite', busyTimeoutMs: 1000 },
    { migrate: true },
  );
  cleanups.push(() => s.close());
  return s;
}

describe('splitDays', () => {
  it('whole days in the middle, partial days as edges, a range without a whole day as one edge', () => {
    const d = Date.UTC(2026, 10, 1);
    expect(splitDays({ fromMs: d + 6 * HOUR_MS, toMs: d + 2 * DAY_MS + HOUR_MS })).toEqual({
      days: { fromMs: d + DAY_MS, toMs: d + 2 * DAY_MS },
      edges: [
        { fromMs: d + 6 * HOUR_MS, toMs: d + DAY_MS },
        { fromMs: d + 2 * DAY_MS, toMs: d + 2 * DAY_MS + HOUR_MS },
      ],
    });
    expect(splitDays({ fromMs: d, toMs: d + 3 * DAY_MS })).toEqual({
      days: { fromMs: d, toMs: d + 3 * DAY_MS },
      edges: [],
    });
    const short = { fromMs: d + 20 * HOUR_MS, toMs: d + DAY_MS + 5 * HOUR_MS };
    expect(splitDays(short)).toEqual({ days: null, edges: [short] });
    expect(splitDays({ fromMs: d, toMs: d })).toEqual({ days: null, edges: [] });
  });
});

describe('member and command rollups', () => {
  it('commandName and COMMAND_NAME_SQL agree on every attrs shape', () => {
    const db = new BetterSqlite3(':memory:');
    cleanups.push(() => db.close());
    for (const attrs of [...COMMAND_ATTRS, { command: 7 }, { name: '' }, { name: { x: 1 } }]) {
      const sqlName = db
        .prepare(`SELECT ${COMMAND_NAME_SQL} AS n FROM (SELECT ? AS attrs)`)
        .pluck()
        .get(attrs === undefined ? null : JSON.stringify(attrs));
      expect(sqlName, JSON.stringify(attrs)).toBe(commandName(attrs));
    }
  });

  it('equal GROUP BY over the raw events, with replays and a crash between ingest and compaction', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const all = dataset(40_000, 0x2545f491);
    const { rnd } = random(99);
    let s = open(dir.path);
    for (let i = 0; i < all.length; i += 500) {
      const batch = all.slice(i, i + 500);
      for (let k = 0; k < 25 && i > 0; k++) batch.push(all[Math.floor(rnd() * i)]!); // replays
      expect(s.events.ingest(batch).rejected).toEqual([]);
      if (i === 20_000) s.events.compact(); // half folded, the rest only journalled
    }
    const pending = s.events.pendingRollupBatches;
    expect(pending).toBeGreaterThan(0);
    await s.close(); // the crash: journalled deltas never folded
    s = open(dir.path);
    expect(s.events.pendingRollupBatches).toBe(pending);
    s.events.compact();
    expectRollupsEqualRaw(s.sqlite);
  });

  it('migration 3 fills them from a version-2 file, leaving journalled batches to the recovery', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    // A version-2 file: the first two migrations only.
    const file = `${dir.path}/test.sqlite`;
    const db = new BetterSqlite3(file);
    db.pragma('journal_mode = WAL');
    for (const m of MIGRATIONS.filter((x) => x.version <= 2)) db.exec(m.up);
    db.pragma('user_version = 2');
    db.pragma(`application_id = ${APPLICATION_ID}`);
    // Events as a version-2 writer stored them: every row stamped with its batch; batches 1–30 folded
    // (their journal rows gone), batches 31–40 still journalled.
    const all = dataset(20_000, 0x68e31da4);
    db.exec(
      "INSERT INTO event_partitions VALUES ('2026_10', 'events_2026_10', 0, 0, 0), ('2026_11', 'events_2026_11', 0, 0, 0)",
    );
    for (const t of ['events_2026_10', 'events_2026_11']) db.exec(partitionDdl(t));
    db.transaction(() => {
      all.forEach((e, i) => {
        const batch = Math.floor(i / 500) + 1;
        const table = e.ts < Date.UTC(2026, 10, 1) ? 'events_2026_10' : 'events_2026_11';
        db.prepare(`INSERT INTO ${table} VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(
          e.id,
          e.ts,
          e.guildId,
          e.channelId,
          e.userId,
          e.kind,
          e.attrs === undefined ? null : JSON.stringify(e.attrs),
          batch,
        );
      });
      for (let b = 31; b <= 40; b++)
        db.prepare('INSERT INTO rollup_journal VALUES (?, 0, ?)').run(b, '["2026_10","2026_11"]');
    })();
    db.close();

    const s = open(dir.path);
    expect(s.sqlite.pragma('user_version', { simple: true })).toBe(3);
    // The backfill covered batches 1–30 only; the journalled 31–40 come from the recovered aggregate.
    const journalled = s.sqlite
      .prepare(
        `SELECT COUNT(*) FROM ${rawUnion(s.sqlite)} WHERE batch > 30 AND kind = 'message' AND user_id IS NOT NULL`,
      )
      .pluck()
      .get() as number;
    const backfilled = s.sqlite.prepare('SELECT SUM(messages) FROM member_daily').pluck().get() as number;
    expect(journalled).toBeGreaterThan(1000);
    expect(backfilled).toBe(
      (s.sqlite
        .prepare(`SELECT COUNT(*) FROM ${rawUnion(s.sqlite)} WHERE kind = 'message' AND user_id IS NOT NULL`)
        .pluck()
        .get() as number) - journalled,
    );
    expect(s.events.pendingRollupBatches).toBe(10);
    s.events.compact();
    expectRollupsEqualRaw(s.sqlite);
  });

  it('top members, commands and retention equal the raw-scan answers for random ranges', () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const s = open(dir.path);
    const all = dataset(30_000, 0x1b873593);
    for (let i = 0; i < all.length; i += 1000) s.events.ingest(all.slice(i, i + 1000));
    // Some deltas folded, some still pending: the queries compact first.
    const q = new AnalyticsQueries(s.sqlite, s.events);
    const ref = rawAnalytics(s.sqlite);
    const { rnd, pick } = random(7);
    let nonEmpty = 0;
    for (let k = 0; k < 40; k++) {
      const fromMs = START - DAY_MS + Math.floor(rnd() * 38 * 24) * HOUR_MS;
      const hours = k % 4 === 0 ? 1 + Math.floor(rnd() * 30) : 24 + Math.floor(rnd() * 24 * 30);
      const r = { fromMs, toMs: fromMs + hours * HOUR_MS };
      const guildId = pick(GUILDS);
      const nowMs = r.toMs + Math.floor(rnd() * 40 * DAY_MS) - 10 * DAY_MS;
      const limit = 1 + Math.floor(rnd() * 20);
      const top = q.topMembers(guildId, r, limit);
      expect(top).toEqual(ref.topMembers(guildId, r, limit));
      expect(q.commands(guildId, r, limit).commands).toEqual(ref.commands(guildId, r, limit));
      const step = pick([DAY_MS, 7 * DAY_MS]);
      const mine = q.retention(guildId, r, step, nowMs);
      const expected = cohortsFromRows(ref.retentionRows(guildId, r, nowMs), r, step, nowMs);
      expect(cohortCounts(mine)).toEqual(expected);
      if (top.length > 0 && mine.some((c) => c.sentFirstMessage > 0)) nonEmpty++;
      s.events.ingest(dataset(200, 1000 + k)); // keeps deltas pending between rounds
    }
    expect(nonEmpty).toBeGreaterThan(20);
  });

  it('hour-precision reads without hour buckets take whole days from rollup_daily and equal the hourly sums', () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const statements: string[] = [];
    const s = openStorage(
      { dataDir: dir.path, databaseFile: 'test.sqlite', busyTimeoutMs: 1000 },
      { migrate: true, trace: (sql) => statements.push(sql) },
    );
    cleanups.push(() => s.close());
    const all = dataset(20_000, 0x3c6ef372);
    for (let i = 0; i < all.length; i += 1000) s.events.ingest(all.slice(i, i + 1000));
    const { rnd, pick } = random(11);
    const groupings = [['kind'], ['channel_id'], ['channel_id', 'kind']] as const;
    let dailyReads = 0;
    for (let k = 0; k < 40; k++) {
      const fromMs = START - DAY_MS + Math.floor(rnd() * 38 * 24) * HOUR_MS;
      const r = { fromMs, toMs: fromMs + (1 + Math.floor(rnd() * 24 * 20)) * HOUR_MS };
      const guildId = pick(GUILDS);
      const groupBy = pick(groupings);
      const kinds = k % 3 === 0 ? (['message', 'command'] as EventKind[]) : undefined;
      statements.length = 0;
      const rows = s.events.rollup({ guildId, ...r, bucket: 'hour', groupBy, kinds });
      if (splitDays(r).days) {
        expect(statements.some((q) => q.includes('FROM rollup_daily'))).toBe(true);
        dailyReads++;
      }
      const cols = groupBy.join(', ');
      expect(rows).toEqual(
        s.sqlite
          .prepare(
            `SELECT ${cols}, SUM(count) AS count FROM rollup_hourly WHERE guild_id = ? AND bucket_ms >= ? AND bucket_ms < ?
             ${kinds ? "AND kind IN ('message', 'command')" : ''} GROUP BY ${cols} ORDER BY ${cols}`,
          )
          .all(guildId, r.fromMs, r.toMs),
      );
    }
    expect(dailyReads).toBeGreaterThan(20);
  });
});
