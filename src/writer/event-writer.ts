import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EventLog, LogEntry, ShardLeases } from '../coordination/index.js';
import type { Logger } from '../logging/logger.js';
import type { ShardEvent } from '../shard/event-pipeline.js';
import type { EventStore } from '../storage/index.js';

/** Options of {@link EventWriter}; defaults in {@link EVENT_WRITER_DEFAULTS}. */
export interface EventWriterOptions {
  /** Consumer name in the group (the api pod's name). */
  readonly consumer: string;
  /**
   * Log entries read per round, ingested in one transaction (each packs up to the log's pack size, so up
   * to ~10,000 events by default). A commit writes every index page the batch touched (about one per busy
   * guild), so larger batches cost less per event: storing 200k events took ~9.9 µs each in batches of
   * 5,000, ~8.6 µs in 10,000, ~7.7 µs in 20,000. The price is the time one batch holds the event loop
   * (~80 ms at 10,000 when catching up a backlog; a live stream gives smaller batches).
   */
  readonly entriesPerRead: number;
  readonly blockMs: number;
  /** Entries pending on another consumer longer than this are taken over (that consumer died). */
  readonly reclaimIdleMs: number;
  /** Fold rollup deltas at least this often. */
  readonly compactEveryMs: number;
}

export const EVENT_WRITER_DEFAULTS = {
  consumer: 'api-0',
  entriesPerRead: 100,
  blockMs: 200,
  reclaimIdleMs: 30_000,
  compactEveryMs: 5_000,
} as const satisfies EventWriterOptions;

/**
 * The single writer's ingest loop: reads the event log with a consumer group (taking over entries left
 * pending by a dead consumer), refuses events whose lease epoch is older than the shard's current epoch
 * (a stale owner's late writes), ingests the rest in one SQLite transaction with rollups, and
 * acknowledges only after the commit — a crash between commit and ack replays the batch, which the
 * idempotent ingest ignores. At start it first finishes every entry left pending (single writer). While
 * a batch is being ingested the next read is already on its way (one read ahead), so Redis round trips
 * overlap SQLite work instead of adding to it.
 *
 * @example
 * const writer = new EventWriter(coordination.eventLog<ShardEvent>('events'), storage.events, coordination.leases, log);
 * writer.start();
 * lifecycle.onShutdown('writer', () => writer.stop());
 */
export class EventWriter {
  private readonly opts: EventWriterOptions;
  private running = false;
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();
  private lastCompact = Date.now();
  private lastReclaim = 0;
  private recovered = false;
  private readonly epochCache = new Map<string, { epoch: number; at: number }>();
  /** The read issued ahead while the previous batch was ingested (settled into a result, never rejects). */
  private ahead: Promise<ReadResult> | undefined;
  private readonly m: ReturnType<typeof writerMetrics> | undefined;

  constructor(
    private readonly log: EventLog<ShardEvent>,
    private readonly store: EventStore,
    private readonly leases: ShardLeases,
    private readonly logger: Logger,
    opts: Partial<EventWriterOptions> = {},
    metrics?: Registry,
  ) {
    this.opts = { ...EVENT_WRITER_DEFAULTS, ...opts };
    this.m = metrics ? writerMetrics(metrics, log) : undefined;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Finishes the batch in hand (and the one read ahead), folds rollups and stops. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    await this.loop;
    const ahead = this.takeAhead();
    if (ahead) {
      try {
        await this.process(await ahead);
      } catch (err) {
        // Left pending: the next writer takes the entries over.
        this.logger.warn({ err }, 'event writer could not finish the batch read ahead');
      }
    }
    this.store.compact();
  }

  /** Reads and ingests once; returns the number of events stored. Exposed for tests and benchmarks. */
  async step(): Promise<number> {
    const now = Date.now();
    let entries: LogEntry<ShardEvent>[] = [];
    if (!this.recovered) {
      // Just started: the api pod is the single writer, so whatever is pending — what this consumer read
      // before it crashed, or a previous pod under another name — is ours to finish now, not after the
      // idle timeout.
      entries = await this.log.reclaim(this.opts.consumer, 0, this.opts.entriesPerRead);
      if (entries.length === 0) this.recovered = true;
    } else if (now - this.lastReclaim >= Math.min(this.opts.reclaimIdleMs, 5_000)) {
      this.lastReclaim = now;
      entries = await this.log.reclaim(this.opts.consumer, this.opts.reclaimIdleMs, this.opts.entriesPerRead);
    }
    if (entries.length === 0) {
      const ahead = this.takeAhead();
      entries = ahead ? await ahead : await this.read();
      // The next read travels (and Redis answers it) while this batch is ingested.
      if (entries.length > 0 && !this.stopping) this.ahead = settle(this.read());
    }
    const stored = await this.process(entries);
    if (Date.now() - this.lastCompact >= this.opts.compactEveryMs) {
      this.store.compact();
      this.lastCompact = Date.now();
    }
    return stored;
  }

  private read(): Promise<LogEntry<ShardEvent>[]> {
    return this.log.read(this.opts.consumer, { count: this.opts.entriesPerRead, blockMs: this.opts.blockMs });
  }

  /** The read issued ahead, if any (then forgotten); it resolves to its entries or rejects as it failed. */
  private takeAhead(): Promise<LogEntry<ShardEvent>[]> | undefined {
    const ahead = this.ahead;
    this.ahead = undefined;
    return ahead?.then((r) => {
      if ('err' in r) throw r.err;
      return r.entries;
    });
  }

  /** Fencing check, ingest in one transaction, then ack; returns the number of events stored. */
  private async process(entries: readonly LogEntry<ShardEvent>[]): Promise<number> {
    if (entries.length === 0) return 0;
    const started = process.hrtime.bigint();
    // One epoch look-up per (generation, shard) in the batch, then a synchronous filter.
    await this.refreshEpochs(entries);
    const events = [];
    let stale = 0;
    // Events come in runs of one shard: look its current epoch up once per run.
    let generation = Number.NaN;
    let shardId = Number.NaN;
    let current = 0;
    for (const entry of entries) {
      for (const e of entry.events) {
        if (e.generation !== generation || e.shardId !== shardId) {
          generation = e.generation;
          shardId = e.shardId;
          current = this.epochCache.get(`${generation}:${shardId}`)?.epoch ?? 0;
        }
        if (e.epoch < current) stale++;
        else events.push(e.event);
      }
    }
    const result = this.store.ingest(events);
    await this.log.ack(entries.map((e) => e.id));
    this.m?.events.inc({ result: 'inserted' }, result.inserted);
    this.m?.events.inc({ result: 'duplicate' }, result.duplicates);
    this.m?.events.inc({ result: 'rejected' }, result.rejected.length);
    this.m?.events.inc({ result: 'stale_epoch' }, stale);
    this.m?.batch.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (result.rejected.length > 0) {
      this.logger.warn(
        { rejected: result.rejected.slice(0, 5), count: result.rejected.length },
        'events rejected',
      );
    }
    return result.inserted;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      try {
        await this.step();
        backoff = 100;
      } catch (err) {
        this.logger.warn({ err }, 'event writer round failed; retrying');
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  /**
   * Makes sure the cached current epoch of every (generation, shard) in the batch is fresh: an event is
   * stale when its lease epoch is older than the shard's current one (a newer owner exists). Epochs only
   * grow, so a cached value is a safe lower bound; it is re-read when an event shows a newer epoch or
   * after a second.
   */
  private async refreshEpochs(entries: readonly LogEntry<ShardEvent>[]): Promise<void> {
    const now = Date.now();
    const due = new Map<string, { generation: number; shardId: number }>();
    let last: ShardEvent | undefined;
    for (const entry of entries) {
      for (const e of entry.events) {
        // Same shard and epoch as the event before: already looked at.
        if (last && e.generation === last.generation && e.shardId === last.shardId && e.epoch === last.epoch)
          continue;
        last = e;
        const key = `${e.generation}:${e.shardId}`;
        if (due.has(key)) continue;
        const cached = this.epochCache.get(key);
        if (!cached || e.epoch > cached.epoch || now - cached.at > 1_000) {
          due.set(key, { generation: e.generation, shardId: e.shardId });
        }
      }
    }
    await Promise.all(
      [...due].map(async ([key, s]) => {
        this.epochCache.set(key, { epoch: await this.leases.currentEpoch(s.generation, s.shardId), at: now });
      }),
    );
  }
}

type ReadResult = { entries: LogEntry<ShardEvent>[] } | { err: unknown };

/** A read as a promise that never rejects, so one issued ahead and never awaited is no unhandled error. */
function settle(read: Promise<LogEntry<ShardEvent>[]>): Promise<ReadResult> {
  return read.then(
    (entries) => ({ entries }),
    (err: unknown) => ({ err }),
  );
}

function writerMetrics(registry: Registry, log: EventLog<ShardEvent>) {
  return {
    events: new Counter({
      name: 'guildhall_writer_events_total',
      help: 'Events read from the event log by the writer, by result (inserted, duplicate, rejected, stale_epoch).',
      labelNames: ['result'],
      registers: [registry],
    }),
    batch: new Histogram({
      name: 'guildhall_writer_batch_duration_seconds',
      help: 'Time to validate, ingest and acknowledge one batch.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'guildhall_writer_lag_entries',
      help: 'Event-log entries appended but not yet delivered to the writer, plus pending ones.',
      registers: [registry],
      async collect() {
        try {
          const p = await log.pending();
          this.set(p.lag + p.pending);
        } catch {
          // unreachable backend: leave the last value
        }
      },
    }),
  };
}
