import { type Clock, systemClock } from '../coordination/index.js';
import { abortError } from '../coordination/clock.js';

/**
 * Tunables of a {@link WorkQueue}; defaults in {@link WORK_QUEUE_DEFAULTS}.
 *
 * @example
 * new WorkQueue({ ...WORK_QUEUE_DEFAULTS, maxDelayMs: 5_000 });
 */
export interface WorkQueueOptions {
  /** First retry delay after a failure; doubles per consecutive failure of the key. */
  readonly baseDelayMs: number;
  /** Cap of the per-key failure backoff. */
  readonly maxDelayMs: number;
}

/**
 * Work queue defaults: retries after 500 ms, 1 s, 2 s, … up to 30 s.
 *
 * @example
 * const q = new WorkQueue(WORK_QUEUE_DEFAULTS);
 */
export const WORK_QUEUE_DEFAULTS = {
  baseDelayMs: 500,
  maxDelayMs: 30_000,
} as const satisfies WorkQueueOptions;

/**
 * A keyed work queue in the style of client-go's rate-limited workqueue: a key is queued at most once,
 * never handed to two workers at once (adding it while it is processed re-queues it after `done`), can be
 * added after a delay (requeue-after, periodic resync), and failures back off per key exponentially until
 * `forget`.
 *
 * @example
 * const q = new WorkQueue<'plan'>();
 * q.add('plan');
 * const key = await q.get(signal);
 * try { await reconcile(key); q.forget(key); } catch { q.addRateLimited(key); } finally { q.done(key); }
 */
export class WorkQueue<K extends string = string> {
  private readonly queue: K[] = [];
  private readonly processing = new Set<K>();
  private readonly dirty = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly timers = new Map<K, { at: number; abort: AbortController }>();
  private waiters: (() => void)[] = [];
  private stopped = false;
  private readonly opts: WorkQueueOptions;

  constructor(
    opts: Partial<WorkQueueOptions> = {},
    private readonly clock: Clock = systemClock,
  ) {
    this.opts = { ...WORK_QUEUE_DEFAULTS, ...opts };
  }

  /** Keys waiting to be processed (not counting delayed ones). */
  get length(): number {
    return this.queue.length;
  }

  /** Queues the key now (no-op when already queued; deferred when it is being processed). */
  add(key: K): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queue.includes(key)) return;
    this.queue.push(key);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /**
   * Queues the key unless it is already queued, being processed, or waiting for a delayed add (a
   * failure backoff or a requeue-after): what a periodic resync uses, so it never cuts a backoff short.
   */
  addIfIdle(key: K): void {
    if (this.timers.has(key) || this.processing.has(key)) return;
    this.add(key);
  }

  /** Queues the key after `ms` (an earlier pending delay for the key wins). */
  addAfter(key: K, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    pending?.abort.abort();
    const abort = new AbortController();
    this.timers.set(key, { at, abort });
    this.clock.sleep(ms, abort.signal).then(
      () => {
        if (this.timers.get(key)?.abort === abort) this.timers.delete(key);
        this.add(key);
      },
      () => undefined,
    );
  }

  /** Queues the key after its failure backoff (500 ms, 1 s, 2 s, … capped). */
  addRateLimited(key: K): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.addAfter(key, this.backoff(n));
  }

  /** The delay {@link addRateLimited} would use next for the key. */
  nextBackoff(key: K): number {
    return this.backoff(this.failures.get(key) ?? 0);
  }

  /** Consecutive failures of the key since the last {@link forget}. */
  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Resets the key's failure backoff (call after a successful reconcile). */
  forget(key: K): void {
    this.failures.delete(key);
  }

  /** Waits for the next key and marks it as processing. Rejects with an AbortError on abort or shutdown. */
  async get(signal: AbortSignal): Promise<K> {
    for (;;) {
      if (signal.aborted || this.stopped) throw abortError(signal);
      const key = this.queue.shift();
      if (key !== undefined) {
        this.processing.add(key);
        return key;
      }
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
  }

  /** Marks the key as processed; re-queues it if it was added meanwhile. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  /** Drops everything, cancels delayed adds and wakes every waiting `get` (which then rejects). */
  shutDown(): void {
    this.stopped = true;
    for (const t of this.timers.values()) t.abort.abort();
    this.timers.clear();
    this.queue.length = 0;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private backoff(failures: number): number {
    return Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(failures, 30));
  }
}
