import { Counter, type Registry } from 'prom-client';
import type { Checkpoint, EventLog } from '../coordination/index.js';
import type { Logger } from '../logging/logger.js';
import type { ActivityEvent } from '../storage/index.js';

/** An activity event as it travels through the event log: the event plus the lease it was seen under. */
export interface ShardEvent {
  readonly event: ActivityEvent;
  readonly shardId: number;
  readonly generation: number;
  /** Fencing epoch of the shard lease; the writer refuses events from an older epoch than the current one. */
  readonly epoch: number;
}

/** Options of {@link EventPipeline}; defaults in {@link EVENT_PIPELINE_DEFAULTS}. */
export interface EventPipelineOptions {
  /** Append as soon as this many events are buffered. */
  readonly maxBatch: number;
  /** Longest time an event waits in the buffer. */
  readonly lingerMs: number;
  /** Most events buffered while the log is unreachable; beyond it the oldest are dropped (and counted). */
  readonly maxBuffered: number;
  /** How long a shard session's checkpoint is kept (Discord keeps sessions resumable for minutes). */
  readonly checkpointTtlMs: number;
}

export const EVENT_PIPELINE_DEFAULTS = {
  maxBatch: 500,
  lingerMs: 50,
  maxBuffered: 200_000,
  checkpointTtlMs: 3_600_000,
} as const satisfies EventPipelineOptions;

/** Where a shard session's events are durable up to: written atomically with the appends. */
export interface SessionCheckpoint {
  readonly sessionId: string;
  readonly seq: number;
}

/** The checkpoint key of a shard session stream: `<shardCount>:<shardId>`. */
export function checkpointKey(shardCount: number, shardId: number): string {
  return `shard:${shardCount}:${shardId}`;
}

interface Buffered {
  readonly e: ShardEvent;
  readonly key: string;
  readonly seq: number;
}

/** The gateway seqs of one stream's buffered events, oldest first from `at` (a queue without shifting). */
interface Queued {
  seqs: number[];
  at: number;
}

/** Below this many consumed slots a queue is not compacted (compaction copies what is left). */
const COMPACT_MIN = 1024;

interface Tracked {
  sessionId: string;
  /** Highest gateway seq whose dispatch was fully handled (its events pushed). */
  processed: number;
  /** Highest seq whose events are all in the log (the checkpoint written). */
  durable: number;
  onDurable: ((seq: number) => void) | undefined;
}

/**
 * Buffers the activity events of a pod's shards and appends them to the event log in batches (size- or
 * linger-bounded), in order. With each append it writes, in the same atomic step, every shard session's
 * checkpoint — the highest gateway sequence number whose events are all in the log — so whoever resumes
 * the session after a crash knows exactly which replayed dispatches were already recorded (no duplicate)
 * and the shard never persists a resume point beyond it (no gap). A failed append keeps the events and
 * retries; `flush()` (on SIGTERM and lease release) appends everything buffered.
 *
 * @example
 * const pipeline = new EventPipeline(coordination.eventLog<ShardEvent>('events'), log);
 * pipeline.track(key, { sessionId, seq: 1 }, (seq) => persistSession(seq));
 * pipeline.push(key, 7, { event, shardId, generation, epoch });
 * pipeline.processed(key, 7);
 */
export class EventPipeline {
  /** Buffered events in push order; the oldest is at `head` (consumed slots are dropped in bulk). */
  private buffer: Buffered[] = [];
  private head = 0;
  /** The events at `head` being appended right now, in total and per stream key. */
  private inFlight = 0;
  private inFlightByKey = new Map<string, number>();
  /** Per stream key, the seqs of its buffered events: where a stream's first event still buffered is. */
  private readonly queued = new Map<string, Queued>();
  private readonly shards = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | undefined;
  /** A sendAll is chained behind the one in progress and has not started yet. */
  private sendQueued = false;
  private sending: Promise<void> = Promise.resolve();
  private readonly opts: EventPipelineOptions;
  private readonly appended: Counter | undefined;
  private readonly dropped: Counter | undefined;
  private closed = false;

  constructor(
    private readonly log: EventLog<ShardEvent>,
    private readonly logger: Logger,
    opts: Partial<EventPipelineOptions> = {},
    metrics?: Registry,
  ) {
    this.opts = { ...EVENT_PIPELINE_DEFAULTS, ...opts };
    if (metrics) {
      this.appended = new Counter({
        name: 'guildhall_shard_events_appended_total',
        help: 'Activity events appended to the event log by this shard pod.',
        registers: [metrics],
      });
      this.dropped = new Counter({
        name: 'guildhall_shard_events_dropped_total',
        help: 'Activity events dropped because the event log stayed unreachable past the buffer bound.',
        registers: [metrics],
      });
    }
  }

  get buffered(): number {
    return this.buffer.length - this.head;
  }

  /** The checkpoint a previous owner left for a shard session stream (null when none). */
  async lastCheckpoint(key: string): Promise<SessionCheckpoint | null> {
    const raw = await this.log.checkpoint(key);
    return raw ? (JSON.parse(raw) as SessionCheckpoint) : null;
  }

  /**
   * Starts (or restarts, on a new session) tracking a shard session stream at `seq` (READY's sequence, or
   * the checkpoint a resumed session continues from). `onDurable` hears every advance of the durable seq.
   */
  track(key: string, start: SessionCheckpoint, onDurable?: (seq: number) => void): void {
    this.shards.set(key, { sessionId: start.sessionId, processed: start.seq, durable: start.seq, onDurable });
  }

  /** Stops tracking (lease released): buffered events still get appended, with no checkpoint. */
  untrack(key: string): void {
    this.shards.delete(key);
  }

  /** The durable seq of a tracked stream (what a session may be persisted with). */
  durable(key: string): number | undefined {
    return this.shards.get(key)?.durable;
  }

  push(key: string, seq: number, e: ShardEvent): void {
    this.buffer.push({ e, key, seq });
    let q = this.queued.get(key);
    if (!q) this.queued.set(key, (q = { seqs: [], at: 0 }));
    q.seqs.push(seq);
    const over = this.buffered - this.opts.maxBuffered;
    if (over > 0) this.dropOldest(over);
    if (this.buffered >= this.opts.maxBatch) this.kick();
    else this.arm();
  }

  /** Drops the `n` oldest buffered events that are not being appended right now. */
  private dropOldest(n: number): void {
    const dropped = this.buffer.splice(this.head + this.inFlight, n);
    for (const b of dropped) {
      // The oldest of its stream after the stream's in-flight events, as the buffer keeps push order.
      const q = this.queued.get(b.key)!;
      q.seqs.splice(q.at + (this.inFlightByKey.get(b.key) ?? 0), 1);
      if (q.at === q.seqs.length) this.queued.delete(b.key);
    }
    this.dropped?.inc(dropped.length);
    this.logger.error({ dropped: dropped.length }, 'event buffer full; oldest events dropped');
  }

  /** Marks a dispatch (and every earlier one) of the stream as handled, events or not. */
  processed(key: string, seq: number): void {
    const t = this.shards.get(key);
    if (t && seq > t.processed) {
      t.processed = seq;
      this.arm();
    }
  }

  /** Appends everything buffered now (retrying failed appends up to `attempts` times). */
  async flush(attempts = 5): Promise<void> {
    for (let i = 0; i < attempts; i++) {
      this.kick();
      await this.sending;
      if (this.buffered === 0 && !this.checkpointsDue()) return;
      await new Promise((r) => setTimeout(r, 100 * (i + 1)));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.flush();
    if (this.buffered > 0) this.logger.error({ lost: this.buffered }, 'events not appended at shutdown');
  }

  private arm(): void {
    // A send already queued takes whatever is buffered when it runs: no timer needed meanwhile.
    if (!this.timer && !this.sendQueued && !this.closed) {
      this.timer = setTimeout(() => this.kick(), this.opts.lingerMs);
    }
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.sendQueued) return; // at most one send waits behind the one in progress
    this.sendQueued = true;
    this.sending = this.sending.then(async () => {
      this.sendQueued = false;
      try {
        await this.sendAll();
      } catch (err) {
        // Not an append failure (those are retried inside); keep the chain alive for the next send.
        this.logger.error({ err }, 'event pipeline send failed');
      }
    });
  }

  private checkpointsDue(): boolean {
    for (const t of this.shards.values()) if (t.processed > t.durable) return true;
    return false;
  }

  private async sendAll(): Promise<void> {
    while (this.buffered > 0 || this.checkpointsDue()) {
      const batch = this.buffer.slice(this.head, this.head + this.opts.maxBatch);
      const perKey = new Map<string, number>();
      for (const b of batch) perKey.set(b.key, (perKey.get(b.key) ?? 0) + 1);
      // After this batch, a stream is durable up to just before its first event still buffered, or up
      // to everything it processed when none is left.
      const advances: [Tracked, number][] = [];
      const checkpoints: Checkpoint[] = [];
      for (const [key, t] of this.shards) {
        const q = this.queued.get(key);
        const left = q?.seqs[q.at + (perKey.get(key) ?? 0)];
        const durable = left === undefined ? t.processed : Math.min(t.processed, left - 1);
        if (durable > t.durable) {
          advances.push([t, durable]);
          checkpoints.push({
            key,
            value: JSON.stringify({ sessionId: t.sessionId, seq: durable } satisfies SessionCheckpoint),
            ttlMs: this.opts.checkpointTtlMs,
          });
        }
      }
      if (batch.length === 0 && checkpoints.length === 0) return;
      this.inFlight = batch.length;
      this.inFlightByKey = perKey;
      try {
        await this.log.append(
          batch.map((b) => b.e),
          checkpoints,
        );
      } catch (err) {
        this.logger.warn({ err, buffered: this.buffered }, 'event log append failed; will retry');
        if (!this.timer && !this.closed) this.timer = setTimeout(() => this.kick(), 500);
        return;
      } finally {
        this.inFlight = 0;
        this.inFlightByKey = new Map();
      }
      this.consume(batch.length, perKey);
      this.appended?.inc(batch.length);
      for (const [t, durable] of advances) {
        if (durable <= t.durable) continue;
        t.durable = durable;
        t.onDurable?.(durable);
      }
    }
  }

  /** Removes the `n` oldest buffered events (just appended; `perKey` of them per stream key). */
  private consume(n: number, perKey: ReadonlyMap<string, number>): void {
    this.head += n;
    if (this.head === this.buffer.length) {
      this.buffer = [];
      this.head = 0;
    } else if (this.head >= COMPACT_MIN && this.head * 2 >= this.buffer.length) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
    for (const [key, k] of perKey) {
      const q = this.queued.get(key)!;
      q.at += k;
      if (q.at === q.seqs.length) this.queued.delete(key);
      else if (q.at >= COMPACT_MIN && q.at * 2 >= q.seqs.length) {
        q.seqs = q.seqs.slice(q.at);
        q.at = 0;
      }
    }
  }
}
