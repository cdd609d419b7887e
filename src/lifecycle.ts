import type { Logger } from './logging/logger.js';

type Hook = { name: string; fn: () => Promise<void> | void };

/**
 * Graceful shutdown for a long-running role. Components register a close hook as they start; on SIGTERM or
 * SIGINT the hooks run in reverse start order (stop taking work → flush → close), bounded by a timeout,
 * and the process exits 0 (1 if a hook failed or the timeout hit).
 *
 * @example
 * const life = new Lifecycle(log, 10_000);
 * const server = app.listen(8080);
 * life.onShutdown('http', () => new Promise((r) => server.close(() => r())));
 * life.installSignalHandlers();
 */
export class Lifecycle {
  private readonly hooks: Hook[] = [];
  private stopping: Promise<boolean> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {}

  onShutdown(name: string, fn: Hook['fn']): void {
    this.hooks.push({ name, fn });
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Runs every hook once (reverse order); resolves true when all succeeded within the timeout. */
  shutdown(reason: string): Promise<boolean> {
    this.stopping ??= this.runHooks(reason);
    return this.stopping;
  }

  installSignalHandlers(exit: (code: number) => void = (code) => process.exit(code)): void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.isStopping) {
        this.log.warn({ signal }, 'second signal during shutdown, exiting now');
        exit(1);
        return;
      }
      void this.shutdown(signal).then((ok) => exit(ok ? 0 : 1));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  private async runHooks(reason: string): Promise<boolean> {
    this.log.info({ reason }, 'shutting down');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
      timer.unref();
    });
    let current = '';
    const run = (async () => {
      let ok = true;
      for (const hook of [...this.hooks].reverse()) {
        current = hook.name;
        const started = Date.now();
        try {
          await hook.fn();
          const ms = Date.now() - started;
          if (ms > 1000) this.log.warn({ hook: hook.name, ms }, 'slow shutdown hook');
          else this.log.debug({ hook: hook.name, ms }, 'closed');
        } catch (err) {
          ok = false;
          this.log.error({ err, hook: hook.name }, 'shutdown hook failed');
        }
      }
      return ok;
    })();
    const outcome = await Promise.race([run, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.log.error({ timeoutMs: this.timeoutMs, hook: current }, 'graceful shutdown timed out');
      return false;
    }
    this.log.info('shutdown complete');
    return outcome;
  }
}
