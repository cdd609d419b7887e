// Simulated shard pods that follow the reshard contract (docs/reshard.md) without Discord connections:
// each pod watches the plan, leases up to shardsPerPod shards per generation it must run (preferred
// range first, then any free shard), "connects" them (a delay), marks them READY, refreshes READY on
// every tick, and for a draining generation releases its leases and clears READY. They stand in for the
// lead's real shard runtime, which is tested end to end separately.
import { type Coordination, type HeldLease, holdLease } from '../../src/coordination/index.js';
import {
  type ControllerPlan,
  clearShardReady,
  generationsToRun,
  markShardReady,
  podOrdinal,
  preferredShards,
} from '../../src/controller/index.js';

export interface FakePodOptions {
  readonly leaseTtlMs: number;
  /** Time between leasing a shard and it being READY. */
  readonly connectMs: number;
  readonly tickMs: number;
  /** A pod takes a shard outside its preferred range only after it was seen unleased this long. */
  readonly stealAfterMs?: number;
}

export class FakeShardPod {
  readonly held = new Map<string, { lease: HeldLease; readyAt: number }>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private stopped = false;
  private readonly unleasedSince = new Map<string, number>();

  constructor(
    readonly name: string,
    private readonly coordination: Coordination,
    private readonly opts: FakePodOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs);
    void this.tick();
  }

  /** Graceful stop: release every lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    while (this.ticking) await new Promise((r) => setTimeout(r, 5));
    await Promise.all([...this.held.values()].map((h) => h.lease.release()));
    this.held.clear();
  }

  shards(generation: number): number[] {
    return [...this.held.values()]
      .filter((h) => h.lease.generation === generation && !h.lease.lost)
      .map((h) => h.lease.shardId)
      .sort((a, b) => a - b);
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const plan = (await this.coordination.plans.get()) as ControllerPlan | null;
      if (!plan) return;
      const runs = generationsToRun(plan);
      const wanted = new Set(runs.filter((r) => r.mode !== 'draining').map((r) => r.generation));
      // Drop leases of generations that are draining or no longer in the plan.
      for (const [key, h] of this.held) {
        if (h.lease.lost || !wanted.has(h.lease.generation)) {
          this.held.delete(key);
          await clearShardReady(this.coordination.cache, h.lease.generation, h.lease.shardId);
          await h.lease.release();
        }
      }
      const ordinal = podOrdinal(this.name) ?? 0;
      for (const run of runs) {
        if (run.mode === 'draining') continue;
        const mine = this.shards(run.generation);
        if (mine.length < plan.shardsPerPod) {
          const taken = new Set(
            (await this.coordination.leases.holders(run.generation)).map((l) => l.shardId),
          );
          const preferred = preferredShards(run.totalShards, plan.shardsPerPod, ordinal);
          const others = Array.from({ length: run.totalShards }, (_, s) => s).filter(
            (s) => !preferred.includes(s),
          );
          for (const s of [...preferred, ...others]) {
            if (this.shards(run.generation).length >= plan.shardsPerPod) break;
            const key = `${run.generation}:${s}`;
            if (!preferred.includes(s)) {
              // Leave other pods' preferred shards to them for a while (they may be starting).
              if (taken.has(s)) {
                this.unleasedSince.delete(key);
                continue;
              }
              const since = this.unleasedSince.get(key) ?? Date.now();
              this.unleasedSince.set(key, since);
              if (Date.now() - since < (this.opts.stealAfterMs ?? 10 * this.opts.tickMs)) continue;
            }
            if (this.held.has(key)) continue;
            const lease = await holdLease(this.coordination.leases, {
              generation: run.generation,
              shardId: s,
              holder: this.name,
              ttlMs: this.opts.leaseTtlMs,
              onLost: () => undefined,
            });
            if (lease) this.held.set(key, { lease, readyAt: Date.now() + this.opts.connectMs });
          }
        }
      }
      // READY after the connect delay, refreshed every tick.
      for (const h of this.held.values()) {
        if (h.lease.lost || Date.now() < h.readyAt) continue;
        await markShardReady(
          this.coordination.cache,
          {
            generation: h.lease.generation,
            shardId: h.lease.shardId,
            holder: this.name,
            epoch: h.lease.epoch,
          },
          this.opts.leaseTtlMs,
        );
      }
    } catch {
      // Coordination hiccups: the next tick retries.
    } finally {
      this.ticking = false;
    }
  }
}

/** Runs a FakeShardPod for every pod name `podNames()` reports (pods appear and disappear with scaling). */
export class FakePodSupervisor {
  readonly pods = new Map<string, FakeShardPod>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly podNames: () => string[],
    private readonly coordination: () => Promise<Coordination>,
    private readonly opts: FakePodOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sync(), this.opts.tickMs);
    void this.sync();
  }

  private syncing = false;

  private async sync(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const names = new Set(this.podNames());
      for (const n of names) {
        if (this.pods.has(n)) continue;
        const pod = new FakeShardPod(n, await this.coordination(), this.opts);
        this.pods.set(n, pod);
        pod.start();
      }
      for (const [n, pod] of this.pods) {
        if (names.has(n)) continue;
        this.pods.delete(n);
        await pod.stop();
      }
    } finally {
      this.syncing = false;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.syncing) await new Promise((r) => setTimeout(r, 5));
    await Promise.all([...this.pods.values()].map((p) => p.stop()));
    this.pods.clear();
  }
}
