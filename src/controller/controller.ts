import { type Clock, type PubSub, isAbortError, systemClock } from '../coordination/index.js';
import type { Logger } from '../logging/logger.js';
import type { LeaderElector } from './leader-election.js';
import type { ControllerMetrics } from './metrics.js';
import type { ReconcileKey, Reconciler } from './reconciler.js';
import { RESHARD_CHANNEL } from './requests.js';
import { WORK_QUEUE_DEFAULTS, WorkQueue, type WorkQueueOptions } from './work-queue.js';

/**
 * Options of {@link Controller}.
 *
 * @example
 * const c = new Controller({ elector, reconciler, pubsub: coordination.pubsub, log, metrics, resyncMs: 30_000 });
 */
export interface ControllerOptions {
  readonly elector: LeaderElector;
  readonly reconciler: Pick<Reconciler, 'reconcile' | 'startTerm'>;
  /** Reshard requests wake the leader through this (optional: the resync finds them too). */
  readonly pubsub?: Pick<PubSub, 'subscribe'> | undefined;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  /** Periodic resync: every key is reconciled at least this often. */
  readonly resyncMs: number;
  readonly queue?: Partial<WorkQueueOptions> | undefined;
  readonly clock?: Clock | undefined;
}

const KEYS: readonly ReconcileKey[] = ['plan', 'commands'];

/**
 * The controller process: campaigns for leadership and, only while leading, runs the reconcile loop — a
 * keyed work queue (`plan`, `commands`) fed at leadership start, by reshard requests (pub/sub), by
 * requeue-after results and by a periodic resync; failures back off per key. A lost lease aborts the
 * loop at once: the in-flight reconcile sees its signal aborted and performs no further write.
 *
 * @example
 * const controller = new Controller({ elector, reconciler, pubsub, log, metrics, resyncMs: 30_000 });
 * controller.start();
 * lifecycle.onShutdown('controller', () => controller.stop());
 */
export class Controller {
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private queue: WorkQueue<ReconcileKey> | undefined;

  constructor(private readonly opts: ControllerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log.child({ module: 'controller' });
  }

  /** True while this process leads. */
  get isLeader(): boolean {
    return this.opts.elector.isLeader;
  }

  get identity(): string {
    return this.opts.elector.identity;
  }

  /** Starts campaigning (idempotent). */
  start(): void {
    this.running ??= this.opts.elector.run(
      (leading) => this.lead(leading),
      () => this.opts.metrics.leader.set(0),
      this.stopping.signal,
    );
  }

  /** Asks the leader loop for a pass of `key` now (no-op when not leading). */
  trigger(key: ReconcileKey = 'plan'): void {
    this.queue?.add(key);
  }

  /** Stops leading (releasing the lock) and campaigning. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  private async lead(leading: AbortSignal): Promise<void> {
    this.opts.metrics.leader.set(1);
    this.opts.reconciler.startTerm();
    const queue = new WorkQueue<ReconcileKey>({ ...WORK_QUEUE_DEFAULTS, ...this.opts.queue }, this.clock);
    this.queue = queue;
    const onAbort = () => queue.shutDown();
    leading.addEventListener('abort', onAbort, { once: true });
    let unsubscribe: (() => Promise<void>) | undefined;
    try {
      unsubscribe = await this.opts.pubsub?.subscribe(RESHARD_CHANNEL, () => queue.add('plan'));
    } catch (err) {
      this.log.warn(
        { err: { message: (err as Error).message } },
        'cannot subscribe to reshard requests; resync will find them',
      );
    }
    for (const k of KEYS) queue.add(k);
    const resync = (async () => {
      while (!leading.aborted) {
        try {
          await this.clock.sleep(this.opts.resyncMs, leading);
        } catch {
          return;
        }
        for (const k of KEYS) queue.addIfIdle(k);
      }
    })();

    try {
      for (;;) {
        let key: ReconcileKey;
        try {
          key = await queue.get(leading);
        } catch (err) {
          if (isAbortError(err)) break;
          throw err;
        }
        try {
          const result = await this.opts.reconciler.reconcile(key, leading);
          queue.forget(key);
          const after = result.requeueAfterMs;
          this.opts.metrics.reconciles.inc({ result: after !== undefined ? 'requeue' : 'success' });
          if (after !== undefined) queue.addAfter(key, after);
        } catch (err) {
          if (leading.aborted) break;
          this.opts.metrics.reconciles.inc({ result: 'error' });
          const delay = queue.nextBackoff(key);
          this.log.warn(
            { key, err: { message: err instanceof Error ? err.message : String(err) }, retryInMs: delay },
            'reconcile failed',
          );
          queue.addRateLimited(key);
        } finally {
          queue.done(key);
        }
      }
    } finally {
      leading.removeEventListener('abort', onAbort);
      queue.shutDown();
      if (this.queue === queue) this.queue = undefined;
      await resync;
      await unsubscribe?.().catch(() => undefined);
    }
  }
}
