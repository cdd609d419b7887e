/**
 * Time as the coordination layer sees it. Everything that waits or reads "now" goes through a Clock so
 * tests and benchmarks can run on simulated time (see {@link SimulatedClock}).
 *
 * @example
 * const clock: Clock = systemClock;
 * await clock.sleep(100, AbortSignal.timeout(1000));
 */
export interface Clock {
  /** Milliseconds since the epoch (or since the simulation started). */
  now(): number;
  /** Resolves after `ms`; rejects with an `AbortError` as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The real clock: `Date.now()` and `setTimeout`.
 *
 * @example
 * const c = createCoordination({ keyPrefix: 'g:', log, clock: systemClock });
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError(signal));
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * The error a Clock's sleep rejects with on abort (a DOMException named `AbortError`, like
 * `node:timers/promises`).
 *
 * @example
 * if (err instanceof Error && err.name === 'AbortError') return;
 */
export function abortError(signal?: AbortSignal): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. `sleep` registers a timer; `advance(ms)` moves time forward,
 * firing due timers in order and letting the promise chains they start settle between timers;
 * `run(promise)` keeps jumping to the next timer until `promise` settles (for fully simulated runs such
 * as `bench/identify.ts`). Only in-process (memory) backends can run on it.
 *
 * @example
 * const clock = new SimulatedClock();
 * const done = clock.sleep(5_000).then(() => clock.now());
 * await clock.run(done); // 5000, instantly
 */
export class SimulatedClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly heap: Timer[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Timers not yet fired (cancelled ones excluded). */
  get pendingTimers(): number {
    return this.heap.filter((t) => !t.cancelled).length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const onAbort = () => {
        timer.cancelled = true;
        reject(abortError(signal));
      };
      const timer: Timer = {
        at: this.current + Math.max(0, ms),
        seq: this.seq++,
        cancelled: false,
        fire: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.push(timer);
    });
  }

  /** Moves time forward by `ms`, firing every timer due on the way (in time order). */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await settle();
    for (;;) {
      const next = this.peek();
      if (!next || next.at > target) break;
      this.fireNext();
      await settle();
    }
    this.current = target;
    await settle();
  }

  /**
   * Runs the simulation until `promise` settles: whenever everything in flight is waiting on the clock,
   * jumps to the next timer. Throws if nothing can ever happen again (a deadlock) or `maxMs` of simulated
   * time pass.
   */
  async run<T>(promise: Promise<T>, maxMs = Number.POSITIVE_INFINITY): Promise<T> {
    let state: 'pending' | 'done' = 'pending';
    void promise.then(
      () => (state = 'done'),
      () => (state = 'done'),
    );
    const limit = this.current + maxMs;
    await settle();
    while (state === 'pending') {
      const next = this.peek();
      if (!next)
        throw new Error('SimulatedClock.run: deadlock, nothing scheduled and the promise is pending');
      if (next.at > limit) throw new Error(`SimulatedClock.run: still pending after ${maxMs} ms`);
      this.fireNext();
      await settle();
    }
    return promise;
  }

  private fireNext(): void {
    const timer = this.pop();
    if (!timer) return;
    this.current = Math.max(this.current, timer.at);
    timer.fire();
  }

  private peek(): Timer | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Lets every pending promise continuation run (one macrotask turn). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
