import type { SessionInfo } from '@discordjs/ws';
import type { Logger } from '../logging/logger.js';
import type { Clock } from './clock.js';
import type { Fence } from './shard-leases.js';

export type { SessionInfo } from '@discordjs/ws';

/**
 * Resume state per shard (`@discordjs/ws`'s `SessionInfo`), keyed by `(shardCount, shardId)` so that two
 * generations overlapping during a reshard never overwrite each other's sessions.
 *
 * Writes are debounced: `set`/`delete` only queue (the newest value per shard wins) and a flush persists
 * the queue at most every `flushIntervalMs`; `flush()` persists it now (call it on SIGTERM and before
 * releasing a lease). `get` sees this instance's queued writes. A write that carries a {@link Fence} is
 * dropped by the backend unless that fence is still the shard's current lease.
 *
 * @example
 * sessions.set(3, { sessionId, sequence: 42, resumeURL, shardCount: 16, shardId: 3 }, { generation: 2, epoch });
 * await sessions.flush();
 * const info = await otherPod.sessions.get(3, 16); // resumes instead of identifying
 */
export interface SessionStore {
  get(shardId: number, shardCount: number): Promise<SessionInfo | null>;
  set(shardId: number, info: SessionInfo, fence?: Fence): void;
  delete(shardId: number, shardCount: number, fence?: Fence): void;
  flush(): Promise<void>;
}

/**
 * One queued session write as a backend persists it (`info: null` deletes).
 *
 * @example
 * const w: SessionWrite = { shardId: 3, shardCount: 16, info: null }; // a delete
 */
export interface SessionWrite {
  readonly shardId: number;
  readonly shardCount: number;
  readonly info: SessionInfo | null;
  readonly fence?: Fence | undefined;
}

/**
 * What a backend provides under the shared debouncer.
 *
 * @example
 * const { refused } = await backend.write([{ shardId: 3, shardCount: 16, info }]);
 */
export interface SessionBackend {
  read(shardId: number, shardCount: number): Promise<SessionInfo | null>;
  /** Persists the writes (one round trip); returns how many fenced writes were refused. */
  write(writes: readonly SessionWrite[]): Promise<{ refused: number }>;
}

/**
 * Tunables of the session store; defaults in {@link SESSION_DEFAULTS}.
 *
 * @example
 * const opts: SessionOptions = { ...SESSION_DEFAULTS, flushIntervalMs: 250 };
 */
export interface SessionOptions {
  /** Longest time a queued write waits; 0 writes through on the next tick. */
  readonly flushIntervalMs: number;
  /** How long a stored session lives without updates (Discord keeps sessions resumable for minutes). */
  readonly ttlMs: number;
}

/**
 * Session store defaults: flush at most once a second, keep sessions for an hour.
 *
 * @example
 * createCoordination({ keyPrefix, log, sessions: { ...SESSION_DEFAULTS, flushIntervalMs: 250 } });
 */
export const SESSION_DEFAULTS = {
  flushIntervalMs: 1_000,
  ttlMs: 60 * 60 * 1000,
} as const satisfies SessionOptions;

/**
 * Counters the debouncer reports to (wired to prom-client by the caller).
 *
 * @example
 * const hooks: SessionStoreHooks = { onFlush: (writes, refused) => counter.inc(writes - refused) };
 */
export interface SessionStoreHooks {
  onFlush?(writes: number, refused: number): void;
}

/**
 * The debouncer shared by every backend: coalesces writes per shard and flushes on a timer.
 *
 * @example
 * const store = new DebouncedSessionStore(redisBackend, { flushIntervalMs: 1000 }, systemClock, log);
 */
export class DebouncedSessionStore implements SessionStore {
  private pending = new Map<string, SessionWrite>();
  private timer: AbortController | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly backend: SessionBackend,
    private readonly opts: Pick<SessionOptions, 'flushIntervalMs'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly hooks: SessionStoreHooks = {},
  ) {}

  async get(shardId: number, shardCount: number): Promise<SessionInfo | null> {
    const queued = this.pending.get(key(shardId, shardCount));
    if (queued) return queued.info;
    return this.backend.read(shardId, shardCount);
  }

  set(shardId: number, info: SessionInfo, fence?: Fence): void {
    this.enqueue({ shardId, shardCount: info.shardCount, info: { ...info, shardId }, fence });
  }

  delete(shardId: number, shardCount: number, fence?: Fence): void {
    this.enqueue({ shardId, shardCount, info: null, fence });
  }

  /** Persists every queued write now; rejects (and keeps them queued) if the backend fails. */
  flush(): Promise<void> {
    this.timer?.abort();
    this.timer = undefined;
    // Serialize flushes so an older batch never lands after a newer one.
    const run = this.flushing.catch(() => undefined).then(() => this.flushNow());
    this.flushing = run;
    return run;
  }

  /** Flushes and stops the timer; later writes are still accepted and written by `flush()`. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private enqueue(w: SessionWrite): void {
    this.pending.set(key(w.shardId, w.shardCount), w);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    const timer = new AbortController();
    this.timer = timer;
    this.clock.sleep(this.opts.flushIntervalMs, timer.signal).then(
      () => {
        if (this.timer !== timer) return;
        this.timer = undefined;
        this.flush().catch((err: unknown) => this.log.warn({ err }, 'session flush failed; will retry'));
      },
      () => undefined, // cancelled by an explicit flush
    );
  }

  private async flushNow(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      const { refused } = await this.backend.write([...batch.values()]);
      this.hooks.onFlush?.(batch.size, refused);
      if (refused > 0) this.log.warn({ refused }, 'fenced session writes refused (lease lost)');
    } catch (err) {
      // Put back what was not superseded meanwhile, and retry on the next interval.
      for (const [k, w] of batch) if (!this.pending.has(k)) this.pending.set(k, w);
      if (this.pending.size > 0) this.schedule();
      throw err;
    }
  }
}

function key(shardId: number, shardCount: number): string {
  return `${shardCount}:${shardId}`;
}

/**
 * Options of {@link sessionInfoCallbacks}.
 *
 * @example
 * sessionInfoCallbacks(store, { shardCount: plan.totalShards, fence: (s) => fences.get(s) });
 */
export interface SessionCallbackOptions {
  /** The manager's total shard count (the plan's `totalShards`). */
  readonly shardCount: number;
  /** The fence of the lease behind each shard, or undefined to write unfenced. */
  readonly fence?: (shardId: number) => Fence | undefined;
}

/**
 * The callbacks {@link sessionInfoCallbacks} returns (bound functions, safe to pass around).
 *
 * @example
 * const cb: SessionCallbacks = sessionInfoCallbacks(coordination.sessions, { shardCount: 16 });
 */
export interface SessionCallbacks {
  readonly retrieveSessionInfo: (shardId: number) => Promise<SessionInfo | null>;
  readonly updateSessionInfo: (shardId: number, info: SessionInfo | null) => void;
  /**
   * Call before `manager.destroy({ code: CloseCodes.Resuming })` when another pod takes the shards over:
   * stops recording the given shards (all when omitted) and flushes, so the `null` session that
   * `destroy()` always reports does not delete the session the next owner RESUMEs.
   */
  readonly handOver: (shardIds?: readonly number[]) => Promise<void>;
}

/**
 * Adapter for `@discordjs/ws`: `retrieveSessionInfo`/`updateSessionInfo` backed by the shared store.
 * `@discordjs/ws` calls both on every dispatch; the adapter answers reads from the latest value it saw
 * (one backend read per shard per manager) and writes only queue (debounced), so a dispatch costs no
 * round trip. Use one adapter per manager.
 *
 * @example
 * const sessions = sessionInfoCallbacks(coordination.sessions, { shardCount: 16, fence: (s) => fences.get(s) });
 * const manager = new WebSocketManager({
 *   token, intents, rest, shardCount: 16, shardIds: [3, 4],
 *   retrieveSessionInfo: sessions.retrieveSessionInfo,
 *   updateSessionInfo: sessions.updateSessionInfo,
 * });
 * // rolling restart (SIGTERM): hand over, keep the sessions resumable
 * await sessions.handOver();
 * await manager.destroy({ code: CloseCodes.Resuming });
 */
export function sessionInfoCallbacks(store: SessionStore, opts: SessionCallbackOptions): SessionCallbacks {
  const latest = new Map<number, SessionInfo | null>();
  const frozen = new Set<number>();
  let allFrozen = false;
  return {
    retrieveSessionInfo: async (shardId) => {
      if (latest.has(shardId)) return latest.get(shardId)!;
      const info = await store.get(shardId, opts.shardCount);
      if (!latest.has(shardId)) latest.set(shardId, info);
      return latest.get(shardId)!;
    },
    updateSessionInfo: (shardId, info) => {
      if (allFrozen || frozen.has(shardId)) return;
      const fence = opts.fence?.(shardId);
      const value = info ? { ...info, shardId, shardCount: opts.shardCount } : null;
      latest.set(shardId, value);
      if (value) store.set(shardId, value, fence);
      else store.delete(shardId, opts.shardCount, fence);
    },
    handOver: async (shardIds) => {
      if (shardIds) for (const s of shardIds) frozen.add(s);
      else allFrozen = true;
      await store.flush();
    },
  };
}
