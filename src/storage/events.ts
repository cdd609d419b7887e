import type BetterSqlite3 from 'better-sqlite3';
import { z } from 'zod';
import { EVENT_ID_PATTERN, eventTime } from './event-id.js';
import { EVENT_KINDS, type EventKind, PASSIVE_KINDS } from './event-kinds.js';
import { DAY_MS, HOUR_MS, monthBounds, monthKey, monthsBetween, partitionTable } from './partitions.js';

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

/** The dimensions a rollup query can group by. */
export const ROLLUP_DIMENSIONS = ['bucket_ms', 'channel_id', 'kind'] as const;
export type RollupDimension = (typeof ROLLUP_DIMENSIONS)[number];

/** One rollup cell: guild, bucket start, channel ('' when none), kind. */
export interface RollupRow {
  bucket_ms: number;
  channel_id: string;
  kind: EventKind;
}

/** Which rollup cells to read: a guild, a `[fromMs, toMs)` range of bucket starts, hour or day buckets. */
export interface RollupQuery {
  guildId: string;
  fromMs: number;
  toMs: number;
  bucket: 'hour' | 'day';
  kinds?: readonly EventKind[];
  channelId?: string;
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
  /**
   * Fold rollup deltas into the rollup tables (inside the ingest transaction) once this many delta rows
   * are pending. The writer also calls {@link EventStore.compact} on a timer. Default 50,000.
   */
  compactThreshold?: number;
}

/** The DDL of one month partition; the benchmark's raw baseline uses the very same table shape. */
export function partitionDdl(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
      id TEXT PRIMARY KEY, ts INTEGER NOT NULL, guild_id TEXT NOT NULL, channel_id TEXT, user_id TEXT,
      kind TEXT NOT NULL, attrs TEXT, batch INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${table}_guild_ts ON ${table} (guild_id, ts);`;
}

const SEP = '\u0001';

/** One rollup cell (guild, channel, kind) and its counts per hour and per day index. */
interface Cell {
  readonly guild: string;
  readonly channel: string;
  readonly kind: string;
  readonly hours: Map<number, number>;
  readonly days: Map<number, number>;
}

/**
 * Rollup deltas, shaped for a cheap hot path: one short key per (guild, channel, kind) cell with integer
 * hour/day indexes inside, and guild → day index → users for daily active users. `size` counts entries.
 */
interface Deltas {
  readonly cells: Map<string, Cell>;
  readonly active: Map<string, Map<number, Set<string>>>;
  size: number;
}

function emptyDeltas(): Deltas {
  return { cells: new Map(), active: new Map(), size: 0 };
}

function bump(m: Map<number, number>, k: number, n: number): boolean {
  const v = m.get(k);
  m.set(k, (v ?? 0) + n);
  return v === undefined;
}

function cellOf(d: Deltas, guild: string, channel: string, kind: string): Cell {
  const key = guild + SEP + channel + SEP + kind;
  let cell = d.cells.get(key);
  if (!cell) {
    cell = { guild, channel, kind, hours: new Map(), days: new Map() };
    d.cells.set(key, cell);
  }
  return cell;
}

function addActive(d: Deltas, guild: string, day: number, user: string): void {
  let byDay = d.active.get(guild);
  if (!byDay) d.active.set(guild, (byDay = new Map()));
  let users = byDay.get(day);
  if (!users) byDay.set(day, (users = new Set()));
  if (!users.has(user)) {
    users.add(user);
    d.size++;
  }
}

function mergeDeltas(into: Deltas, from: Deltas): void {
  for (const c of from.cells.values()) {
    const cell = cellOf(into, c.guild, c.channel, c.kind);
    for (const [h, n] of c.hours) if (bump(cell.hours, h, n)) into.size++;
    for (const [day, n] of c.days) if (bump(cell.days, day, n)) into.size++;
  }
  for (const [guild, byDay] of from.active) {
    for (const [day, users] of byDay) for (const u of users) addActive(into, guild, day, u);
  }
}

function addToDeltas(
  d: Deltas,
  guildId: string,
  ts: number,
  channelId: string | null,
  userId: string | null,
  kind: EventKind,
): void {
  const cell = cellOf(d, guildId, channelId ?? '', kind);
  const day = Math.floor(ts / DAY_MS);
  if (bump(cell.hours, Math.floor(ts / HOUR_MS), 1)) d.size++;
  if (bump(cell.days, day, 1)) d.size++;
  if (userId !== null && !PASSIVE_KINDS.has(kind)) addActive(d, guildId, day, userId);
}

/**
 * Activity events in month partitions (`events_YYYY_MM`, created on demand and listed in
 * `event_partitions`), with hourly/daily rollups and daily active users kept in the same transaction.
 * SQLite has no native partitioning; this class is it. Only the api role (the single writer) uses it.
 *
 * Rollups are maintained in two atomic steps so that a batch costs one extra row, not one upsert per
 * rollup cell: each ingest transaction stamps its events with a batch id, writes ONE `rollup_journal` row
 * for the batch, and (after commit) merges the batch's aggregated deltas into an in-memory pending
 * aggregate; {@link compact} upserts that aggregate into `rollup_hourly`, `rollup_daily` and
 * `active_users_daily` and empties the journal, in one transaction. Rollup cells repeat across batches (a
 * busy channel in one hour), so folding many batches at once writes far fewer rows. A crash between the
 * two steps loses nothing: at start the pending aggregate is rebuilt from the events of the journalled
 * batches. Every read helper compacts first, so readers always see rollups equal to the stored events.
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
  private readonly compactThreshold: number;
  private readonly stmt: {
    registerPartition: BetterSqlite3.Statement;
    journal: BetterSqlite3.Statement;
    maxBatch: BetterSqlite3.Statement;
    hourly: MultiRowWriter;
    daily: MultiRowWriter;
    active: MultiRowWriter;
    clearJournal: BetterSqlite3.Statement;
  };
  /** The merged deltas of every journal row not folded yet (mirrors `rollup_journal`). */
  private pending = emptyDeltas();
  private pendingBatches = 0;
  private nextBatch: number;
  private readonly ingestTx: (batch: readonly unknown[]) => IngestResult;
  private readonly compactTx: () => number;

  constructor(
    private readonly sqlite: BetterSqlite3.Database,
    opts: EventStoreOptions = {},
  ) {
    this.rollups = opts.rollups ?? true;
    this.now = opts.now ?? Date.now;
    this.compactThreshold = opts.compactThreshold ?? 50_000;
    for (const row of sqlite.prepare('SELECT month FROM event_partitions').all() as { month: string }[]) {
      this.known.add(row.month);
    }
    const upsert = (table: string) =>
      new MultiRowWriter(
        sqlite,
        `INSERT INTO ${table} (guild_id, bucket_ms, channel_id, kind, count) VALUES`,
        5,
        ' ON CONFLICT (guild_id, bucket_ms, channel_id, kind) DO UPDATE SET count = count + excluded.count',
      );
    this.stmt = {
      registerPartition: sqlite.prepare(
        'INSERT OR IGNORE INTO event_partitions (month, table_name, start_ms, end_ms, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      journal: sqlite.prepare('INSERT INTO rollup_journal (id, created_at, months) VALUES (?, ?, ?)'),
      maxBatch: sqlite.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM rollup_journal'),
      hourly: upsert('rollup_hourly'),
      daily: upsert('rollup_daily'),
      active: new MultiRowWriter(
        sqlite,
        'INSERT OR IGNORE INTO active_users_daily (guild_id, day_ms, user_id) VALUES',
        3,
        '',
      ),
      clearJournal: sqlite.prepare('DELETE FROM rollup_journal'),
    };
    this.nextBatch = ((this.stmt.maxBatch.get() as { id: number }).id || 0) + 1;
    this.recoverJournal();
    this.compactTx = sqlite.transaction(() => {
      const { hourly, daily, active } = this.stmt;
      for (const c of this.pending.cells.values()) {
        for (const [h, n] of c.hours) hourly.add(c.guild, h * HOUR_MS, c.channel, c.kind, n);
        for (const [day, n] of c.days) daily.add(c.guild, day * DAY_MS, c.channel, c.kind, n);
      }
      hourly.flush();
      daily.flush();
      for (const [guild, byDay] of this.pending.active) {
        for (const [day, users] of byDay) for (const u of users) active.add(guild, day * DAY_MS, u);
      }
      active.flush();
      this.stmt.clearJournal.run();
      return this.pendingBatches;
    });
    this.ingestTx = sqlite.transaction((batch: readonly unknown[]) => this.ingestRows(batch));
  }

  /**
   * Inserts a batch in one transaction. Rows whose id is already stored (in this batch or an earlier one)
   * are ignored; invalid rows are rejected one by one with a reason while the valid rows still land. Rollups
   * count only newly stored rows.
   */
  ingest(batch: readonly unknown[]): IngestResult {
    this.lastBatchDeltas = undefined;
    const result = this.ingestTx(batch);
    if (this.lastBatchDeltas) {
      mergeDeltas(this.pending, this.lastBatchDeltas);
      this.pendingBatches++;
      this.nextBatch++;
      this.lastBatchDeltas = undefined;
      if (this.pendingCells >= this.compactThreshold) this.compact();
    }
    return result;
  }

  private lastBatchDeltas: Deltas | undefined;

  /** Rebuilds the pending aggregate from the events of batches journalled but not folded (after a crash). */
  private recoverJournal(): void {
    const rows = this.sqlite.prepare('SELECT id, months FROM rollup_journal ORDER BY id').all() as {
      id: number;
      months: string;
    }[];
    if (rows.length === 0) return;
    const byMonth = new Map<string, number[]>();
    for (const r of rows) {
      for (const m of JSON.parse(r.months) as string[]) byMonth.set(m, [...(byMonth.get(m) ?? []), r.id]);
    }
    for (const [month, ids] of byMonth) {
      if (!this.known.has(month)) continue; // dropped by retention since
      const stmt = this.sqlite.prepare(
        `SELECT guild_id, ts, channel_id, user_id, kind FROM ${partitionTable(month)} WHERE batch IN (${ids.map(() => '?').join(',')})`,
      );
      for (const e of stmt.iterate(...ids) as IterableIterator<
        Pick<StoredEvent, 'guild_id' | 'ts' | 'channel_id' | 'user_id' | 'kind'>
      >) {
        addToDeltas(this.pending, e.guild_id, e.ts, e.channel_id, e.user_id, e.kind);
      }
    }
    this.pendingBatches = rows.length;
  }

  private get pendingCells(): number {
    return this.pending.size;
  }

  private ingestRows(batch: readonly unknown[]): IngestResult {
    const rejected: RejectedEvent[] = [];
    const deltas = emptyDeltas();
    const months = new Set<string>();
    const batchId = this.rollups ? this.nextBatch : null;
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
      const month = monthKey(e.ts);
      const changes = this.insertFor(month).run(
        e.id,
        e.ts,
        e.guildId,
        channel,
        user,
        e.kind,
        e.attrs === undefined ? null : JSON.stringify(e.attrs),
        batchId,
      ).changes;
      if (changes === 0) {
        duplicates++;
        continue;
      }
      inserted++;
      if (!this.rollups) continue;
      months.add(month);
      addToDeltas(deltas, e.guildId, e.ts, channel, user, e.kind);
    }
    if (batchId !== null && inserted > 0) {
      this.stmt.journal.run(batchId, this.now(), JSON.stringify([...months]));
      // The in-memory aggregate and batch counter change only once the transaction commits (see ingest()).
      this.lastBatchDeltas = deltas;
    }
    return { inserted, duplicates, rejected };
  }

  private insertFor(month: string): BetterSqlite3.Statement {
    let stmt = this.inserts.get(month);
    if (!stmt) {
      this.ensurePartition(month);
      stmt = this.sqlite.prepare(
        `INSERT OR IGNORE INTO ${partitionTable(month)} (id, ts, guild_id, channel_id, user_id, kind, attrs, batch) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      this.inserts.set(month, stmt);
    }
    return stmt;
  }

  /**
   * Folds the pending rollup deltas into `rollup_hourly`, `rollup_daily` and `active_users_daily` and empties
   * the journal, in one transaction; returns how many ingested batches were folded. The writer calls it on
   * a timer; ingest calls it past `compactThreshold` pending cells; every read helper calls it first.
   */
  compact(): number {
    if (this.pendingBatches === 0) return 0;
    const folded = this.compactTx();
    this.pending = emptyDeltas();
    this.pendingBatches = 0;
    return folded;
  }

  /** Ingested batches whose rollup deltas are not folded yet (a metric for the writer). */
  get pendingRollupBatches(): number {
    return this.pendingBatches;
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

  /**
   * Counts from the rollups (never the raw events, pending deltas included), summed over the dimensions not
   * named in `groupBy`. Rows come ordered by the grouped columns.
   *
   * @example
   * // messages per channel over 30 days, busiest first:
   * events.rollup({ guildId, fromMs, toMs, bucket: 'day', kinds: ['message'], groupBy: ['channel_id'] })
   *   .sort((a, b) => b.count - a.count);
   */
  rollup<G extends RollupDimension = 'bucket_ms'>(
    q: RollupQuery & { groupBy?: readonly G[] },
  ): (Pick<RollupRow, G> & { count: number })[] {
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
    this.compact();
    const dims = [...new Set(q.groupBy ?? (['bucket_ms'] as G[]))];
    for (const d of dims)
      if (!ROLLUP_DIMENSIONS.includes(d)) throw new RangeError(`unknown rollup dimension ${d}`);
    const cols = dims.map((d) => `${d}, `).join('');
    const group = dims.length > 0 ? ` GROUP BY ${dims.join(', ')} ORDER BY ${dims.join(', ')}` : '';
    return this.sqlite
      .prepare(`SELECT ${cols}SUM(count) AS count FROM ${table} WHERE ${where}${group}`)
      .all(...params) as (Pick<RollupRow, G> & { count: number })[];
  }

  /** Counts per hour or day bucket from the rollups (never the raw events). */
  series(q: RollupQuery): RollupPoint[] {
    return this.rollup({ ...q, groupBy: ['bucket_ms'] });
  }

  /** Distinct active users per UTC day for a guild. */
  activeUsers(q: { guildId: string; fromMs: number; toMs: number }): { day_ms: number; users: number }[] {
    this.compact();
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
    this.compact(); // fold journalled batches first: their events are about to disappear
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

/**
 * Writes many rows with one multi-row `INSERT … VALUES (…), (…), …` statement per chunk instead of one
 * statement per row: the per-statement cost dominates small rollup upserts.
 */
class MultiRowWriter {
  private static readonly CHUNK = 64;
  private readonly full: BetterSqlite3.Statement;
  private readonly partial = new Map<number, BetterSqlite3.Statement>();
  private params: unknown[] = [];

  constructor(
    private readonly sqlite: BetterSqlite3.Database,
    private readonly head: string,
    private readonly width: number,
    private readonly tail: string,
  ) {
    this.full = this.prepare(MultiRowWriter.CHUNK);
  }

  add(...values: unknown[]): void {
    for (const v of values) this.params.push(v);
    if (this.params.length === MultiRowWriter.CHUNK * this.width) {
      this.full.run(this.params);
      this.params = [];
    }
  }

  flush(): void {
    const rows = this.params.length / this.width;
    if (rows === 0) return;
    let stmt = this.partial.get(rows);
    if (!stmt) {
      stmt = this.prepare(rows);
      this.partial.set(rows, stmt);
    }
    stmt.run(this.params);
    this.params = [];
  }

  private prepare(rows: number): BetterSqlite3.Statement {
    const tuple = `(${Array.from({ length: this.width }, () => '?').join(', ')})`;
    return this.sqlite.prepare(
      `${this.head} ${Array.from({ length: rows }, () => tuple).join(', ')}${this.tail}`,
    );
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
