import type BetterSqlite3 from 'better-sqlite3';
import { EVENT_KINDS, type EventKind, type EventStore } from '../storage/index.js';
import { COMMAND_NAME_SQL } from '../storage/events.js';
import { DAY_MS, HOUR_MS, type TimeRange, splitDays } from '../storage/partitions.js';
import { iso } from '../domain/schemas.js';

/**
 * A time range `[fromMs, toMs)` already aligned to the bucket.
 *
 * @example
 * const r: Range = { fromMs: Date.UTC(2026, 10, 1), toMs: Date.UTC(2026, 11, 1) };
 */
export type Range = TimeRange;

/**
 * Bucket widths in ms.
 *
 * @example
 * BUCKET_MS.hour; // 3_600_000
 */
export const BUCKET_MS = { hour: HOUR_MS, day: DAY_MS } as const;
/**
 * Bucket width of a series.
 *
 * @example
 * const b: Bucket = 'day';
 */
export type Bucket = keyof typeof BUCKET_MS;

/**
 * Fills missing buckets with zero so charts get one point per bucket.
 *
 * @example
 * zeroFill([{ bucket_ms: 0, count: 2 }], { fromMs: 0, toMs: 2 * HOUR_MS }, 'hour'); // two points
 */
export function zeroFill(points: readonly { bucket_ms: number; count: number }[], r: Range, bucket: Bucket) {
  const step = BUCKET_MS[bucket];
  const byBucket = new Map(points.map((p) => [p.bucket_ms, p.count]));
  const out: { t: string; count: number }[] = [];
  for (let t = r.fromMs; t < r.toMs; t += step) out.push({ t: iso(t), count: byBucket.get(t) ?? 0 });
  return out;
}

/** The `limit` largest counts, ties by key (as SQL's `ORDER BY n DESC, key` orders them). */
function top(counts: ReadonlyMap<string, number>, limit: number): [string, number][] {
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, limit);
}

/**
 * The analytics queries behind `/guilds/:guildId/analytics/*`. Dashboards read the rollups (hourly/daily
 * counts per channel and kind, daily active users, member days, command days); per-member, per-command
 * and retention questions read the raw partitions only for the partial days at a range's ends.
 *
 * @example
 * const q = new AnalyticsQueries(storage.sqlite, storage.events);
 * q.overview(guildId, { fromMs, toMs });
 */
export class AnalyticsQueries {
  private readonly stmts = new Map<string, BetterSqlite3.Statement>();

  constructor(
    private readonly sqlite: BetterSqlite3.Database,
    private readonly events: EventStore,
  ) {}

  private stmt(sql: string): BetterSqlite3.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      if (this.stmts.size > 200) this.stmts.clear();
      s = this.sqlite.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** Totals per kind over the range (hourly rollups, pending deltas included). */
  countsByKind(guildId: string, r: Range): Record<EventKind, number> {
    const rows = this.events.rollup({
      guildId,
      fromMs: r.fromMs,
      toMs: r.toMs,
      bucket: 'hour',
      groupBy: ['kind'],
    });
    const out = Object.fromEntries(EVENT_KINDS.map((k) => [k, 0])) as Record<EventKind, number>;
    for (const row of rows) if (row.kind in out) out[row.kind] = row.count;
    return out;
  }

  /** The 30-day (or any range) dashboard summary. */
  overview(guildId: string, r: Range) {
    const byKind = this.countsByKind(guildId, r);
    const span = r.toMs - r.fromMs;
    const previous = this.countsByKind(guildId, { fromMs: r.fromMs - span, toMs: r.fromMs });
    const dayFrom = r.fromMs - (r.fromMs % DAY_MS);
    this.events.compact(); // direct reads of active_users_daily below
    const active = this.stmt(
      'SELECT COUNT(DISTINCT user_id) AS n FROM active_users_daily WHERE guild_id = ? AND day_ms >= ? AND day_ms < ?',
    ).get(guildId, dayFrom, r.toMs) as { n: number };
    const daily = this.stmt(
      'SELECT AVG(n) AS avg, MAX(n) AS max FROM (SELECT COUNT(*) AS n FROM active_users_daily WHERE guild_id = ? AND day_ms >= ? AND day_ms < ? GROUP BY day_ms)',
    ).get(guildId, dayFrom, r.toMs) as { avg: number | null; max: number | null };
    const topChannels = this.topChannels(guildId, r, 'message', 5);
    const hours = new Array<number>(24).fill(0);
    for (const p of this.events.series({
      guildId,
      fromMs: r.fromMs,
      toMs: r.toMs,
      bucket: 'hour',
      kinds: ['message'],
    })) {
      hours[Math.floor(p.bucket_ms / HOUR_MS) % 24]! += p.count;
    }
    const peak = Math.max(...hours);
    const busiest = peak > 0 ? hours.indexOf(peak) : null;
    const change = (now: number, before: number) =>
      before === 0 ? null : Math.round(((now - before) / before) * 10_000) / 100;
    return {
      from: iso(r.fromMs),
      to: iso(r.toMs),
      byKind,
      messages: byKind.message,
      messagesChangePercent: change(byKind.message, previous.message),
      joins: byKind.member_join,
      leaves: byKind.member_leave,
      netMembers: byKind.member_join - byKind.member_leave,
      voiceSessions: byKind.voice_join,
      commands: byKind.command,
      activeUsers: active.n,
      avgDailyActiveUsers: daily.avg === null ? 0 : Math.round(daily.avg * 100) / 100,
      peakDailyActiveUsers: daily.max ?? 0,
      busiestHourUtc: busiest,
      topChannels,
    };
  }

  /** Counts of some kinds per bucket, zero-filled. */
  series(guildId: string, r: Range, bucket: Bucket, kinds: readonly EventKind[], channelId?: string) {
    return zeroFill(
      this.events.series({ guildId, fromMs: r.fromMs, toMs: r.toMs, bucket, kinds, channelId }),
      r,
      bucket,
    );
  }

  /** Channels with the most events of a kind. */
  topChannels(guildId: string, r: Range, kind: EventKind, limit: number) {
    return this.events
      .rollup({
        guildId,
        fromMs: r.fromMs,
        toMs: r.toMs,
        bucket: 'hour',
        kinds: [kind],
        groupBy: ['channel_id'],
      })
      .filter((row) => row.channel_id !== '')
      .sort((a, b) => b.count - a.count || (a.channel_id < b.channel_id ? -1 : 1))
      .slice(0, limit)
      .map((row) => ({ channelId: row.channel_id, count: row.count }));
  }

  /** Daily active users, zero-filled, and the distinct users over the whole range. */
  activeUsers(guildId: string, r: Range) {
    const rows = this.events.activeUsers({ guildId, fromMs: r.fromMs, toMs: r.toMs }); // compacts first
    const points = zeroFill(
      rows.map((x) => ({ bucket_ms: x.day_ms, count: x.users })),
      r,
      'day',
    ).map((p) => ({ t: p.t, users: p.count }));
    const distinct = this.stmt(
      'SELECT COUNT(DISTINCT user_id) AS n FROM active_users_daily WHERE guild_id = ? AND day_ms >= ? AND day_ms < ?',
    ).get(guildId, r.fromMs, r.toMs) as { n: number };
    return { points, distinctUsers: distinct.n };
  }

  private union(
    guildId: string,
    r: Range,
    select: string,
    where: string,
  ): { sql: string; params: unknown[] } {
    const tables = this.events.tablesForRange(r.fromMs, r.toMs);
    if (tables.length === 0) return { sql: '', params: [] };
    const parts = tables.map(
      (t) => `SELECT ${select} FROM ${t} WHERE guild_id = ? AND ts >= ? AND ts < ? AND ${where}`,
    );
    const params: unknown[] = [];
    for (let i = 0; i < tables.length; i++) params.push(guildId, r.fromMs, r.toMs);
    return { sql: parts.join(' UNION ALL '), params };
  }

  /**
   * Members with the most messages over the range, with their active days: whole days from
   * `member_daily`, the partial days at the ends from the raw partitions.
   */
  topMembers(guildId: string, r: Range, limit: number) {
    const counts = this.countsByKey(
      guildId,
      r,
      'SELECT user_id AS key, SUM(messages) AS n FROM member_daily WHERE guild_id = ? AND day_ms >= ? AND day_ms < ? AND messages > 0 GROUP BY user_id',
      'user_id',
      "kind = 'message' AND user_id IS NOT NULL",
    );
    const activeDays = this.stmt(
      'SELECT COUNT(*) AS n FROM active_users_daily WHERE guild_id = ? AND user_id = ? AND day_ms >= ? AND day_ms < ?',
    );
    const dayFrom = r.fromMs - (r.fromMs % DAY_MS);
    return top(counts, limit).map(([userId, messages]) => ({
      userId,
      messages,
      activeDays: (activeDays.get(guildId, userId, dayFrom, r.toMs) as { n: number }).n,
    }));
  }

  /**
   * Most used commands (see `commandName`): whole days from `command_daily`, the partial days at the
   * ends from the raw partitions.
   */
  commands(guildId: string, r: Range, limit: number) {
    const counts = this.countsByKey(
      guildId,
      r,
      'SELECT name AS key, SUM(count) AS n FROM command_daily WHERE guild_id = ? AND day_ms >= ? AND day_ms < ? GROUP BY name',
      COMMAND_NAME_SQL,
      "kind = 'command'",
    );
    const total = this.countsByKind(guildId, r).command;
    return { total, commands: top(counts, limit).map(([name, count]) => ({ name, count })) };
  }

  /**
   * `key → count` over the range: the whole days from a daily rollup (`daysSql` selects `key, n` for
   * guild, from, to), the partial days at the ends from the raw events (`keySql` grouped, rows filtered
   * by `where`). Compacts first, so pending rollup deltas are included.
   */
  private countsByKey(
    guildId: string,
    r: Range,
    daysSql: string,
    keySql: string,
    where: string,
  ): Map<string, number> {
    this.events.compact();
    const { days, edges } = splitDays(r);
    const parts = edges.map((edge) => this.rawCounts(guildId, edge, keySql, where));
    if (days) {
      parts.push(this.stmt(daysSql).all(guildId, days.fromMs, days.toMs) as { key: string; n: number }[]);
    }
    const counts = new Map<string, number>();
    for (const rows of parts) for (const row of rows) counts.set(row.key, (counts.get(row.key) ?? 0) + row.n);
    return counts;
  }

  /** `key → count` over the raw events of a (short) range: `keySql` grouped, rows filtered by `where`. */
  private rawCounts(guildId: string, r: Range, keySql: string, where: string) {
    const u = this.union(guildId, r, `${keySql} AS key`, where);
    if (u.sql === '') return [];
    return this.sqlite.prepare(`SELECT key, COUNT(*) AS n FROM (${u.sql}) GROUP BY key`).all(...u.params) as {
      key: string;
      n: number;
    }[];
  }

  /** `user → min or max ts` over the raw events of a (short) range, rows filtered by `where`. */
  private rawUserTimes(guildId: string, r: Range, agg: 'MIN' | 'MAX', where: string) {
    const u = this.union(guildId, r, 'user_id, ts', `${where} AND user_id IS NOT NULL`);
    if (u.sql === '') return [];
    return this.sqlite
      .prepare(`SELECT user_id, ${agg}(ts) AS ts FROM (${u.sql}) GROUP BY user_id`)
      .all(...u.params) as { user_id: string; ts: number }[];
  }

  /**
   * Retention cohorts: members who joined in each cohort bucket of the range → how many sent a first
   * message after joining → how many were still active 7 and 30 days after joining (only counted once
   * that much time has passed: `eligible7d`, `eligible30d`). A member's join is their first in the range;
   * "sent a first message" means a message at or after it, before now (at most 31 days past the range).
   * Whole days come from `member_daily` (first join, last message of the day), the partial days from
   * the raw partitions; "still active" from `active_users_daily`.
   */
  retention(guildId: string, r: Range, cohortMs: number, nowMs: number) {
    const scanTo = Math.min(nowMs + 1, r.toMs + 31 * DAY_MS);
    this.events.compact();
    const joined = new Map<string, number>();
    const addJoin = (user: string, ts: number) => {
      const j = joined.get(user);
      if (j === undefined || ts < j) joined.set(user, ts);
    };
    const { days, edges } = splitDays(r);
    if (days) {
      const rows = this.stmt(
        'SELECT user_id, MIN(first_join_ms) AS ts FROM member_daily WHERE guild_id = ? AND day_ms >= ? AND day_ms < ? AND first_join_ms IS NOT NULL GROUP BY user_id',
      ).all(guildId, days.fromMs, days.toMs) as { user_id: string; ts: number }[];
      for (const row of rows) addJoin(row.user_id, row.ts);
    }
    for (const edge of edges) {
      for (const row of this.rawUserTimes(guildId, edge, 'MIN', "kind = 'member_join'")) {
        addJoin(row.user_id, row.ts);
      }
    }
    // A message in [joined, scanTo): on a whole day before the day scanTo falls in, member_daily tells
    // (the join day counts when its last message is at or after the join); that last, partial day is
    // read from the raw events.
    const scanDay = scanTo - (scanTo % DAY_MS);
    const messaged = new Set<string>();
    const messageAfter = this.stmt(
      // One member's days: without the hint SQLite walks the guild's days by primary key instead.
      'SELECT 1 AS x FROM member_daily INDEXED BY member_daily_user WHERE guild_id = ? AND user_id = ? AND day_ms >= ? AND day_ms < ? AND messages > 0 AND (day_ms > ? OR last_message_ms >= ?) LIMIT 1',
    );
    for (const [user, ts] of joined) {
      const joinDay = ts - (ts % DAY_MS);
      if (joinDay < scanDay && messageAfter.get(guildId, user, joinDay, scanDay, joinDay, ts) !== undefined)
        messaged.add(user);
    }
    if (scanDay < scanTo && joined.size > 0) {
      const window = { fromMs: Math.max(scanDay, r.fromMs), toMs: scanTo };
      for (const row of this.rawUserTimes(guildId, window, 'MAX', "kind = 'message'")) {
        const j = joined.get(row.user_id);
        if (j !== undefined && row.ts >= j) messaged.add(row.user_id);
      }
    }
    const lastActive = this.stmt(
      'SELECT MAX(day_ms) AS d FROM active_users_daily WHERE guild_id = ? AND user_id = ?',
    );
    const rows = [...joined].map(([user, ts]) => ({
      joined: ts,
      messaged: messaged.has(user),
      lastActive: (lastActive.get(guildId, user) as { d: number | null }).d,
    }));
    const step = cohortMs;
    const cohorts = new Map<
      number,
      { joined: number; firstMessage: number; e7: number; a7: number; e30: number; a30: number }
    >();
    for (let t = r.fromMs; t < r.toMs; t += step)
      cohorts.set(t, { joined: 0, firstMessage: 0, e7: 0, a7: 0, e30: 0, a30: 0 });
    for (const row of rows) {
      const key = r.fromMs + Math.floor((row.joined - r.fromMs) / step) * step;
      const c = cohorts.get(key);
      if (!c) continue;
      c.joined++;
      if (row.messaged) c.firstMessage++;
      const joinDay = row.joined - (row.joined % DAY_MS);
      for (const [days, e, a] of [
        [7, 'e7', 'a7'],
        [30, 'e30', 'a30'],
      ] as const) {
        if (joinDay + days * DAY_MS > nowMs) continue;
        c[e]++;
        if (row.lastActive !== null && row.lastActive >= joinDay + days * DAY_MS) c[a]++;
      }
    }
    return [...cohorts.entries()].map(([t, c]) => ({
      cohortStart: iso(t),
      joined: c.joined,
      sentFirstMessage: c.firstMessage,
      eligible7d: c.e7,
      activeAfter7d: c.a7,
      eligible30d: c.e30,
      activeAfter30d: c.a30,
    }));
  }
}
