import type { REST } from '@discordjs/rest';
import { CloseCodes, WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import type {
  GatewayDispatchPayload,
  GatewayIntentBits,
  GatewayReadyDispatchData,
} from 'discord-api-types/v10';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  type Coordination,
  type ShardPlan,
  identifyThrottler,
  sessionInfoCallbacks,
} from '../coordination/index.js';
import type { SessionCallbacks } from '../coordination/session-store.js';
import type { Logger } from '../logging/logger.js';

/** The lease a pod holds on one shard, and the fence its writes carry. */
export interface HeldShard {
  readonly shardId: number;
  readonly generation: number;
  readonly epoch: number;
}

/** Called for every dispatch of a held shard, with the lease it arrived under. */
export type DispatchHandler = (payload: GatewayDispatchPayload, shard: HeldShard, receivedAt: number) => void;

/** Required options of {@link ShardPod}. */
export interface ShardPodRequired {
  /** Stable pod identity; a trailing `-<n>` (StatefulSet ordinal) picks its preferred shards. */
  readonly podName: string;
  readonly token: string;
  readonly intents: GatewayIntentBits | number;
  /** REST client pointed at Discord (or the simulator): the managers read `GET /gateway/bot` through it. */
  readonly rest: REST;
  readonly coordination: Coordination;
  readonly log: Logger;
  readonly onDispatch: DispatchHandler;
}

/** Optional options of {@link ShardPod}; defaults in {@link SHARD_POD_DEFAULTS}. */
export interface ShardPodOptional {
  readonly leaseTtlMs: number;
  /** Most shards one pod takes while others are dead (orphans); its plan share is `shardsPerPod`. */
  readonly maxShards: number;
  readonly metrics: Registry | undefined;
  readonly onReady: ((shard: HeldShard, data: GatewayReadyDispatchData) => void) | undefined;
  readonly onRelease: ((shard: HeldShard) => void) | undefined;
}

export const SHARD_POD_DEFAULTS = {
  leaseTtlMs: 15_000,
  maxShards: 64,
  metrics: undefined,
  onReady: undefined,
  onRelease: undefined,
} as const satisfies ShardPodOptional;

interface Connection {
  readonly held: HeldShard;
  readonly manager: WebSocketManager;
  readonly sessions: SessionCallbacks;
  readonly plan: ShardPlan;
  ready: boolean;
  latencyMs: number;
}

const WANT_PREFIX = 'shard-want:';

/**
 * One shard pod: follows the published plan, leases shards (its preferred share first, then shards
 * nobody holds), connects each leased shard with its own `@discordjs/ws` WebSocketManager — identify paced
 * by the shared {@link Coordination.identify} queue, session info from the shared session store, so a
 * shard taken over from a dead or departing pod RESUMEs instead of identifying — renews every lease each
 * TTL/3 and drops a shard at once when its renewal fails. A pod holding a shard that belongs to another
 * live pod's share hands it back when that pod asks (a `want` key), so a restarted pod gets its shards
 * back without anyone re-identifying. `stop()` flushes sessions, closes every shard with a resumable close
 * code and releases the leases, so the next owner resumes.
 *
 * @example
 * const pod = new ShardPod({ podName: 'guildhall-shard-0', token, intents, rest, coordination, log, onDispatch });
 * await pod.start();
 * lifecycle.onShutdown('shards', () => pod.stop());
 */
export class ShardPod {
  private readonly opts: ShardPodRequired & ShardPodOptional;
  private readonly log: Logger;
  private readonly connections = new Map<number, Connection>();
  private plan: ShardPlan | null = null;
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => Promise<void>) | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly m: ReturnType<typeof podMetrics> | undefined;

  constructor(opts: ShardPodRequired & Partial<ShardPodOptional>) {
    this.opts = { ...SHARD_POD_DEFAULTS, ...opts };
    this.log = opts.log.child({ module: 'shard-pod', pod: opts.podName });
    this.m = this.opts.metrics ? podMetrics(this.opts.metrics, () => this.connections) : undefined;
  }

  /** The shards this pod holds now. */
  held(): HeldShard[] {
    return [...this.connections.values()].map((c) => c.held).sort((a, b) => a.shardId - b.shardId);
  }

  /** Per-shard status for `/status` and the cluster view. */
  status(): { shardId: number; generation: number; ready: boolean; latencyMs: number }[] {
    return [...this.connections.values()].map((c) => ({
      shardId: c.held.shardId,
      generation: c.held.generation,
      ready: c.ready,
      latencyMs: c.latencyMs,
    }));
  }

  get currentPlan(): ShardPlan | null {
    return this.plan;
  }

  async start(): Promise<void> {
    this.unwatch = await this.opts.coordination.plans.watch((plan) => {
      this.plan = plan;
      this.schedule(0);
    });
    this.schedule(0);
  }

  /** Hands every shard over (resumable) and releases the leases. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.unwatch?.();
    await this.ticking.catch(() => undefined);
    await Promise.all([...this.connections.values()].map((c) => this.release(c, 'shutdown')));
    await this.opts.coordination.sessions
      .flush()
      .catch((err: unknown) => this.log.warn({ err }, 'session flush failed'));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.ticking = this.ticking
        .then(() => this.tick())
        .catch((err: unknown) => this.log.error({ err }, 'shard reconcile failed'))
        .finally(() => this.schedule(Math.max(250, Math.floor(this.opts.leaseTtlMs / 3))));
    }, delayMs);
  }

  /** One reconcile pass: renew, follow the plan, hand back wanted shards, take free ones. */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    const plan = this.plan;
    const { leases } = this.opts.coordination;
    const ttl = this.opts.leaseTtlMs;

    // 1. Renew what we hold; a failed renewal (lapsed, stolen, fenced) drops the shard at once.
    await Promise.all(
      [...this.connections.values()].map(async (c) => {
        let ok = false;
        try {
          ok = await leases.renew(c.held.generation, c.held.shardId, this.opts.podName, c.held.epoch, ttl);
        } catch (err) {
          // Redis unreachable: keep the connection until the lease would have lapsed.
          this.log.warn({ err, shardId: c.held.shardId }, 'lease renewal failed');
          return;
        }
        if (!ok) {
          this.m?.leaseChanges.inc({ change: 'lost' });
          this.log.warn({ shardId: c.held.shardId, epoch: c.held.epoch }, 'lease lost; dropping shard');
          await this.release(c, 'lease-lost');
        }
      }),
    );
    if (!plan || this.stopped) return;

    // 2. Shards of another generation (or beyond the plan) are released.
    for (const c of [...this.connections.values()]) {
      if (c.held.generation !== plan.generation || c.held.shardId >= plan.totalShards)
        await this.release(c, 'plan-changed');
    }

    const preferred = preferredShards(this.opts.podName, plan);
    // 3. Hand back shards another pod prefers and asks for (only while it is not one of ours).
    for (const c of [...this.connections.values()]) {
      if (preferred.includes(c.held.shardId)) continue;
      const wanter = await this.opts.coordination.cache.get<string>(wantKey(plan.generation, c.held.shardId));
      if (wanter && wanter !== this.opts.podName) {
        this.log.info({ shardId: c.held.shardId, to: wanter }, 'handing shard back to its preferred pod');
        await this.release(c, 'handback');
      }
    }

    // 4. Take shards: preferred first (asking the holder for them), then any nobody holds.
    const holders = new Map((await leases.holders(plan.generation)).map((l) => [l.shardId, l.holder]));
    const all = Array.from({ length: plan.totalShards }, (_, i) => i);
    const orphans = all.filter((s) => !holders.has(s) && !preferred.includes(s));
    for (const s of preferred) {
      if (this.connections.has(s)) continue;
      const holder = holders.get(s);
      if (holder && holder !== this.opts.podName) {
        await this.opts.coordination.cache.set(
          wantKey(plan.generation, s),
          this.opts.podName,
          Math.max(1000, ttl),
        );
        continue;
      }
      await this.take(plan, s);
    }
    for (const s of orphans) {
      if (this.connections.size >= this.opts.maxShards || this.stopped) break;
      // A shard its preferred pod asked for is left for that pod.
      const wanter = await this.opts.coordination.cache.get<string>(wantKey(plan.generation, s));
      if (wanter && wanter !== this.opts.podName) continue;
      await this.take(plan, s);
    }
  }

  private async take(plan: ShardPlan, shardId: number): Promise<void> {
    const lease = await this.opts.coordination.leases.acquire(
      plan.generation,
      shardId,
      this.opts.podName,
      this.opts.leaseTtlMs,
    );
    if (!lease || this.stopped) {
      if (lease)
        await this.opts.coordination.leases.release(plan.generation, shardId, this.opts.podName, lease.epoch);
      return;
    }
    const held: HeldShard = { shardId, generation: plan.generation, epoch: lease.epoch };
    this.m?.leaseChanges.inc({ change: 'acquired' });
    this.log.info(
      { shardId, generation: plan.generation, epoch: lease.epoch },
      'lease acquired; connecting shard',
    );
    await this.connect(plan, held);
  }

  private async connect(plan: ShardPlan, held: HeldShard): Promise<void> {
    const { coordination } = this.opts;
    const sessions = sessionInfoCallbacks(coordination.sessions, {
      shardCount: plan.totalShards,
      fence: () => ({ generation: held.generation, epoch: held.epoch }),
    });
    const manager = new WebSocketManager({
      token: this.opts.token,
      intents: this.opts.intents,
      rest: this.opts.rest,
      shardCount: plan.totalShards,
      shardIds: [held.shardId],
      buildIdentifyThrottler: identifyThrottler(coordination.identify, { log: this.log }),
      retrieveSessionInfo: sessions.retrieveSessionInfo,
      updateSessionInfo: sessions.updateSessionInfo,
    });
    const conn: Connection = { held, manager, sessions, plan, ready: false, latencyMs: -1 };
    this.connections.set(held.shardId, conn);
    manager.on(WebSocketShardEvents.Dispatch, (payload) => {
      try {
        this.opts.onDispatch(payload, held, Date.now());
      } catch (err) {
        this.log.error({ err, shardId: held.shardId, event: payload.t }, 'dispatch handler failed');
      }
    });
    manager.on(WebSocketShardEvents.Ready, (data) => {
      conn.ready = true;
      this.m?.identifies.inc();
      this.log.info({ shardId: held.shardId, guilds: data.guilds.length }, 'shard ready (identified)');
      this.opts.onReady?.(held, data);
    });
    manager.on(WebSocketShardEvents.Resumed, () => {
      conn.ready = true;
      this.m?.resumes.inc();
      this.log.info({ shardId: held.shardId }, 'shard resumed');
    });
    manager.on(WebSocketShardEvents.HeartbeatComplete, (stats) => {
      conn.latencyMs = stats.latency;
    });
    manager.on(WebSocketShardEvents.Closed, (code) => {
      this.log.info({ shardId: held.shardId, code }, 'shard connection closed');
    });
    manager.on(WebSocketShardEvents.Error, (err) =>
      this.log.warn({ err, shardId: held.shardId }, 'shard error'),
    );
    try {
      await manager.connect();
    } catch (err) {
      this.log.error({ err, shardId: held.shardId }, 'shard connect failed; releasing it');
      await this.release(conn, 'connect-failed');
    }
  }

  /** Hands a shard over: stop recording its session, close it resumably, release the lease. */
  private async release(c: Connection, reason: string): Promise<void> {
    if (this.connections.get(c.held.shardId) !== c) return;
    this.connections.delete(c.held.shardId);
    try {
      await c.sessions.handOver([c.held.shardId]);
    } catch (err) {
      this.log.warn({ err, shardId: c.held.shardId }, 'session hand-over failed');
    }
    try {
      await c.manager.destroy({ code: CloseCodes.Resuming, reason });
    } catch (err) {
      this.log.warn({ err, shardId: c.held.shardId }, 'shard destroy failed');
    }
    try {
      await this.opts.coordination.leases.release(
        c.held.generation,
        c.held.shardId,
        this.opts.podName,
        c.held.epoch,
      );
    } catch (err) {
      this.log.warn({ err, shardId: c.held.shardId }, 'lease release failed (it will expire)');
    }
    this.m?.leaseChanges.inc({ change: 'released' });
    this.log.info({ shardId: c.held.shardId, reason }, 'shard released');
    this.opts.onRelease?.(c.held);
  }
}

/** The shards a pod prefers: its ordinal's slice of the plan (`podName` ends in `-<ordinal>`). */
export function preferredShards(podName: string, plan: ShardPlan): number[] {
  const m = /-(\d+)$/.exec(podName);
  if (!m) return [];
  const first = Number(m[1]) * plan.shardsPerPod;
  const out: number[] = [];
  for (let s = first; s < first + plan.shardsPerPod && s < plan.totalShards; s++) out.push(s);
  return out;
}

function wantKey(generation: number, shardId: number): string {
  return `${WANT_PREFIX}${generation}:${shardId}`;
}

function podMetrics(registry: Registry, connections: () => Map<number, Connection>) {
  return {
    identifies: new Counter({
      name: 'guildhall_gateway_identifies_total',
      help: 'Shard sessions started with IDENTIFY (READY received).',
      registers: [registry],
    }),
    resumes: new Counter({
      name: 'guildhall_gateway_resumes_total',
      help: 'Shard sessions continued with RESUME (RESUMED received).',
      registers: [registry],
    }),
    leaseChanges: new Counter({
      name: 'guildhall_shard_lease_changes_total',
      help: 'Shard lease changes of this pod, by change (acquired, released, lost).',
      labelNames: ['change'],
      registers: [registry],
    }),
    held: new Gauge({
      name: 'guildhall_shards_held',
      help: 'Shards this pod holds a lease on.',
      registers: [registry],
      collect() {
        this.set(connections().size);
      },
    }),
    latency: new Gauge({
      name: 'guildhall_gateway_latency_seconds',
      help: 'Last heartbeat round trip per shard.',
      labelNames: ['shard'],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of connections().values()) {
          if (c.latencyMs >= 0) this.set({ shard: String(c.held.shardId) }, c.latencyMs / 1000);
        }
      },
    }),
  };
}
