import {
  type Checkpoint,
  type EventLog,
  type EventLogOptions,
  type LogEntry,
  type PendingInfo,
  type ReadOptions,
  pack,
} from '../event-log.js';
import type { MemoryHub, MemoryStream, MemoryStreamEntry } from './hub.js';

/**
 * In-process {@link EventLog} with the semantics of a Redis stream consumer group: ids `<ms>-<seq>`, a
 * pending-entry list per group, redelivery through `reclaim`, trimming of acknowledged entries.
 *
 * @example
 * const log = new MemoryEventLog(hub, 'events', EVENT_LOG_DEFAULTS);
 */
export class MemoryEventLog<T = unknown> implements EventLog<T> {
  private readonly s: MemoryStream;
  private readonly checkpoints: Map<string, { value: string; expiresAt: number }>;

  constructor(
    private readonly hub: MemoryHub,
    name: string,
    private readonly opts: EventLogOptions,
  ) {
    const key = `${name}\u0000${opts.group}`;
    let s = hub.streams.get(key);
    if (!s) {
      s = {
        entries: [],
        lastMs: 0,
        lastSeq: -1,
        nextIndex: 0,
        pel: new Map(),
        consumers: new Map(),
        waiters: new Set(),
      };
      hub.streams.set(key, s);
    }
    this.s = s;
    let checkpoints = hub.checkpoints.get(name);
    if (!checkpoints) hub.checkpoints.set(name, (checkpoints = new Map()));
    this.checkpoints = checkpoints;
  }

  async checkpoint(key: string): Promise<string | null> {
    const c = this.checkpoints.get(key);
    return c && c.expiresAt > this.hub.clock.now() ? c.value : null;
  }

  async append(events: readonly T[], checkpoints: readonly Checkpoint[] = []): Promise<string[]> {
    for (const c of checkpoints) {
      this.checkpoints.set(c.key, { value: c.value, expiresAt: this.hub.clock.now() + c.ttlMs });
    }
    const ids: string[] = [];
    for (const chunk of pack(events, this.opts.packSize)) {
      const now = Math.floor(this.hub.clock.now());
      if (now > this.s.lastMs) {
        this.s.lastMs = now;
        this.s.lastSeq = 0;
      } else {
        this.s.lastSeq += 1;
      }
      const entry: MemoryStreamEntry = {
        id: `${this.s.lastMs}-${this.s.lastSeq}`,
        ms: this.s.lastMs,
        seq: this.s.lastSeq,
        // No deep copy (it cost more than the rest of a shard's dispatch path): producers hand over fresh
        // objects and never touch them again, and readers get them read-only, as a Redis log would give copies.
        events: Object.freeze(chunk),
      };
      this.s.entries.push(entry);
      ids.push(entry.id);
    }
    if (ids.length > 0) for (const wake of [...this.s.waiters]) wake();
    return ids;
  }

  async read(consumer: string, opts: ReadOptions): Promise<LogEntry<T>[]> {
    this.touch(consumer);
    if (this.s.nextIndex >= this.s.entries.length && opts.blockMs > 0) await this.waitForAppend(opts.blockMs);
    const now = this.hub.clock.now();
    const out: LogEntry<T>[] = [];
    while (out.length < opts.count && this.s.nextIndex < this.s.entries.length) {
      const e = this.s.entries[this.s.nextIndex++]!;
      this.s.pel.set(e.id, { consumer, deliveredAt: now });
      out.push(view(e));
    }
    this.touch(consumer);
    return out;
  }

  async ack(ids: readonly string[]): Promise<number> {
    let n = 0;
    for (const id of ids) if (this.s.pel.delete(id)) n++;
    // Trim: drop delivered, acknowledged entries from the head.
    let drop = 0;
    while (drop < this.s.nextIndex && !this.s.pel.has(this.s.entries[drop]!.id)) drop++;
    if (drop > 0) {
      this.s.entries.splice(0, drop);
      this.s.nextIndex -= drop;
    }
    return n;
  }

  async reclaim(consumer: string, minIdleMs: number, count: number): Promise<LogEntry<T>[]> {
    this.touch(consumer);
    const now = this.hub.clock.now();
    const out: LogEntry<T>[] = [];
    for (let i = 0; i < this.s.nextIndex && out.length < count; i++) {
      const e = this.s.entries[i]!;
      const p = this.s.pel.get(e.id);
      if (!p || now - p.deliveredAt < minIdleMs) continue;
      this.s.pel.set(e.id, { consumer, deliveredAt: now });
      out.push(view(e));
    }
    return out;
  }

  async pending(): Promise<PendingInfo> {
    const now = this.hub.clock.now();
    const per = new Map<string, number>();
    for (const p of this.s.pel.values()) per.set(p.consumer, (per.get(p.consumer) ?? 0) + 1);
    return {
      pending: this.s.pel.size,
      lag: this.s.entries.length - this.s.nextIndex,
      length: this.s.entries.length,
      consumers: [...this.s.consumers].map(([name, c]) => ({
        name,
        pending: per.get(name) ?? 0,
        idleMs: now - c.seenAt,
      })),
    };
  }

  private touch(consumer: string): void {
    this.s.consumers.set(consumer, { seenAt: this.hub.clock.now() });
  }

  private async waitForAppend(ms: number): Promise<void> {
    const timer = new AbortController();
    let wake!: () => void;
    const appended = new Promise<void>((resolve) => (wake = resolve));
    this.s.waiters.add(wake);
    try {
      await Promise.race([appended, this.hub.clock.sleep(ms, timer.signal)]);
    } finally {
      this.s.waiters.delete(wake);
      timer.abort();
    }
  }
}

function view<T>(e: MemoryStreamEntry): LogEntry<T> {
  return { id: e.id, events: e.events as readonly T[] };
}
