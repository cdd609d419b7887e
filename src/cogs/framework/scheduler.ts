import type { CogClock } from './services.js';

/** A scheduled timer; `cancel()` stops it (idempotent). */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Timers owned by one cog instance. Unloading the instance (unload or reload) cancels all of them and
 * aborts `signal`, so no callback of an old instance runs afterwards. Callback errors are caught and
 * reported (logged and counted by the host), never thrown into the event loop.
 *
 * @example
 * const h = ctx.scheduler.setTimeout(() => remind(userId), 60_000);
 * ctx.scheduler.setInterval(() => flushCounters(), 10_000);
 * await fetch(url, { signal: ctx.scheduler.signal });
 * h.cancel();
 */
export interface CogScheduler {
  /** Runs `fn` once after `ms`. */
  setTimeout(fn: () => unknown, ms: number): TimerHandle;
  /** Runs `fn` every `ms` (fixed delay: the next wait starts when `fn` settles). */
  setInterval(fn: () => unknown, ms: number): TimerHandle;
  /** Aborted when the instance is unloaded; pass it to long-running work. */
  readonly signal: AbortSignal;
  /** Timers still pending. */
  readonly pending: number;
}

/**
 * The {@link CogScheduler} implementation over a {@link CogClock}. The host creates one per cog instance
 * and calls `dispose()` on unload.
 *
 * @example
 * const s = new InstanceScheduler(systemCogClock, (err) => log.error({ err }, 'timer failed'));
 * s.setTimeout(() => log.info('later'), 1_000);
 * s.dispose(); // nothing fires
 */
export class InstanceScheduler implements CogScheduler {
  private readonly root = new AbortController();
  private readonly timers = new Set<AbortController>();

  constructor(
    private readonly clock: CogClock,
    private readonly onError: (err: unknown) => void,
  ) {}

  get signal(): AbortSignal {
    return this.root.signal;
  }

  get pending(): number {
    return this.timers.size;
  }

  get disposed(): boolean {
    return this.root.signal.aborted;
  }

  setTimeout(fn: () => unknown, ms: number): TimerHandle {
    const timer = this.track();
    if (!timer) return { cancel: () => undefined };
    this.clock.sleep(ms, timer.signal).then(
      () => {
        this.timers.delete(timer);
        return this.run(fn);
      },
      () => this.timers.delete(timer),
    );
    return { cancel: () => this.cancel(timer) };
  }

  setInterval(fn: () => unknown, ms: number): TimerHandle {
    const timer = this.track();
    if (!timer) return { cancel: () => undefined };
    const loop = async () => {
      try {
        for (;;) {
          await this.clock.sleep(ms, timer.signal);
          await this.run(fn);
          if (timer.signal.aborted) return;
        }
      } catch {
        // aborted: cancelled or disposed
      } finally {
        this.timers.delete(timer);
      }
    };
    void loop();
    return { cancel: () => this.cancel(timer) };
  }

  /** Cancels every timer and aborts `signal`; later `setTimeout`/`setInterval` calls do nothing. */
  dispose(): void {
    this.root.abort();
    for (const t of this.timers) t.abort();
    this.timers.clear();
  }

  private track(): AbortController | undefined {
    if (this.disposed) return undefined;
    const timer = new AbortController();
    this.timers.add(timer);
    return timer;
  }

  private cancel(timer: AbortController): void {
    timer.abort();
    this.timers.delete(timer);
  }

  private async run(fn: () => unknown): Promise<void> {
    if (this.disposed) return;
    try {
      await fn();
    } catch (err) {
      this.onError(err);
    }
  }
}
