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
import type { SessionCallbacks, SessionInfo } from '../coordination/session-store.js';
import type { Logger } from '../logging/logger.js';
import { type SessionCheckpoint, checkpointKey } from './event-pipeline.js';
import { podOrdinal, preferredShards } from '../controller/plan.js';

/** The lease a pod holds on one shard, and the fence its writes carry. */
export interface HeldShard {
  readonly shardId: number;
  readonly generation: number;
  readonly epoch: number;
}

/**
 * Called for every new dispatch of a held shard (replays of dispatches already recorded are not passed
 * on), with the lease it arrived under and the key of its session stream (see {@link ShardStream}).
 */
export type DispatchHandler = (
  payload: GatewayDispatchPayload,
  shard: HeldShard,
  receivedAt: number,
  stream: string,
) => void;

/**
 * Where a shard's handled dispatches become durable — the event pipeline. The pod persists a session's
 * resume point only up to the durable seq, and on takeover skips replayed dispatches up to the previous
 * owner's checkpoint, so nothing is recorded twice or skipped.
 */
export interface ShardStream {
  lastCheckpoint(key: string): Promise<SessionCheckpoint | null>;
  track(key: string, start: SessionCheckpoint, onDurable: (seq: number) => void): void;
  untrack(key: string): void;
  processed(key: string, seq: number): void;
  flush(): Promise<void>;
}

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
  readonly stream: ShardStream;
}

/** Optional options of {@link ShardPod}; defaults in {@link SHARD_POD_DEFAULTS}. */
export interface ShardPodOptional {
  readonly leaseTtlMs: number;
  /** Most shards one pod takes while others are dead (orphans); its plan share is `shardsPerPod`. */
  readonly maxShards: number;
  readonly metrics: Registry | undefined;
  readonly onReady: ((shard: HeldShard, data: GatewayReadyDispatchData) => void) | undefined;
  readonly onRelease: ((shard: HeldShard) => void) | undefined;
  /** IDENTIFY `large_threshold` (50–250; null = Discord's default 50). */
  readonly largeThreshold: number | null;
}

export const SHARD_POD_DEFAULTS = {
  leaseTtlMs: 15_000,
  maxShards: 64,
  metrics: undefined,
  onReady: undefined,
  onRelease: undefined,
  largeThreshold: null,
} as const satisfies ShardPodOptional;

interface Connection {
  readonly held: HeldShard;
  readonly key: string;
  /** Undefined until the session prelude (stored session, checkpoint) has been read. */
  manager: WebSocketManager | undefined;
  readonly sessions: SessionCallbacks;
  readonly plan: ShardPlan;
  ready: boolean;
  latencyMs: number;
  /** Session the stream is tracking, and the last seq handled (replays at or below it are skipped). */
  sessionId: string | null;
  lastSeq: number;
  /** Highest seq whose events are in the log (the pipeline's checkpoint). */
  durable: number;
  /** The newest session info @discordjs/ws reported (persisted only up to the durable seq). */
  latest: SessionInfo | null;
  /** What was last handed to the session store. */
  persisted: { sessionId: string; sequence: number };
  /** When the lease was last acquired or renewed (local clock). */
  renewedAt: number;
  closing: boolean;
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
          // Redis unreachable: keep the connection while the lease would still be ours; past that another
          // pod may hold it, so hand the shard over (resumably) and take it again once Redis is back.
          if (Date.now() - c.renewedAt < ttl) {
            this.log.warn(
              { err, shardId: c.held.shardId },
              'lease renewal failed; keeping the shard until its lease would lapse',
            );
            return;
          }
          this.m?.leaseChanges.inc({ change: 'lost' });
          this.log.error(
            { shardId: c.held.shardId },
            'lease could not be renewed within its TTL; dropping shard',
          );
          await this.release(c, 'lease-unrenewable');
          return;
        }
        if (ok) c.renewedAt = Date.now();
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

    const preferred = preferredFor(this.opts.podName, plan);
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
    // Connecting waits for the identify queue (seconds); it must never hold up lease renewals.
    void this.connect(plan, held).catch((err: unknown) =>
      this.log.error({ err, shardId }, 'shard connect crashed'),
    );
  }

  private async connect(plan: ShardPlan, held: HeldShard): Promise<void> {
    const { coordination, stream } = this.opts;
    const key = checkpointKey(plan.totalShards, held.shardId);
    const store = sessionInfoCallbacks(coordination.sessions, {
      shardCount: plan.totalShards,
      fence: () => ({ generation: held.generation, epoch: held.epoch }),
    });
    const conn: Connection = {
      held,
      key,
      manager: undefined,
      sessions: store,
      plan,
      ready: false,
      latencyMs: -1,
      sessionId: null,
      lastSeq: 0,
      durable: 0,
      latest: null,
      persisted: { sessionId: '', sequence: -1 },
      renewedAt: Date.now(),
      closing: false,
    };
    this.connections.set(held.shardId, conn);
    // Resume where the previous owner's recorded events end: its session (persisted never beyond that
    // point) is replayed from there, and replays up to its checkpoint are skipped.
    const stored = await store.retrieveSessionInfo(held.shardId);
    if (stored) {
      const cp = await stream.lastCheckpoint(key);
      const seq = cp && cp.sessionId === stored.sessionId ? cp.seq : stored.sequence;
      conn.sessionId = stored.sessionId;
      conn.lastSeq = seq;
      conn.durable = seq;
      stream.track(key, { sessionId: stored.sessionId, seq }, (d) => this.persist(conn, d));
    }
    const manager = new WebSocketManager({
      token: this.opts.token,
      intents: this.opts.intents,
      rest: this.opts.rest,
      shardCount: plan.totalShards,
      shardIds: [held.shardId],
      largeThreshold: this.opts.largeThreshold,
      buildIdentifyThrottler: identifyThrottler(coordination.identify, { log: this.log }),
      retrieveSessionInfo: store.retrieveSessionInfo,
      updateSessionInfo: (shardId, info) => {
        if (info === null) {
          store.updateSessionInfo(shardId, null);
          return;
        }
        conn.latest = info;
        // A brand-new session (READY) is persisted at its first seq; later ones at the durable seq —
        // which moves per append, not per dispatch, so most calls have nothing new to write.
        const durable = info.sessionId === conn.sessionId ? conn.durable : Math.min(info.sequence, 1);
        const sequence = Math.min(info.sequence, durable);
        if (info.sessionId === conn.persisted.sessionId && sequence === conn.persisted.sequence) return;
        conn.persisted = { sessionId: info.sessionId, sequence };
        store.updateSessionInfo(shardId, { ...info, sequence });
      },
    });
    if (this.connections.get(held.shardId) !== conn) return; // released while reading the session
    conn.manager = manager;
    manager.on(WebSocketShardEvents.Dispatch, (payload) => this.onDispatch(conn, payload));
    manager.on(WebSocketShardEvents.Ready, (data) => {
      conn.ready = true;
      this.m?.identifies.inc();
      this.log.info({ shardId: held.shardId, guilds: data.guilds.length }, 'shard ready (identified)');
      this.opts.onReady?.(held, data);
    });
    manager.on(WebSocketShardEvents.Resumed, () => {
      conn.ready = true;
      this.m?.resumes.inc();
      this.log.info({ shardId: held.shardId, seq: conn.lastSeq }, 'shard resumed');
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

  private onDispatch(conn: Connection, payload: GatewayDispatchPayload): void {
    if (conn.closing) return; // the next owner gets it replayed
    const seq = payload.s;
    if (payload.t === 'READY') {
      conn.sessionId = payload.d.session_id;
      conn.lastSeq = seq - 1;
      conn.durable = seq - 1;
      this.opts.stream.track(conn.key, { sessionId: conn.sessionId, seq: seq - 1 }, (d) =>
        this.persist(conn, d),
      );
    } else if (seq <= conn.lastSeq) {
      this.m?.replaysSkipped.inc();
      return; // already recorded (by us before a reconnect, or by the previous owner)
    }
    conn.lastSeq = seq;
    try {
      this.opts.onDispatch(payload, conn.held, Date.now(), conn.key);
    } catch (err) {
      this.log.error({ err, shardId: conn.held.shardId, event: payload.t }, 'dispatch handler failed');
    }
    this.opts.stream.processed(conn.key, seq);
  }

  /** Persists the session's resume point as far as its events are durable. */
  private persist(conn: Connection, durable: number): void {
    conn.durable = durable;
    const info = conn.latest;
    if (!info || info.sessionId !== conn.sessionId || conn.closing) return;
    const sequence = Math.min(info.sequence, durable);
    conn.persisted = { sessionId: info.sessionId, sequence };
    conn.sessions.updateSessionInfo(conn.held.shardId, { ...info, sequence });
  }

  /** Hands a shard over: stop recording its session, close it resumably, release the lease. */
  private async release(c: Connection, reason: string): Promise<void> {
    if (this.connections.get(c.held.shardId) !== c) return;
    this.connections.delete(c.held.shardId);
    // Stop handling dispatches, make what was handled durable (which persists the session up to it),
    // then stop recording the session so destroy()'s null report cannot erase it.
    try {
      await this.opts.stream.flush();
    } catch (err) {
      this.log.warn({ err, shardId: c.held.shardId }, 'event flush before hand-over failed');
    }
    c.closing = true;
    this.opts.stream.untrack(c.key);
    try {
      await c.sessions.handOver([c.held.shardId]);
    } catch (err) {
      this.log.warn({ err, shardId: c.held.shardId }, 'session hand-over failed');
    }
    try {
      // Bounded: destroying a shard that is still mid-handshake can wait on the gateway; the session stays
      // resumable either way (no 1000 close is sent).
      await withTimeout(Promise.resolve(c.manager?.destroy({ code: CloseCodes.Resuming, reason })), 3_000);
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

async function withTimeout(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!p) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** The shards a pod prefers: its StatefulSet ordinal's slice of the plan (none without an ordinal). */
function preferredFor(podName: string, plan: ShardPlan): number[] {
  const ordinal = podOrdinal(podName);
  return ordinal === null ? [] : preferredShards(plan.totalShards, plan.shardsPerPod, ordinal);
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
    replaysSkipped: new Counter({
      name: 'guildhall_gateway_replays_skipped_total',
      help: 'Replayed dispatches skipped after a resume because their events were already recorded.',
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
