// The analytics answers the member/command rollups replaced, computed the old way: every event of the range
// scanned from the raw month partitions with plain better-sqlite3. The oracle of
// tests/storage/member-rollups.test.ts and the bare-library baseline of `npm run bench -- analytics`.
import type BetterSqlite3 from 'better-sqlite3';
import type { Range } from '../../src/api/analytics-queries.js';
import { COMMAND_NAME_SQL } from '../../src/storage/events.js';
import { DAY_MS } from '../../src/storage/partitions.js';

/** Every stored event: a UNION ALL over the registered month partitions. */
export function rawUnion(db: BetterSqlite3.Database): string {
  const tables = db.prepare('SELECT table_name FROM event_partitions ORDER BY month').pluck().all();
  return `(${tables.map((t) => `SELECT * FROM ${String(t)}`).join(' UNION ALL ')})`;
}

/**
 * The raw-scan answers the rollups replaced — the queries of the previous analytics code: every event of
 * the range read from the month partitions it touches (`WHERE guild_id = ? AND ts >= ? AND ts < ?` on each,
 * the `(guild_id, ts)` index), filtered by kind, grouped in SQL.
 */
export function rawAnalytics(db: BetterSqlite3.Database) {
  const tables = db
    .prepare('SELECT table_name, start_ms, end_ms FROM event_partitions ORDER BY month')
    .all() as { table_name: string; start_ms: number; end_ms: number }[];
  /** The range's events of a guild (`select` columns, `where` filter) over the partitions it touches. */
  const union = (guildId: string, r: Range, select: string, where: string) => {
    const parts = tables.filter((t) => t.start_ms < r.toMs && t.end_ms > r.fromMs);
    if (parts.length === 0)
      return {
        sql: `SELECT ${select} FROM (SELECT NULL AS user_id, NULL AS ts, NULL AS attrs) WHERE 0`,
        params: [],
      };
    return {
      sql: parts
        .map(
          (t) =>
            `SELECT ${select} FROM ${t.table_name} WHERE guild_id = ? AND ts >= ? AND ts < ? AND ${where}`,
        )
        .join(' UNION ALL '),
      params: parts.flatMap(() => [guildId, r.fromMs, r.toMs]),
    };
  };
  return {
    topMembers(guildId: string, r: Range, limit: number) {
      const u = union(guildId, r, 'user_id', "kind = 'message' AND user_id IS NOT NULL");
      return db
        .prepare(
          `SELECT m.user_id AS userId, m.n AS messages,
             (SELECT COUNT(*) FROM active_users_daily a WHERE a.guild_id = ? AND a.user_id = m.user_id AND a.day_ms >= ? AND a.day_ms < ?) AS activeDays
           FROM (SELECT user_id, COUNT(*) AS n FROM (${u.sql}) GROUP BY user_id ORDER BY n DESC, user_id LIMIT ?) m`,
        )
        .all(guildId, r.fromMs - (r.fromMs % DAY_MS), r.toMs, ...u.params, limit);
    },
    commands(guildId: string, r: Range, limit: number) {
      const u = union(guildId, r, `${COMMAND_NAME_SQL} AS name`, "kind = 'command'");
      return db
        .prepare(
          `SELECT name, COUNT(*) AS count FROM (${u.sql}) GROUP BY name ORDER BY count DESC, name LIMIT ?`,
        )
        .all(...u.params, limit);
    },
    /** Per joined member: joined, whether a message followed in [joined, scanTo), last active day. */
    retentionRows(guildId: string, r: Range, nowMs: number) {
      const scanTo = Math.min(nowMs + 1, r.toMs + 31 * DAY_MS);
      const joins = union(guildId, r, 'user_id, ts', "kind = 'member_join' AND user_id IS NOT NULL");
      const msgs = union(
        guildId,
        { fromMs: r.fromMs, toMs: scanTo },
        'user_id, ts',
        "kind = 'message' AND user_id IS NOT NULL",
      );
      return db
        .prepare(
          `WITH j AS (SELECT user_id, MIN(ts) AS joined FROM (${joins.sql}) GROUP BY user_id),
                f AS (SELECT e.user_id, MIN(e.ts) AS first_msg FROM (${msgs.sql}) e JOIN j ON j.user_id = e.user_id
                      WHERE e.ts >= j.joined GROUP BY e.user_id)
           SELECT j.joined, f.first_msg IS NOT NULL AS messaged,
             (SELECT MAX(day_ms) FROM active_users_daily a WHERE a.guild_id = ? AND a.user_id = j.user_id) AS lastActive
           FROM j LEFT JOIN f ON f.user_id = j.user_id`,
        )
        .all(...joins.params, ...msgs.params, guildId) as {
        joined: number;
        messaged: number;
        lastActive: number | null;
      }[];
    },
  };
}

/** Cohort counts from per-member rows, as AnalyticsQueries.retention computes them. */
export function cohortsFromRows(
  rows: readonly { joined: number; messaged: number | boolean; lastActive: number | null }[],
  r: Range,
  step: number,
  nowMs: number,
) {
  const out = new Map<number, number[]>();
  for (let t = r.fromMs; t < r.toMs; t += step) out.set(t, [0, 0, 0, 0, 0, 0]);
  for (const row of rows) {
    const c = out.get(r.fromMs + Math.floor((row.joined - r.fromMs) / step) * step)!;
    c[0]!++;
    if (row.messaged) c[1]!++;
    const joinDay = row.joined - (row.joined % DAY_MS);
    for (const [k, days] of [
      [2, 7],
      [4, 30],
    ] as const) {
      if (joinDay + days * DAY_MS > nowMs) continue;
      c[k]!++;
      if (row.lastActive !== null && row.lastActive >= joinDay + days * DAY_MS) c[k + 1]!++;
    }
  }
  return [...out.values()];
}

/** A retention answer as the rows {@link cohortsFromRows} yields, for comparing the two. */
export function cohortCounts(
  cohorts: readonly {
    joined: number;
    sentFirstMessage: number;
    eligible7d: number;
    activeAfter7d: number;
    eligible30d: number;
    activeAfter30d: number;
  }[],
): number[][] {
  return cohorts.map((c) => [
    c.joined,
    c.sentFirstMessage,
    c.eligible7d,
    c.activeAfter7d,
    c.eligible30d,
    c.activeAfter30d,
  ]);
}
