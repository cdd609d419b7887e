/**
 * One entry of the log: a packed batch of events appended together, with the id to acknowledge.
 *
 * @example
 * for (const entry of await log.read('writer-0', { count: 10, blockMs: 1000 })) insert(entry.events);
 */
export interface LogEntry<T> {
  /** Stream id (`<ms>-<seq>`), strictly increasing in append order. */
  readonly id: string;
  readonly events: readonly T[];
}

/**
 * A small value stored atomically with an append, e.g. `{ key: 'shard:16:3', value: '{"sessionId":…,"seq":812}' }`.
 *
 * @example
 * await log.append(batch, [{ key: `shard:${count}:${id}`, value: JSON.stringify({ sessionId, seq }), ttlMs: 3_600_000 }]);
 */
export interface Checkpoint {
  readonly key: string;
  readonly value: string;
  readonly ttlMs: number;
}

/**
 * How far the consumer group is behind, as {@link EventLog.pending} reports it.
 *
 * @example
 * const { pending, lag } = await log.pending(); lagGauge.set(lag);
 */
export interface PendingInfo {
  /** Entries delivered to a consumer but not acknowledged yet. */
  readonly pending: number;
  /** Entries appended but never delivered to the group. */
  readonly lag: number;
  /** Entries the log still retains (acknowledged entries are trimmed, so this is about pending + lag). */
  readonly length: number;
  readonly consumers: readonly { readonly name: string; readonly pending: number; readonly idleMs: number }[];
}

/**
 * Options of {@link EventLog.read}.
 *
 * @example
 * await log.read('writer-0', { count: 10, blockMs: 1000 });
 */
export interface ReadOptions {
  /** Most entries to return (each entry packs up to `packSize` events). */
  readonly count: number;
  /** Wait up to this long for new entries when none are available (0 = return at once). */
  readonly blockMs: number;
}

/**
 * An append-only log read by one consumer group (at-least-once): `append` packs events into entries;
 * `read` delivers entries never delivered to the group before and marks them pending for the reader;
 * `ack` settles them; `reclaim` moves entries that stayed pending on some (dead) consumer longer than
 * `minIdleMs` to the caller, which then processes them again. Nothing is dropped until acknowledged.
 *
 * @example
 * await log.append([{ id: 'm1', kind: 'message' }, { id: 'm2', kind: 'message' }]);
 * const entries = [...(await log.reclaim('writer-0', 30_000, 50)), ...(await log.read('writer-0', { count: 10, blockMs: 1000 }))];
 * await insertIdempotently(entries.flatMap((e) => e.events));
 * await log.ack(entries.map((e) => e.id));
 */
export interface EventLog<T = unknown> {
  /**
   * Appends the events (JSON-serializable) in order; returns the ids of the entries written. With
   * `checkpoints`, the entries and the checkpoint values are written atomically (all or nothing), so a
   * reader of a checkpoint knows exactly what the log holds (a shard's "appended up to seq N").
   */
  append(events: readonly T[], checkpoints?: readonly Checkpoint[]): Promise<string[]>;
  /** The value of a checkpoint written by {@link append}, or null. */
  checkpoint(key: string): Promise<string | null>;
  read(consumer: string, opts: ReadOptions): Promise<LogEntry<T>[]>;
  /** Acknowledges entries; returns how many were pending. Acknowledged entries are trimmed. */
  ack(ids: readonly string[]): Promise<number>;
  reclaim(consumer: string, minIdleMs: number, count: number): Promise<LogEntry<T>[]>;
  pending(): Promise<PendingInfo>;
}

/**
 * Tunables of an event log; defaults in {@link EVENT_LOG_DEFAULTS}.
 *
 * @example
 * coordination.eventLog('events', { group: 'writer', packSize: 100 });
 */
export interface EventLogOptions {
  /** Consumer group name. */
  readonly group: string;
  /** Events packed into one stream entry (fewer, larger entries: far higher append throughput). */
  readonly packSize: number;
}

/**
 * Event log defaults: group `writer`, up to 100 events per entry.
 *
 * @example
 * const log = coordination.eventLog('events', { ...EVENT_LOG_DEFAULTS, packSize: 50 });
 */
export const EVENT_LOG_DEFAULTS = { group: 'writer', packSize: 100 } as const satisfies EventLogOptions;

/**
 * Splits `events` into chunks of at most `size`.
 *
 * @example
 * pack([1, 2, 3], 2); // [[1, 2], [3]]
 */
export function pack<T>(events: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < events.length; i += size) out.push(events.slice(i, i + size));
  return out;
}
