import type { REST } from '@discordjs/rest';
import { CloseCodes, WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import type {
  GatewayDispatchPayload,
  GatewayIntentBits,
  GatewayReadyDispatchData,
} from 'discord-api-types/v10';
import { Counter, Gauge, type Registry } from 'prom-client';
import { type Coordination, identifyThrottler, sessionInfoCallbacks } from '../coordination/index.js';
import { clearShardReady, markShardReady } from '../controller/readiness.js';
import type { SessionCallbacks, SessionInfo } from '../coordination/session-store.js';
import type { Logger } from '../logging/logger.js';
import { type SessionCheckpoint, checkpointKey } from './event-pipeline.js';
import {
  type ControllerPlan,
  type GenerationMode,
  type GenerationToRun,
  generationsToRun,
  podOrdinal,
  preferredShards,
} from '../controller/plan.js';

/** The lease a pod holds on one shard, and the fence its writes carry. */
export interface HeldShard {
  readonly shardId: number;
  readonly generation: number;
  /** The shard count of the shard's generation (its layout: `(guild_id >> 22) % totalShards`). */
  readonly totalShards: number;
  readonly epoch: number;
}

/**
 * What a dispatch may do (see docs/reshard.md): `run` cog side effects; `claim` them first
 * (`coordination.claims`, per event) because another generation may deliver the same event during a
 * reshard; `skip` them (a shadow generation keeps state and records events, nothing else).
 */
export type SideEffects = 'run' | 'claim' | 'skip';

/**
 * Called for every new dispatch of a held shard (replays of dispatches already recorded are not passed
 * on), with the lease it arrived under, the key of its session stream (see {@link ShardStream}) and what
 * side effects it may have. A returned promise holds back the shard's later dispatches (and the
 * durable-seq advance of this one) until it settles, so per-shard order is kept.
 */
export type DispatchHandler = (
  payload: GatewayDispatchPayload,
  shard: HeldShard,
  receivedAt: number,
  stream: string,
  sideEffects: SideEffects,
) => void | Promise<void>;

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
  /**
   * Called when a shard is let go, after its last dispatch was handled and before its lease is released:
   * finish whatever must be written under this lease's fence (the next owner's fence is newer).
   */
  readonly beforeRelease: ((shard: HeldShard) => Promise<void>) | undefined;
  /** IDENTIFY `large_threshold` (50–250; null = Discord's default 50). */
  readonly largeThreshold: number | null;
  /** After READY, how long to wait for the unavailable guilds' GUILD_CREATEs before reporting READY anyway. */
  readonly guildWaitMs: number;
  /**
   * How long after a reshard ends (the plan is stable again) side effects keep being claimed: events of
   * the drained generation may still be in flight.
   */
  readonly claimTailMs: number;
}

export const SHARD_POD_DEFAULTS = {
  leaseTtlMs: 15_000,
  maxShards: 64,
  metrics: undefined,
  onReady: undefined,
  onRelease: undefined,
  beforeRelease: undefined,
  largeThreshold: null,
  guildWaitMs: 15_000,
  claimTailMs: 60_000,
} as const satisfies ShardPodOptional;

interface Connection {
  /** `<generation>:<shardId>`: the key of {@link ShardPod}'s connection map. */
  readonly id: string;
  readonly held: HeldShard;
  /** The session stream's checkpoint key. */
  readonly key: string;
  /** Undefined until the session prelude (stored session, checkpoint) has been read. */
  manager: WebSocketManager | undefined;
  readonly sessions: SessionCallbacks;
  /** The session is up (READY or RESUMED received, not closed since). */
  ready: boolean;
  /** READY reported to the controller (the initial GUILD_CREATE burst processed). */
  reported: boolean;
  /** Guilds READY listed as unavailable whose GUILD_CREATE has not arrived yet. */
  awaiting: Set<string> | null;
  guildWait: NodeJS.Timeout | undefined;
  /** Dispatch handling in progress (an async handler); later dispatches queue behind it. */
  pending: Promise<void> | undefined;
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

function connectionId(generation: number, shardId: number): string {
  return `${generation}:${shardId}`;
}

/**
 * One shard pod: follows the published plan ({@link ControllerPlan}; every generation
 * `generationsToRun` lists — the active one, a reshard's shadow or draining one), leases shards of each
 * (its preferred share first, then shards nobody holds), connects each leased shard with its own
 * `@discordjs/ws` WebSocketManager — identify paced by the shared {@link Coordination.identify} queue,
 * session info from the shared session store, so a shard taken over from a dead or departing pod RESUMEs
 * instead of identifying — renews every lease each TTL/3 and drops a shard at once when its renewal
 * fails. A pod holding a shard that belongs to another live pod's share hands it back when that pod asks
 * (a `want` key), so a restarted pod gets its shards back without anyone re-identifying. Every connected
 * shard reports READY to the controller once its initial guild burst is in (docs/reshard.md); a draining
 * or rolled-back generation's shards are closed for good (close 1000, session deleted). `stop()` flushes
 * sessions, closes every shard with a resumable close code and releases the leases, so the next owner
 * resumes.
 *
 * @example
 * const pod = new ShardPod({ podName: 'guildhall-shard-0', token, intents, rest, coordination, log, onDispatch });
 * await pod.start();
 * lifecycle.onShutdown('shards', () => pod.stop());
 */
export class ShardPod {
  private readonly opts: ShardPodRequired & ShardPodOptional;
  private readonly log: Logger;
  private readonly connections = new Map<string, Connection>();
  private plan: ControllerPlan | null = null;
  /** Each planned generation's mode (looked up per dispatch, so kept ready). */
  private modes = new Map<number, GenerationMode>();
  /** Side effects are claimed until this time (Infinity while a reshard runs). */
  private claimUntil = 0;
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

  /** The shards this pod holds now (every generation), by generation then shard. */
  held(): HeldShard[] {
    return [...this.connections.values()]
      .map((c) => c.held)
      .sort((a, b) => a.generation - b.generation || a.shardId - b.shardId);
  }

  /** Per-shard status for `/status` and the cluster view. */
  status(): {
    shardId: number;
    generation: number;
    mode: GenerationMode | null;
    ready: boolean;
    latencyMs: number;
  }[] {
    return [...this.connections.values()].map((c) => ({
      shardId: c.held.shardId,
      generation: c.held.generation,
      mode: this.modeOf(c.held.generation),
      ready: c.ready,
      latencyMs: c.latencyMs,
    }));
  }

  get currentPlan(): ControllerPlan | null {
    return this.plan;
  }

  /** What the plan makes of a generation now (null: not in the plan — rolled back or long drained). */
  modeOf(generation: number): GenerationMode | null {
    return this.modes.get(generation) ?? null;
  }

  /**
   * What side effects a dispatch of `generation` may have now: none in shadow or outside the plan; claimed
   * while a reshard runs (and for `claimTailMs` after), since both generations deliver the same events
   * and pods see a cut-over at slightly different moments; otherwise run. A draining generation keeps
   * running them under claims until its shards are closed, so no event falls between a pod that already
   * drains and one that has not yet seen the cut-over.
   */
  sideEffects(generation: number): SideEffects {
    const mode = this.modeOf(generation);
    if (mode === null || mode === 'shadow') return 'skip';
    return mode === 'draining' || this.claiming() ? 'claim' : 'run';
  }

  /** True while a reshard runs (and `claimTailMs` after): events may arrive on two generations. */
  claiming(): boolean {
    return Date.now() < this.claimUntil;
  }

  async start(): Promise<void> {
    this.unwatch = await this.opts.coordination.plans.watch((plan) => {
      this.setPlan(plan as ControllerPlan);
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

  private setPlan(plan: ControllerPlan): void {
    if (plan.next || plan.previous) this.claimUntil = Infinity;
    else if (this.claimUntil === Infinity) this.claimUntil = Date.now() + this.opts.claimTailMs;
    this.plan = plan;
    this.modes = new Map(generationsToRun(plan).map((g) => [g.generation, g.mode]));
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

  /**
   * One reconcile pass: renew (and refresh READY), close what the plan no longer runs, then per generation
   * to run: hand back wanted shards, take free ones.
   */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    await this.renewAll();
    const plan = this.plan;
    if (!plan || this.stopped) return;

    // Shards of a draining generation, or of one the plan no longer lists (a rolled-back reshard, a
    // superseded plan), are closed for good: their sessions are not resumed by anyone.
    const runs = generationsToRun(plan);
    for (const c of [...this.connections.values()]) {
      const run = runs.find((r) => r.generation === c.held.generation);
      if (!run || run.mode === 'draining' || c.held.shardId >= run.totalShards)
        await this.release(c, run ? 'generation-draining' : 'generation-not-planned', true);
    }
    for (const run of runs) {
      if (run.mode !== 'draining' && !this.stopped) await this.follow(plan, run);
    }
  }

  /** Renews every lease; a failed renewal (lapsed, stolen, fenced) drops the shard at once. */
  private async renewAll(): Promise<void> {
    const { leases } = this.opts.coordination;
    const ttl = this.opts.leaseTtlMs;
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
              { err, shardId: c.held.shardId, generation: c.held.generation },
              'lease renewal failed; keeping the shard until its lease would lapse',
            );
            return;
          }
          this.m?.leaseChanges.inc({ change: 'lost' });
          this.log.error(
            { shardId: c.held.shardId, generation: c.held.generation },
            'lease could not be renewed within its TTL; dropping shard',
          );
          await this.release(c, 'lease-unrenewable');
          return;
        }
        if (!ok) {
          this.m?.leaseChanges.inc({ change: 'lost' });
          this.log.warn(
            { shardId: c.held.shardId, generation: c.held.generation, epoch: c.held.epoch },
            'lease lost; dropping shard',
          );
          await this.release(c, 'lease-lost');
          return;
        }
        c.renewedAt = Date.now();
        if (c.reported) await this.report(c, true);
      }),
    );
  }

  /** Hands back shards of `run` another pod prefers and asks for, then takes preferred and free ones. */
  private async follow(plan: ControllerPlan, run: GenerationToRun): Promise<void> {
    const { leases, cache } = this.opts.coordination;
    const ttl = this.opts.leaseTtlMs;
    const mine = () => [...this.connections.values()].filter((c) => c.held.generation === run.generation);
    const ordinal = podOrdinal(this.opts.podName);
    const preferred = ordinal === null ? [] : preferredShards(run.totalShards, plan.shardsPerPod, ordinal);

    for (const c of mine()) {
      if (preferred.includes(c.held.shardId)) continue;
      const wanter = await cache.get<string>(wantKey(run.generation, c.held.shardId));
      if (wanter && wanter !== this.opts.podName) {
        this.log.info({ shardId: c.held.shardId, to: wanter }, 'handing shard back to its preferred pod');
        await this.release(c, 'handback');
      }
    }

    const holders = new Map((await leases.holders(run.generation)).map((l) => [l.shardId, l.holder]));
    for (const s of preferred) {
      if (this.connections.has(connectionId(run.generation, s)) || this.stopped) continue;
      const holder = holders.get(s);
      if (holder && holder !== this.opts.podName) {
        await cache.set(wantKey(run.generation, s), this.opts.podName, Math.max(1000, ttl));
        continue;
      }
      await this.take(run, s);
    }
    const orphans = Array.from({ length: run.totalShards }, (_, i) => i).filter(
      (s) => !holders.has(s) && !preferred.includes(s),
    );
    for (const s of orphans) {
      if (mine().length >= this.opts.maxShards || this.stopped) break;
      // A shard its preferred pod asked for is left for that pod.
      const wanter = await cache.get<string>(wantKey(run.generation, s));
      if (wanter && wanter !== this.opts.podName) continue;
      await this.take(run, s);
    }
  }

  private async take(run: GenerationToRun, shardId: number): Promise<void> {
    const lease = await this.opts.coordination.leases.acquire(
      run.generation,
      shardId,
      this.opts.podName,
      this.opts.leaseTtlMs,
    );
    if (!lease || this.stopped) {
      if (lease)
        await this.opts.coordination.leases.release(run.generation, shardId, this.opts.podName, lease.epoch);
      return;
    }
    const held: HeldShard = {
      shardId,
      generation: run.generation,
      totalShards: run.totalShards,
      epoch: lease.epoch,
    };
    this.m?.leaseChanges.inc({ change: 'acquired' });
    this.log.info(
      { shardId, generation: run.generation, mode: run.mode, epoch: lease.epoch },
      'lease acquired; connecting shard',
    );
    // Connecting waits for the identify queue (seconds); it must never hold up lease renewals.
    void this.connect(held).catch((err: unknown) =>
      this.log.error({ err, shardId }, 'shard connect crashed'),
    );
  }

  private async connect(held: HeldShard): Promise<void> {
    const { coordination, stream } = this.opts;
    const key = checkpointKey(held.totalShards, held.shardId);
    const store = sessionInfoCallbacks(coordination.sessions, {
      shardCount: held.totalShards,
      fence: () => ({ generation: held.generation, epoch: held.epoch }),
    });
    const conn: Connection = {
      id: connectionId(held.generation, held.shardId),
      held,
      key,
      manager: undefined,
      sessions: store,
      ready: false,
      reported: false,
      awaiting: null,
      guildWait: undefined,
      pending: undefined,
      latencyMs: -1,
      sessionId: null,
      lastSeq: 0,
      durable: 0,
      latest: null,
      persisted: { sessionId: '', sequence: -1 },
      renewedAt: Date.now(),
      closing: false,
    };
    this.connections.set(conn.id, conn);
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
      shardCount: held.totalShards,
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
    if (this.connections.get(conn.id) !== conn) return; // released while reading the session
    conn.manager = manager;
    const where = { shardId: held.shardId, generation: held.generation };
    manager.on(WebSocketShardEvents.Dispatch, (payload) => this.onDispatch(conn, payload));
    manager.on(WebSocketShardEvents.Ready, (data) => {
      conn.ready = true;
      this.m?.identifies.inc();
      this.log.info({ ...where, guilds: data.guilds.length }, 'shard ready (identified)');
      this.opts.onReady?.(held, data);
      // READY for the controller once the guilds READY lists have arrived (or the guild wait passed).
      conn.awaiting = new Set(data.guilds.map((g) => g.id));
      clearTimeout(conn.guildWait);
      if (conn.awaiting.size === 0) void this.report(conn, true);
      else
        conn.guildWait = setTimeout(() => {
          if (conn.awaiting && conn.awaiting.size > 0)
            this.log.warn(
              { ...where, missing: conn.awaiting.size },
              'guild burst incomplete; reporting READY',
            );
          conn.awaiting = null;
          void this.report(conn, true);
        }, this.opts.guildWaitMs);
    });
    manager.on(WebSocketShardEvents.Resumed, () => {
      conn.ready = true;
      this.m?.resumes.inc();
      this.log.info({ ...where, seq: conn.lastSeq }, 'shard resumed');
      void this.report(conn, true);
    });
    manager.on(WebSocketShardEvents.HeartbeatComplete, (stats) => {
      conn.latencyMs = stats.latency;
    });
    manager.on(WebSocketShardEvents.Closed, (code) => {
      this.log.info({ ...where, code }, 'shard connection closed');
      conn.ready = false;
      conn.awaiting = null;
      clearTimeout(conn.guildWait);
      if (!conn.closing) void this.report(conn, false);
    });
    manager.on(WebSocketShardEvents.Error, (err) => this.log.warn({ err, ...where }, 'shard error'));
    try {
      await manager.connect();
    } catch (err) {
      this.log.error({ err, ...where }, 'shard connect failed; releasing it');
      await this.release(conn, 'connect-failed');
    }
  }

  /** Writes (or clears) the shard's READY record for the controller; failures are retried next tick. */
  private async report(conn: Connection, ready: boolean): Promise<void> {
    const { cache } = this.opts.coordination;
    const { generation, shardId, epoch } = conn.held;
    conn.reported = ready && !conn.closing && this.connections.get(conn.id) === conn;
    try {
      if (conn.reported) {
        await markShardReady(
          cache,
          { generation, shardId, holder: this.opts.podName, epoch },
          this.opts.leaseTtlMs,
        );
      } else await clearShardReady(cache, generation, shardId);
    } catch (err) {
      this.log.warn({ err, shardId, generation }, 'could not write the shard READY record');
    }
  }

  /** Handles dispatches in order; an async handler holds the shard's later dispatches back. */
  private onDispatch(conn: Connection, payload: GatewayDispatchPayload): void {
    const after = conn.pending;
    const next = after ? after.then(() => this.handle(conn, payload)) : this.handle(conn, payload);
    if (!next) return;
    conn.pending = next;
    void next.finally(() => {
      if (conn.pending === next) conn.pending = undefined;
    });
  }

  private handle(conn: Connection, payload: GatewayDispatchPayload): Promise<void> | undefined {
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
    if (payload.t === 'GUILD_CREATE' && conn.awaiting?.delete(payload.d.id) && conn.awaiting.size === 0) {
      conn.awaiting = null;
      clearTimeout(conn.guildWait);
      void this.report(conn, true);
    }
    let result: void | Promise<void> = undefined;
    try {
      result = this.opts.onDispatch(
        payload,
        conn.held,
        Date.now(),
        conn.key,
        this.sideEffects(conn.held.generation),
      );
    } catch (err) {
      this.dispatchFailed(conn, payload, err);
    }
    if (!result) {
      this.opts.stream.processed(conn.key, seq);
      return;
    }
    return result.then(
      () => this.opts.stream.processed(conn.key, seq),
      (err: unknown) => {
        this.dispatchFailed(conn, payload, err);
        this.opts.stream.processed(conn.key, seq);
      },
    );
  }

  private dispatchFailed(conn: Connection, payload: GatewayDispatchPayload, err: unknown): void {
    this.log.error(
      { err, shardId: conn.held.shardId, generation: conn.held.generation, event: payload.t },
      'dispatch handler failed',
    );
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

  /**
   * Lets a shard go. Normally a hand-over: stop recording its session, close it resumably, release the
   * lease, so the next owner RESUMEs. `final` (a draining or rolled-back generation) ends the session
   * instead: close 1000 (Discord will not resume it), delete its session info, release.
   */
  private async release(c: Connection, reason: string, final = false): Promise<void> {
    if (this.connections.get(c.id) !== c) return;
    this.connections.delete(c.id);
    clearTimeout(c.guildWait);
    const where = { shardId: c.held.shardId, generation: c.held.generation };
    // Stop handling dispatches, make what was handled durable (which persists the session up to it),
    // then stop recording the session so destroy()'s null report cannot erase it.
    await withTimeout(c.pending, 3_000);
    try {
      await this.opts.stream.flush();
    } catch (err) {
      this.log.warn({ err, ...where }, 'event flush before hand-over failed');
    }
    c.closing = true;
    this.opts.stream.untrack(c.key);
    await this.report(c, false);
    if (!final) {
      try {
        await c.sessions.handOver([c.held.shardId]);
      } catch (err) {
        this.log.warn({ err, ...where }, 'session hand-over failed');
      }
    }
    try {
      // Bounded: destroying a shard that is still mid-handshake can wait on the gateway; a hand-over keeps
      // the session resumable either way (no 1000 close is sent).
      await withTimeout(
        Promise.resolve(
          c.manager?.destroy({ code: final ? CloseCodes.Normal : CloseCodes.Resuming, reason }),
        ),
        3_000,
      );
    } catch (err) {
      this.log.warn({ err, ...where }, 'shard destroy failed');
    }
    try {
      await withTimeout(this.opts.beforeRelease?.(c.held), 5_000);
    } catch (err) {
      this.log.warn({ err, ...where }, 'work before releasing the shard failed');
    }
    if (final) {
      c.sessions.updateSessionInfo(c.held.shardId, null);
      await this.opts.coordination.sessions
        .flush()
        .catch((err: unknown) => this.log.warn({ err, ...where }, 'session delete failed'));
    }
    try {
      await this.opts.coordination.leases.release(
        c.held.generation,
        c.held.shardId,
        this.opts.podName,
        c.held.epoch,
      );
    } catch (err) {
      this.log.warn({ err, ...where }, 'lease release failed (it will expire)');
    }
    this.m?.leaseChanges.inc({ change: 'released' });
    this.log.info({ ...where, reason }, final ? 'shard closed for good' : 'shard released');
    this.opts.onRelease?.(c.held);
  }
}

async function withTimeout(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!p) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

function wantKey(generation: number, shardId: number): string {
  return `${WANT_PREFIX}${generation}:${shardId}`;
}

function podMetrics(registry: Registry, connections: () => Map<string, Connection>) {
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
      help: 'Last heartbeat round trip per shard (and plan generation).',
      labelNames: ['shard', 'generation'],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of connections().values()) {
          if (c.latencyMs >= 0)
            this.set(
              { shard: String(c.held.shardId), generation: String(c.held.generation) },
              c.latencyMs / 1000,
            );
        }
      },
    }),
  };
}
