import type BetterSqlite3 from 'better-sqlite3';
import { z } from 'zod';
import { isWellFormedEvent } from './event-check.js';
import { EVENT_ID_PATTERN, eventTime } from './event-id.js';
import { EVENT_KINDS, type EventKind, PASSIVE_KINDS } from './event-kinds.js';
import {
  DAY_MS,
  HOUR_MS,
  monthBounds,
  monthKey,
  monthsBetween,
  partitionTable,
  splitDays,
} from './partitions.js';

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

/**
 * Counts per integer key (hour or day index) where consecutive events nearly always share the key: the
 * latest key has a slot of its own and only the others sit in a map.
 */
class KeyCounts {
  private key: number;
  private n = 1;
  private rest: Map<number, number> | undefined;

  /** Starts with one count for `key`. */
  constructor(key: number) {
    this.key = key;
  }

  /** Adds one to `key`; true when it had no count yet. */
  add(key: number): boolean {
    if (key === this.key) {
      this.n++;
      return false;
    }
    const rest = (this.rest ??= new Map());
    rest.set(this.key, this.n);
    const had = rest.get(key);
    if (had !== undefined) rest.delete(key);
    this.key = key;
    this.n = (had ?? 0) + 1;
    return had === undefined;
  }

  forEach(fn: (key: number, n: number) => void): void {
    fn(this.key, this.n);
    this.rest?.forEach((n, key) => fn(key, n));
  }
}

/** One rollup cell (guild, channel, kind) and its counts per hour and per day index. */
interface Cell {
  readonly channel: string;
  readonly kind: string;
  readonly hours: KeyCounts;
  readonly days: KeyCounts;
}

/**
 * What one user did on one UTC day in one guild: whether anything made them active, how many messages
 * they sent, their first join and their last message (ms; -1 when none). Feeds `active_users_daily` and
 * `member_daily`.
 */
interface UserDay {
  active: boolean;
  messages: number;
  firstJoin: number;
  lastMessage: number;
}

/**
 * A guild's rollup cells (channel → kind → cell), what each user did per day index (day → user → day
 * record), and command uses per day index (day → command name → count).
 */
interface GuildDeltas {
  readonly cells: Map<string, Map<string, Cell>>;
  readonly users: Map<number, Map<string, UserDay>>;
  readonly commands: Map<number, Map<string, number>>;
}

/**
 * Rollup deltas, shaped for a cheap hot path: guild → channel → kind cells (nested maps, no composite
 * string keys to build per event) with integer hour/day indexes inside, guild → day index → user records,
 * and guild → day index → command counts. `size` counts entries (hour and day counts, user days, command
 * cells).
 */
interface Deltas {
  readonly guilds: Map<string, GuildDeltas>;
  size: number;
}

function emptyDeltas(): Deltas {
  return { guilds: new Map(), size: 0 };
}

function addToDeltas(
  d: Deltas,
  guildId: string,
  ts: number,
  channelId: string | null,
  userId: string | null,
  kind: EventKind,
  attrs: Readonly<Record<string, unknown>> | undefined,
): void {
  let g = d.guilds.get(guildId);
  if (!g) d.guilds.set(guildId, (g = { cells: new Map(), users: new Map(), commands: new Map() }));
  const channel = channelId ?? '';
  let byKind = g.cells.get(channel);
  if (!byKind) g.cells.set(channel, (byKind = new Map()));
  const hour = Math.floor(ts / HOUR_MS);
  const day = Math.floor(ts / DAY_MS);
  const cell = byKind.get(kind);
  if (!cell) {
    byKind.set(kind, { channel, kind, hours: new KeyCounts(hour), days: new KeyCounts(day) });
    d.size += 2;
  } else {
    if (cell.hours.add(hour)) d.size++;
    if (cell.days.add(day)) d.size++;
  }
  if (kind === 'command') {
    let names = g.commands.get(day);
    if (!names) g.commands.set(day, (names = new Map()));
    const name = commandName(attrs);
    const n = names.get(name);
    names.set(name, (n ?? 0) + 1);
    if (n === undefined) d.size++;
  }
  if (userId === null) return;
  const isMessage = kind === 'message';
  const isJoin = kind === 'member_join';
  const active = !PASSIVE_KINDS.has(kind);
  if (!active && !isJoin) return;
  let users = g.users.get(day);
  if (!users) g.users.set(day, (users = new Map()));
  let u = users.get(userId);
  if (!u) {
    users.set(userId, (u = { active: false, messages: 0, firstJoin: -1, lastMessage: -1 }));
    d.size++;
  }
  if (active) u.active = true;
  if (isMessage) {
    u.messages++;
    if (ts > u.lastMessage) u.lastMessage = ts;
  } else if (isJoin && (u.firstJoin < 0 || ts < u.firstJoin)) u.firstJoin = ts;
}

/**
 * The command a `command` event counts for: `attrs.name` if it is a string (what shards record), else
 * `attrs.command` if that is, else `(unknown)`. {@link COMMAND_NAME_SQL} is the same rule in SQL.
 */
export function commandName(attrs: Readonly<Record<string, unknown>> | undefined): string {
  if (typeof attrs?.name === 'string') return attrs.name;
  if (typeof attrs?.command === 'string') return attrs.command;
  return UNKNOWN_COMMAND;
}

const UNKNOWN_COMMAND = '(unknown)';

/** {@link commandName} as an SQL expression over a partition's `attrs` column (JSON text or NULL). */
export const COMMAND_NAME_SQL = `CASE WHEN json_valid(attrs) THEN CASE
    WHEN json_type(attrs, '$.name') = 'text' THEN json_extract(attrs, '$.name')
    WHEN json_type(attrs, '$.command') = 'text' THEN json_extract(attrs, '$.command')
    ELSE '${UNKNOWN_COMMAND}' END ELSE '${UNKNOWN_COMMAND}' END`;

/** Parses a stored `attrs` column for {@link addToDeltas} (only command events need it). */
function storedAttrs(kind: string, attrs: string | null): Record<string, unknown> | undefined {
  if (kind !== 'command' || attrs === null) return undefined;
  try {
    const v: unknown = JSON.parse(attrs);
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fills `member_daily` and `command_daily` from the stored events (migration 3): one grouped pass per
 * month partition. Events of batches still in the rollup journal are left out — the event store folds
 * those in when it recovers the journal, as it does for every other rollup.
 */
export function backfillMemberRollups(sqlite: BetterSqlite3.Database): void {
  const tables = sqlite
    .prepare('SELECT table_name FROM event_partitions ORDER BY month')
    .pluck()
    .all() as string[];
  const folded = 'batch IS NOT NULL AND batch NOT IN (SELECT id FROM rollup_journal)';
  for (const t of tables) {
    sqlite.exec(`
      INSERT INTO member_daily (guild_id, day_ms, user_id, messages, first_join_ms, last_message_ms)
        SELECT guild_id, ts - ts % ${DAY_MS}, user_id, SUM(kind = 'message'),
          MIN(CASE WHEN kind = 'member_join' THEN ts END), MAX(CASE WHEN kind = 'message' THEN ts END)
        FROM ${t} WHERE user_id IS NOT NULL AND kind IN ('message', 'member_join') AND ${folded}
        GROUP BY 1, 2, 3;
      INSERT INTO command_daily (guild_id, day_ms, name, count)
        SELECT guild_id, ts - ts % ${DAY_MS}, ${COMMAND_NAME_SQL}, COUNT(*)
        FROM ${t} WHERE kind = 'command' AND ${folded}
        GROUP BY 1, 2, 3;`);
  }
}

/**
 * Activity events in month partitions (`events_YYYY_MM`, created on demand and listed in
 * `event_partitions`), with rollups kept in step: hourly/daily counts per channel and kind, daily active
 * users, per-member daily activity (`member_daily`: messages, first join, last message) and daily command
 * uses (`command_daily`) — the last two answer top members, command usage and retention cohorts without
 * scanning raw events. SQLite has no native partitioning; this class is it. Only the api role (the single writer) uses it.
 *
 * Rollups are maintained in two atomic steps so that a batch costs one extra row, not one upsert per
 * rollup cell: each ingest transaction stamps its events with a batch id, writes ONE `rollup_journal` row
 * for the batch, and (after commit) adds the batch's newly stored events to an in-memory pending
 * aggregate; {@link compact} upserts that aggregate into the rollup tables and empties the journal, in one transaction. Rollup cells repeat across batches (a
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
  private readonly inserts = new Map<string, PartitionInserts>();
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
    members: MultiRowWriter;
    commands: MultiRowWriter;
    clearJournal: BetterSqlite3.Statement;
  };
  /** The merged deltas of every journal row not folded yet (mirrors `rollup_journal`). */
  private pending = emptyDeltas();
  private pendingBatches = 0;
  private nextBatch: number;
  private readonly ingestTx: (batch: readonly unknown[]) => { result: IngestResult; stored: ActivityEvent[] };
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
      members: new MultiRowWriter(
        sqlite,
        'INSERT INTO member_daily (guild_id, day_ms, user_id, messages, first_join_ms, last_message_ms) VALUES',
        6,
        // Scalar MIN/MAX are NULL when either side is: COALESCE falls back to whichever side is set.
        ` ON CONFLICT (guild_id, day_ms, user_id) DO UPDATE SET messages = messages + excluded.messages,
            first_join_ms = COALESCE(MIN(first_join_ms, excluded.first_join_ms), first_join_ms, excluded.first_join_ms),
            last_message_ms = COALESCE(MAX(last_message_ms, excluded.last_message_ms), last_message_ms, excluded.last_message_ms)`,
      ),
      commands: new MultiRowWriter(
        sqlite,
        'INSERT INTO command_daily (guild_id, day_ms, name, count) VALUES',
        4,
        ' ON CONFLICT (guild_id, day_ms, name) DO UPDATE SET count = count + excluded.count',
      ),
      clearJournal: sqlite.prepare('DELETE FROM rollup_journal'),
    };
    this.nextBatch = Math.max(((this.stmt.maxBatch.get() as { id: number }).id || 0) + 1, this.batchClock());
    this.recoverJournal();
    this.compactTx = sqlite.transaction(() => {
      const { hourly, daily, active, members, commands } = this.stmt;
      for (const [guild, g] of this.pending.guilds) {
        for (const byKind of g.cells.values()) {
          for (const c of byKind.values()) {
            c.hours.forEach((h, n) => hourly.add(guild, h * HOUR_MS, c.channel, c.kind, n));
            c.days.forEach((day, n) => daily.add(guild, day * DAY_MS, c.channel, c.kind, n));
          }
        }
      }
      hourly.flush();
      daily.flush();
      for (const [guild, g] of this.pending.guilds) {
        for (const [day, users] of g.users) {
          const dayMs = day * DAY_MS;
          for (const [user, u] of users) {
            if (u.active) active.add(guild, dayMs, user);
            if (u.messages > 0 || u.firstJoin >= 0) {
              members.add(
                guild,
                dayMs,
                user,
                u.messages,
                u.firstJoin >= 0 ? u.firstJoin : null,
                u.lastMessage >= 0 ? u.lastMessage : null,
              );
            }
          }
        }
        for (const [day, names] of g.commands) {
          for (const [name, n] of names) commands.add(guild, day * DAY_MS, name, n);
        }
      }
      active.flush();
      members.flush();
      commands.flush();
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
    const { result, stored } = this.ingestTx(batch);
    if (this.rollups && stored.length > 0) {
      // Committed: the batch's journal row exists, so its events join the pending aggregate.
      for (const e of stored) {
        addToDeltas(this.pending, e.guildId, e.ts, e.channelId ?? null, e.userId ?? null, e.kind, e.attrs);
      }
      this.pendingBatches++;
      this.nextBatch = Math.max(this.nextBatch + 1, this.batchClock());
      if (this.pendingCells >= this.compactThreshold) this.compact();
    }
    return result;
  }

  /**
   * The smallest batch id to use now: microseconds of the clock. Batch ids must never repeat, also across
   * restarts: compaction empties the journal, so the journal's largest id alone would start over at 1
   * after a restart, and recovering from a later crash would count again the older, already folded events
   * stamped with the same id. Ids taken from the clock keep increasing across restarts.
   */
  private batchClock(): number {
    return Math.trunc(this.now()) * 1000;
  }

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
        `SELECT guild_id, ts, channel_id, user_id, kind, attrs FROM ${partitionTable(month)} WHERE batch IN (${ids.map(() => '?').join(',')})`,
      );
      for (const e of stmt.iterate(...ids) as IterableIterator<
        Pick<StoredEvent, 'guild_id' | 'ts' | 'channel_id' | 'user_id' | 'kind' | 'attrs'>
      >) {
        const attrs = storedAttrs(e.kind, e.attrs);
        addToDeltas(this.pending, e.guild_id, e.ts, e.channel_id, e.user_id, e.kind, attrs);
      }
    }
    this.pendingBatches = rows.length;
  }

  private get pendingCells(): number {
    return this.pending.size;
  }

  private ingestRows(batch: readonly unknown[]): { result: IngestResult; stored: ActivityEvent[] } {
    const rejected: RejectedEvent[] = [];
    // Valid rows by month, first copy of each id only (a later copy in the same batch is a duplicate).
    const byMonth = new Map<string, ActivityEvent[]>();
    const seen = new Set<string>();
    let duplicates = 0;
    let rows: ActivityEvent[] = [];
    let monthStart = 0;
    let monthEnd = 0;
    for (let i = 0; i < batch.length; i++) {
      const raw = batch[i];
      let e: ActivityEvent;
      if (isWellFormedEvent(raw)) e = raw;
      else {
        const parsed = activityEventSchema.safeParse(raw);
        if (!parsed.success) {
          rejected.push({ index: i, id: idOf(raw), reason: describeIssues(parsed.error) });
          continue;
        }
        e = parsed.data;
      }
      const idTs = eventTime(e.id);
      if (idTs !== e.ts) {
        rejected.push({
          index: i,
          id: e.id,
          reason: `ts ${e.ts} does not match the timestamp the id encodes (${idTs})`,
        });
        continue;
      }
      if (seen.has(e.id)) {
        duplicates++;
        continue;
      }
      seen.add(e.id);
      if (e.ts < monthStart || e.ts >= monthEnd) {
        const month = monthKey(e.ts);
        ({ startMs: monthStart, endMs: monthEnd } = monthBounds(month));
        let r = byMonth.get(month);
        if (!r) byMonth.set(month, (r = []));
        rows = r;
      }
      rows.push(e);
    }
    const months: string[] = [];
    const batchId = this.rollups ? this.nextBatch : null;
    let inserted = 0;
    let stored: ActivityEvent[] = [];
    for (const [month, monthRows] of byMonth) {
      const newRows = this.insertMonth(month, monthRows, batchId);
      duplicates += monthRows.length - newRows.length;
      inserted += newRows.length;
      if (newRows.length === 0) continue;
      months.push(month);
      stored = stored.length === 0 ? newRows : stored.concat(newRows);
    }
    if (batchId !== null && inserted > 0) {
      this.stmt.journal.run(batchId, this.now(), JSON.stringify(months));
    }
    // The in-memory aggregate and batch counter change only once the transaction commits (see ingest()).
    return { result: { inserted, duplicates, rejected }, stored };
  }

  /**
   * Inserts a month's valid rows (distinct ids) into its partition; returns the rows newly stored (the
   * others were stored before). Rows with an id above the largest id stored in the partition cannot be
   * there yet, so they go in with multi-row statements (ids encode time: in a live stream that is
   * nearly every row); the others, replays and late arrivals, go one by one with `INSERT OR IGNORE`.
   */
  private insertMonth(
    month: string,
    rows: readonly ActivityEvent[],
    batchId: number | null,
  ): ActivityEvent[] {
    const part = this.insertFor(month);
    const maxId = part.maxId.get() as string | null | undefined;
    const fresh: ActivityEvent[] = [];
    const stored: ActivityEvent[] = [];
    for (const e of rows) {
      if (maxId === null || maxId === undefined || e.id > maxId) fresh.push(e);
      else if (part.one.run(...rowValues(e, batchId)).changes > 0) stored.push(e);
    }
    const params: unknown[] = new Array<unknown>(INSERT_CHUNK * ROW_WIDTH);
    let i = 0;
    for (; i + INSERT_CHUNK <= fresh.length; i += INSERT_CHUNK) {
      let p = 0;
      for (let k = i; k < i + INSERT_CHUNK; k++) {
        const e = fresh[k]!;
        params[p++] = e.id;
        params[p++] = e.ts;
        params[p++] = e.guildId;
        params[p++] = e.channelId ?? null;
        params[p++] = e.userId ?? null;
        params[p++] = e.kind;
        params[p++] = e.attrs === undefined ? null : JSON.stringify(e.attrs);
        params[p++] = batchId;
      }
      const changes = part.chunk.run(params).changes;
      if (changes !== INSERT_CHUNK) throw freshRowsLost(month, changes, INSERT_CHUNK);
    }
    for (; i < fresh.length; i++) {
      const changes = part.one.run(...rowValues(fresh[i]!, batchId)).changes;
      if (changes !== 1) throw freshRowsLost(month, changes, 1);
    }
    for (const e of fresh) stored.push(e);
    return stored;
  }

  private insertFor(month: string): PartitionInserts {
    let stmts = this.inserts.get(month);
    if (!stmts) {
      this.ensurePartition(month);
      const table = partitionTable(month);
      const head = `INSERT OR IGNORE INTO ${table} (id, ts, guild_id, channel_id, user_id, kind, attrs, batch) VALUES `;
      const tuple = `(${Array.from({ length: ROW_WIDTH }, () => '?').join(', ')})`;
      stmts = {
        one: this.sqlite.prepare(head + tuple),
        chunk: this.sqlite.prepare(head + Array.from({ length: INSERT_CHUNK }, () => tuple).join(', ')),
        maxId: this.sqlite.prepare(`SELECT MAX(id) FROM ${table}`).pluck(),
      };
      this.inserts.set(month, stmts);
    }
    return stmts;
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
    const dims = [...new Set(q.groupBy ?? (['bucket_ms'] as G[]))];
    for (const d of dims)
      if (!ROLLUP_DIMENSIONS.includes(d)) throw new RangeError(`unknown rollup dimension ${d}`);
    this.compact();
    if (q.bucket === 'day' || dims.includes('bucket_ms' as G)) return this.rollupRows(q, dims);
    // Hour precision without hour buckets in the answer: the whole days from the daily rollup (24× fewer
    // rows to read), only the partial days at the ends from the hourly one.
    const { days, edges } = splitDays(q);
    if (!days) return this.rollupRows(q, dims);
    const parts = [
      this.rollupRows({ ...q, ...days, bucket: 'day' }, dims),
      ...edges.map((e) => this.rollupRows({ ...q, ...e }, dims)),
    ];
    const merged = new Map<string, Pick<RollupRow, G> & { count: number }>();
    for (const part of parts) {
      for (const row of part) {
        const key = dims.map((d) => String(row[d])).join('\u0000');
        const seen = merged.get(key);
        if (seen) seen.count += row.count;
        else merged.set(key, { ...row });
      }
    }
    // Ordered by the grouped columns, as one SQL query orders them.
    return [...merged.values()].sort((a, b) => {
      for (const d of dims) {
        const x = a[d] as string | number;
        const y = b[d] as string | number;
        if (x !== y) return x < y ? -1 : 1;
      }
      return 0;
    });
  }

  /** One rollup table read: `q.bucket`'s table, summed over the dimensions not in `dims`. */
  private rollupRows<G extends RollupDimension>(
    q: RollupQuery,
    dims: readonly G[],
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

/** Rows per multi-row insert statement (one statement per row costs about a fifth more). */
const INSERT_CHUNK = 50;
/** Columns bound per inserted row. */
const ROW_WIDTH = 8;

/** The prepared inserts of one month partition. */
interface PartitionInserts {
  /** One row, `INSERT OR IGNORE` (its `changes` tells a new row from a stored one). */
  readonly one: BetterSqlite3.Statement;
  /** {@link INSERT_CHUNK} rows at once. */
  readonly chunk: BetterSqlite3.Statement;
  /** The largest id stored (plucked; null when empty). */
  readonly maxId: BetterSqlite3.Statement;
}

function rowValues(e: ActivityEvent, batchId: number | null): unknown[] {
  return [
    e.id,
    e.ts,
    e.guildId,
    e.channelId ?? null,
    e.userId ?? null,
    e.kind,
    e.attrs === undefined ? null : JSON.stringify(e.attrs),
    batchId,
  ];
}

/** Rows above the largest stored id were not all inserted: only a second writer could cause it. */
function freshRowsLost(month: string, changes: number, expected: number): Error {
  return new Error(
    `events_${month}: ${changes} of ${expected} rows with ids above the largest stored id were inserted; is another process writing the partition?`,
  );
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
