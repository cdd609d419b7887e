import type BetterSqlite3 from 'better-sqlite3';
import { z } from 'zod';
import { EVENT_ID_PATTERN, eventTime } from './event-id.js';
import { EVENT_KINDS, type EventKind, PASSIVE_KINDS } from './event-kinds.js';
import { dayStart, hourStart, monthBounds, monthKey, monthsBetween, partitionTable } from './partitions.js';

const snowflake = z.string().regex(/^\d{1,20}$/, 'a Discord snowflake (digits)');

/**
 * One activity event as shards produce it and the writer ingests it. `id` encodes `ts` (see `eventId`), and
 * the two must agree.
 */
export const activityEventSchema = z
  .object({
    id: z.string().regex(EVENT_ID_PATTERN, 'a 26-character event id (see eventId)'),
    ts: z.number().int().nonnegative(),
    guildId: snowflake,
    channelId: snowflake.nullable().optional(),
    userId: snowflake.nullable().optional(),
    kind: z.enum(EVENT_KINDS),
    attrs: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** An activity event (see {@link activityEventSchema}). */
export type ActivityEvent = z.infer<typeof activityEventSchema>;

/** A row of a batch that was refused, and why; the rest of the batch still lands. */
export interface RejectedEvent {
  readonly index: number;
  readonly id?: string;
  readonly reason: string;
}

/** What {@link EventStore.ingest} did with a batch. */
export interface IngestResult {
  /** Rows newly stored (duplicates of stored ids are not counted). */
  readonly inserted: number;
  readonly duplicates: number;
  readonly rejected: readonly RejectedEvent[];
}

/** A stored event as queries return it. */
export interface StoredEvent {
  id: string;
  ts: number;
  guild_id: string;
  channel_id: string | null;
  user_id: string | null;
  kind: EventKind;
  attrs: string | null;
}

/** A time series bucket from the rollups. */
export interface RollupPoint {
  bucket_ms: number;
  count: number;
}

/** Options of {@link EventStore}. */
export interface EventStoreOptions {
  /** Maintain rollups at ingest (default true; only a benchmark turns it off). */
  rollups?: boolean;
  /** Wall clock, for partition bookkeeping and retention. */
  now?: () => number;
}

/** The DDL of one month partition; the benchmark's raw baseline uses the very same table shape. */
export function partitionDdl(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
      id TEXT PRIMARY KEY, ts INTEGER NOT NULL, guild_id TEXT NOT NULL, channel_id TEXT, user_id TEXT,
      kind TEXT NOT NULL, attrs TEXT
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${table}_guild_ts ON ${table} (guild_id, ts);`;
}

const SEP = '\u0001';

/**
 * Activity events in month partitions (`events_YYYY_MM`, created on demand and listed in
 * `event_partitions`), with hourly/daily rollups and daily active users kept in the same transaction.
 * SQLite has no native partitioning; this class is it. Only the api role (the single writer) uses it.
 *
 * @example
 * const events = new EventStore(sqlite);
 * const { inserted } = events.ingest([{ id: eventId(ts, 'message:1'), ts, guildId, channelId, userId, kind: 'message' }]);
 * const rows = events.query({ guildId, fromMs, toMs });
 */
export class EventStore {
  private readonly known = new Set<string>();
  private readonly inserts = new Map<string, BetterSqlite3.Statement>();
  private readonly rollups: boolean;
  private readonly now: () => number;
  private readonly stmt: {
    registerPartition: BetterSqlite3.Statement;
    hourly: BetterSqlite3.Statement;
    daily: BetterSqlite3.Statement;
    active: BetterSqlite3.Statement;
  };
  private readonly ingestTx: (batch: readonly unknown[]) => IngestResult;

  constructor(
    private readonly sqlite: BetterSqlite3.Database,
    opts: EventStoreOptions = {},
  ) {
    this.rollups = opts.rollups ?? true;
    this.now = opts.now ?? Date.now;
    for (const row of sqlite.prepare('SELECT month FROM event_partitions').all() as { month: string }[]) {
      this.known.add(row.month);
    }
    const upsert = (table: string) =>
      sqlite.prepare(
        `INSERT INTO ${table} (guild_id, bucket_ms, channel_id, kind, count) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (guild_id, bucket_ms, channel_id, kind) DO UPDATE SET count = count + excluded.count`,
      );
    this.stmt = {
      registerPartition: sqlite.prepare(
        'INSERT OR IGNORE INTO event_partitions (month, table_name, start_ms, end_ms, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      hourly: upsert('rollup_hourly'),
      daily: upsert('rollup_daily'),
      active: sqlite.prepare(
        'INSERT OR IGNORE INTO active_users_daily (guild_id, day_ms, user_id) VALUES (?, ?, ?)',
      ),
    };
    this.ingestTx = sqlite.transaction((batch: readonly unknown[]) => this.ingestRows(batch));
  }

  /**
   * Inserts a batch in one transaction. Rows whose id is already stored (in this batch or an earlier one)
   * are ignored; invalid rows are rejected one by one with a reason while the valid rows still land. Rollups
   * count only newly stored rows.
   */
  ingest(batch: readonly unknown[]): IngestResult {
    return this.ingestTx(batch);
  }

  private ingestRows(batch: readonly unknown[]): IngestResult {
    const rejected: RejectedEvent[] = [];
    const hourly = new Map<string, number>();
    const daily = new Map<string, number>();
    const active = new Set<string>();
    let inserted = 0;
    let duplicates = 0;
    for (let i = 0; i < batch.length; i++) {
      const raw = batch[i];
      const parsed = activityEventSchema.safeParse(raw);
      if (!parsed.success) {
        rejected.push({ index: i, id: idOf(raw), reason: describeIssues(parsed.error) });
        continue;
      }
      const e = parsed.data;
      const idTs = eventTime(e.id);
      if (idTs !== e.ts) {
        rejected.push({
          index: i,
          id: e.id,
          reason: `ts ${e.ts} does not match the timestamp the id encodes (${idTs})`,
        });
        continue;
      }
      const channel = e.channelId ?? null;
      const user = e.userId ?? null;
      const changes = this.insertFor(monthKey(e.ts)).run(
        e.id,
        e.ts,
        e.guildId,
        channel,
        user,
        e.kind,
        e.attrs === undefined ? null : JSON.stringify(e.attrs),
      ).changes;
      if (changes === 0) {
        duplicates++;
        continue;
      }
      inserted++;
      if (!this.rollups) continue;
      const tail = SEP + (channel ?? '') + SEP + e.kind;
      const hk = e.guildId + SEP + hourStart(e.ts) + tail;
      hourly.set(hk, (hourly.get(hk) ?? 0) + 1);
      const day = dayStart(e.ts);
      const dk = e.guildId + SEP + day + tail;
      daily.set(dk, (daily.get(dk) ?? 0) + 1);
      if (user !== null && !PASSIVE_KINDS.has(e.kind)) active.add(e.guildId + SEP + day + SEP + user);
    }
    if (this.rollups) {
      flushCounts(hourly, this.stmt.hourly);
      flushCounts(daily, this.stmt.daily);
      for (const key of active) {
        const [guild, day, user] = key.split(SEP);
        this.stmt.active.run(guild, Number(day), user);
      }
    }
    return { inserted, duplicates, rejected };
  }

  private insertFor(month: string): BetterSqlite3.Statement {
    let stmt = this.inserts.get(month);
    if (!stmt) {
      this.ensurePartition(month);
      stmt = this.sqlite.prepare(
        `INSERT OR IGNORE INTO ${partitionTable(month)} (id, ts, guild_id, channel_id, user_id, kind, attrs) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      );
      this.inserts.set(month, stmt);
    }
    return stmt;
  }

  /** Creates the month's table (and registers it) if it does not exist yet. Idempotent. */
  ensurePartition(month: string): void {
    if (this.known.has(month)) return;
    const table = partitionTable(month);
    const { startMs, endMs } = monthBounds(month);
    this.sqlite.exec(partitionDdl(table));
    this.stmt.registerPartition.run(month, table, startMs, endMs, this.now());
    this.known.add(month);
  }

  /** Registered partitions, oldest first. */
  partitions(): { month: string; table: string; startMs: number; endMs: number }[] {
    return (
      this.sqlite
        .prepare('SELECT month, table_name, start_ms, end_ms FROM event_partitions ORDER BY month')
        .all() as {
        month: string;
        table_name: string;
        start_ms: number;
        end_ms: number;
      }[]
    ).map((r) => ({ month: r.month, table: r.table_name, startMs: r.start_ms, endMs: r.end_ms }));
  }

  /** The partition tables a `[fromMs, toMs)` range touches: only existing months that overlap it. */
  tablesForRange(fromMs: number, toMs: number): string[] {
    if (toMs <= fromMs) return [];
    return monthsBetween(fromMs, toMs - 1)
      .filter((m) => this.known.has(m))
      .map(partitionTable);
  }

  /**
   * Raw events of a guild in `[fromMs, toMs)`, oldest first, reading only the months in range.
   * For dashboards use the rollups; this is for exports, audits and tests.
   */
  query(q: {
    guildId: string;
    fromMs: number;
    toMs: number;
    kinds?: readonly EventKind[];
    limit?: number;
  }): StoredEvent[] {
    const tables = this.tablesForRange(q.fromMs, q.toMs);
    if (tables.length === 0) return [];
    const kindFilter =
      q.kinds && q.kinds.length > 0 ? ` AND kind IN (${q.kinds.map(() => '?').join(',')})` : '';
    const parts = tables.map(
      (t) =>
        `SELECT id, ts, guild_id, channel_id, user_id, kind, attrs FROM ${t} WHERE guild_id = ? AND ts >= ? AND ts < ?${kindFilter}`,
    );
    const params: unknown[] = [];
    for (let i = 0; i < tables.length; i++) params.push(q.guildId, q.fromMs, q.toMs, ...(q.kinds ?? []));
    const limit = q.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.trunc(q.limit))}`;
    return this.sqlite
      .prepare(`${parts.join(' UNION ALL ')} ORDER BY ts, id${limit}`)
      .all(...params) as StoredEvent[];
  }

  /**
   * Streams a guild's events in `[fromMs, toMs)` month by month (constant memory), for exports.
   */
  *iterate(q: { guildId: string; fromMs: number; toMs: number }): IterableIterator<StoredEvent> {
    for (const table of this.tablesForRange(q.fromMs, q.toMs)) {
      const stmt = this.sqlite.prepare(
        `SELECT id, ts, guild_id, channel_id, user_id, kind, attrs FROM ${table} WHERE guild_id = ? AND ts >= ? AND ts < ? ORDER BY ts, id`,
      );
      yield* stmt.iterate(q.guildId, q.fromMs, q.toMs) as IterableIterator<StoredEvent>;
    }
  }

  /** Counts per hour or day bucket from the rollups (never the raw events). */
  series(q: {
    guildId: string;
    fromMs: number;
    toMs: number;
    bucket: 'hour' | 'day';
    kinds?: readonly EventKind[];
    channelId?: string;
  }): RollupPoint[] {
    const table = q.bucket === 'hour' ? 'rollup_hourly' : 'rollup_daily';
    const params: unknown[] = [q.guildId, q.fromMs, q.toMs];
    let where = 'guild_id = ? AND bucket_ms >= ? AND bucket_ms < ?';
    if (q.kinds && q.kinds.length > 0) {
      where += ` AND kind IN (${q.kinds.map(() => '?').join(',')})`;
      params.push(...q.kinds);
    }
    if (q.channelId !== undefined) {
      where += ' AND channel_id = ?';
      params.push(q.channelId);
    }
    return this.sqlite
      .prepare(
        `SELECT bucket_ms, SUM(count) AS count FROM ${table} WHERE ${where} GROUP BY bucket_ms ORDER BY bucket_ms`,
      )
      .all(...params) as RollupPoint[];
  }

  /** Distinct active users per UTC day for a guild. */
  activeUsers(q: { guildId: string; fromMs: number; toMs: number }): { day_ms: number; users: number }[] {
    return this.sqlite
      .prepare(
        'SELECT day_ms, COUNT(*) AS users FROM active_users_daily WHERE guild_id = ? AND day_ms >= ? AND day_ms < ? GROUP BY day_ms ORDER BY day_ms',
      )
      .all(q.guildId, q.fromMs, q.toMs) as { day_ms: number; users: number }[];
  }

  /**
   * Drops whole month partitions older than `keepMonths` (the current month counts as one): one
   * `DROP TABLE` per expired month. Rollups stay. Returns the dropped months.
   */
  dropExpired(keepMonths: number, nowMs: number = this.now()): string[] {
    if (!Number.isInteger(keepMonths) || keepMonths < 1)
      throw new RangeError('keepMonths must be a positive integer');
    const d = new Date(nowMs);
    const cutoff = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - (keepMonths - 1), 1);
    const dropped: string[] = [];
    for (const p of this.partitions()) {
      if (p.endMs > cutoff) continue;
      this.sqlite.transaction(() => {
        this.sqlite.exec(`DROP TABLE IF EXISTS ${p.table}`);
        this.sqlite.prepare('DELETE FROM event_partitions WHERE month = ?').run(p.month);
      })();
      this.known.delete(p.month);
      this.inserts.delete(p.month);
      dropped.push(p.month);
    }
    return dropped;
  }
}

function flushCounts(counts: Map<string, number>, stmt: BetterSqlite3.Statement): void {
  for (const [key, n] of counts) {
    const [guild, bucket, channel, kind] = key.split(SEP);
    stmt.run(guild, Number(bucket), channel, kind, n);
  }
}

function idOf(raw: unknown): string | undefined {
  if (raw && typeof raw === 'object' && 'id' in raw && typeof (raw as { id: unknown }).id === 'string') {
    return (raw as { id: string }).id;
  }
  return undefined;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(row)'}: ${i.message}`)
    .join('; ');
}
