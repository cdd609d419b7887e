import type BetterSqlite3 from 'better-sqlite3';
import { EVENT_KINDS, type EventKind, type EventStore } from '../storage/index.js';
import { DAY_MS, HOUR_MS } from '../storage/partitions.js';
import { iso } from '../domain/schemas.js';

/**
 * A time range `[fromMs, toMs)` already aligned to the bucket.
 *
 * @example
 * const r: Range = { fromMs: Date.UTC(2026, 10, 1), toMs: Date.UTC(2026, 11, 1) };
 */
export interface Range {
  readonly fromMs: number;
  readonly toMs: number;
}

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

/**
 * The analytics queries behind `/guilds/:guildId/analytics/*`. Dashboards read the rollups (hourly/daily
 * counts per channel and kind, daily active users) and never scan raw events; the few questions the
 * rollups cannot answer (per-member message counts, command names, retention cohorts) scan only the month
 * partitions of a bounded range.
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

  /** Members with the most messages (raw partitions of the range), with their active days. */
  topMembers(guildId: string, r: Range, limit: number) {
    const u = this.union(guildId, r, 'user_id', "kind = 'message' AND user_id IS NOT NULL");
    if (u.sql === '') return [];
    this.events.compact();
    const rows = this.sqlite
      .prepare(
        `SELECT m.user_id, m.n,
           (SELECT COUNT(*) FROM active_users_daily a WHERE a.guild_id = ? AND a.user_id = m.user_id AND a.day_ms >= ? AND a.day_ms < ?) AS days
         FROM (SELECT user_id, COUNT(*) AS n FROM (${u.sql}) GROUP BY user_id ORDER BY n DESC, user_id LIMIT ?) m`,
      )
      .all(guildId, r.fromMs - (r.fromMs % DAY_MS), r.toMs, ...u.params, limit) as {
      user_id: string;
      n: number;
      days: number;
    }[];
    return rows.map((row) => ({ userId: row.user_id, messages: row.n, activeDays: row.days }));
  }

  /** Most used commands (name from `attrs.name` or `attrs.command`). */
  commands(guildId: string, r: Range, limit: number) {
    const u = this.union(
      guildId,
      r,
      "CASE WHEN json_valid(attrs) THEN COALESCE(json_extract(attrs, '$.name'), json_extract(attrs, '$.command')) END AS name",
      "kind = 'command'",
    );
    if (u.sql === '') return { total: 0, commands: [] };
    const rows = this.sqlite
      .prepare(
        `SELECT COALESCE(CAST(name AS TEXT), '(unknown)') AS name, COUNT(*) AS n FROM (${u.sql}) GROUP BY 1 ORDER BY n DESC, name LIMIT ?`,
      )
      .all(...u.params, limit) as { name: string; n: number }[];
    const total = this.countsByKind(guildId, r).command;
    return { total, commands: rows.map((row) => ({ name: row.name, count: row.n })) };
  }

  /**
   * Retention cohorts: members who joined in each cohort bucket of the range → how many sent a first
   * message after joining → how many were still active 7 and 30 days after joining (only counted once
   * that much time has passed: `eligible7d`, `eligible30d`).
   */
  retention(guildId: string, r: Range, cohortMs: number, nowMs: number) {
    const scanTo = Math.min(nowMs + 1, r.toMs + 31 * DAY_MS);
    this.events.compact();
    const joins = this.union(guildId, r, 'user_id, ts', "kind = 'member_join' AND user_id IS NOT NULL");
    const msgs = this.union(
      guildId,
      { fromMs: r.fromMs, toMs: scanTo },
      'user_id, ts',
      "kind = 'message' AND user_id IS NOT NULL",
    );
    type Row = { user_id: string; joined: number; first_msg: number | null; last_active: number | null };
    let rows: Row[] = [];
    if (joins.sql !== '') {
      const firsts =
        msgs.sql === ''
          ? 'SELECT NULL AS user_id, NULL AS first_msg WHERE 0'
          : `SELECT e.user_id, MIN(e.ts) AS first_msg FROM (${msgs.sql}) e JOIN j ON j.user_id = e.user_id WHERE e.ts >= j.joined GROUP BY e.user_id`;
      rows = this.sqlite
        .prepare(
          `WITH j AS (SELECT user_id, MIN(ts) AS joined FROM (${joins.sql}) GROUP BY user_id),
                f AS (${firsts})
           SELECT j.user_id, j.joined, f.first_msg,
             (SELECT MAX(day_ms) FROM active_users_daily a WHERE a.guild_id = ? AND a.user_id = j.user_id) AS last_active
           FROM j LEFT JOIN f ON f.user_id = j.user_id`,
        )
        .all(...joins.params, ...msgs.params, guildId) as Row[];
    }
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
      if (row.first_msg !== null) c.firstMessage++;
      const joinDay = row.joined - (row.joined % DAY_MS);
      for (const [days, e, a] of [
        [7, 'e7', 'a7'],
        [30, 'e30', 'a30'],
      ] as const) {
        if (joinDay + days * DAY_MS > nowMs) continue;
        c[e]++;
        if (row.last_active !== null && row.last_active >= joinDay + days * DAY_MS) c[a]++;
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
