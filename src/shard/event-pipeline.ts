import { Counter, type Registry } from 'prom-client';
import type { EventLog } from '../coordination/index.js';
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
}

export const EVENT_PIPELINE_DEFAULTS = {
  maxBatch: 500,
  lingerMs: 50,
  maxBuffered: 200_000,
} as const satisfies EventPipelineOptions;

/**
 * Buffers a shard's activity events and appends them to the event log in batches (size- or
 * linger-bounded), in order. A failed append keeps the events and retries; `flush()` (on SIGTERM and lease
 * release) appends everything buffered.
 *
 * @example
 * const pipeline = new EventPipeline(coordination.eventLog<ShardEvent>('events'), log);
 * pipeline.push({ event, shardId, generation, epoch });
 * await pipeline.close();
 */
export class EventPipeline {
  private buffer: ShardEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
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
    return this.buffer.length;
  }

  push(e: ShardEvent): void {
    this.buffer.push(e);
    if (this.buffer.length > this.opts.maxBuffered) {
      const over = this.buffer.length - this.opts.maxBuffered;
      this.buffer.splice(0, over);
      this.dropped?.inc(over);
      this.logger.error({ dropped: over }, 'event buffer full; oldest events dropped');
    }
    if (this.buffer.length >= this.opts.maxBatch) this.kick();
    else if (!this.timer && !this.closed) this.timer = setTimeout(() => this.kick(), this.opts.lingerMs);
  }

  /** Appends everything buffered now (retrying failed appends up to `attempts` times). */
  async flush(attempts = 5): Promise<void> {
    for (let i = 0; i < attempts && (this.buffer.length > 0 || i === 0); i++) {
      this.kick();
      await this.sending;
      if (this.buffer.length > 0) await new Promise((r) => setTimeout(r, 100 * (i + 1)));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.flush();
    if (this.buffer.length > 0)
      this.logger.error({ lost: this.buffer.length }, 'events not appended at shutdown');
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.sending = this.sending.then(() => this.sendAll());
  }

  private async sendAll(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.opts.maxBatch);
      try {
        await this.log.append(batch);
      } catch (err) {
        this.logger.warn({ err, buffered: this.buffer.length }, 'event log append failed; will retry');
        if (!this.timer && !this.closed) this.timer = setTimeout(() => this.kick(), 500);
        return;
      }
      this.buffer.splice(0, batch.length);
      this.appended?.inc(batch.length);
    }
  }
}
