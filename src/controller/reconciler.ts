import type { RESTGetAPIGatewayBotResult } from 'discord-api-types/v10';
import { type Clock, type Coordination, type IdentifyBudget, systemClock } from '../coordination/index.js';
import type { Logger } from '../logging/logger.js';
import type { GatewaySource } from './gateway.js';
import { KubeApiError } from './kube-client.js';
import type { ControllerMetrics } from './metrics.js';
import {
  type ControllerPlan,
  type PlanPhase,
  type Refusal,
  autoTargetShards,
  checkShardCount,
  desiredReplicas,
  guildsAtLeast,
  minimumShards,
  planPhase,
  roundUpToMultiple,
} from './plan.js';
import { type GenerationReadiness, observeGeneration, shardReadyTag } from './readiness.js';
import { type ReshardRequest, clearReshardRequest, readReshardRequest } from './requests.js';
import {
  type CommandSyncState,
  type Condition,
  type ControllerStatus,
  type ReshardOutcome,
  type ReshardProgress,
  RECENT_REQUESTS,
  type RequestAnswer,
  readControllerStatus,
  setCondition,
  writeControllerStatus,
} from './status.js';
import type { PodCounts, ShardWorkload, WorkloadEvent } from './workload.js';

/**
 * The slash-command sync hook the cog framework provides: a hash of the cog set's commands and the
 * function that registers them with Discord. The controller (leader only) calls `sync` when the hash
 * differs from the last successfully synced one (kept in the status in Redis), i.e. once per rollout
 * that changes commands; failures are retried with backoff.
 *
 * @example
 * const commands: CommandSync = { hash: () => cogs.commandHash(), sync: () => cogs.registerCommands(rest) };
 */
export interface CommandSync {
  hash(): string | Promise<string>;
  sync(signal: AbortSignal): Promise<unknown>;
}

/**
 * The keys the controller reconciles: `plan` (shard plan, reshard state machine, scaling, status) and
 * `commands` (slash-command sync).
 *
 * @example
 * queue.add('plan');
 */
export type ReconcileKey = 'plan' | 'commands';

/**
 * What a reconcile asks for next: nothing (the periodic resync will come), or another pass after
 * `requeueAfterMs` (controller-runtime's `Result{RequeueAfter}`).
 *
 * @example
 * return { requeueAfterMs: 1_000 };
 */
export interface ReconcileResult {
  readonly requeueAfterMs?: number | undefined;
}

/**
 * Tunables of the reconciler; defaults in {@link RECONCILER_DEFAULTS}.
 *
 * @example
 * new Reconciler(deps, { ...RECONCILER_DEFAULTS, shardsPerPod: 4, hysteresis: 1.25 });
 */
export interface ReconcilerOptions {
  readonly shardsPerPod: number;
  /** Grow automatically only when recommended > current × hysteresis. */
  readonly hysteresis: number;
  /** `FIXED_SHARD_COUNT`: pin the shard count instead of following Discord's recommendation. */
  readonly fixedShardCount?: number | undefined;
  /** Session starts kept in reserve (`IDENTIFY_RESERVE`); a reshard must fit above it. */
  readonly identifyReserve: number;
  /** How long a reshard may stay in overlap, on top of the identify time it needs. */
  readonly reshardTimeoutMs: number;
  /** Discord's identify window (one identify per bucket per window). */
  readonly identifyWindowMs: number;
  /** Longest wait for the old generation's leases to be released after a cut-over. */
  readonly drainTimeoutMs: number;
  /** After a rolled-back reshard, automatic reshards pause this long (requests are not affected). */
  readonly abortCooldownMs: number;
  /** Poll interval while a reshard runs (readiness, drain). */
  readonly pollMs: number;
}

/**
 * Reconciler defaults: hysteresis 1.25, 10 min reshard timeout (+ identify time), 45 s drain, 10 min
 * cool-down after an aborted reshard, 1 s polling during a reshard.
 *
 * @example
 * const opts = { ...RECONCILER_DEFAULTS, shardsPerPod: config.shard.shardsPerPod };
 */
export const RECONCILER_DEFAULTS = {
  shardsPerPod: 4,
  hysteresis: 1.25,
  identifyReserve: 10,
  reshardTimeoutMs: 10 * 60_000,
  identifyWindowMs: 5_000,
  drainTimeoutMs: 45_000,
  abortCooldownMs: 10 * 60_000,
  pollMs: 1_000,
} as const satisfies ReconcilerOptions;

/**
 * What the reconciler reads and writes.
 *
 * @example
 * const deps: ReconcilerDeps = { coordination, gateway, workload: noWorkload, identity, log, metrics };
 */
export interface ReconcilerDeps {
  readonly coordination: Pick<Coordination, 'plans' | 'leases' | 'cache' | 'identify'>;
  readonly gateway: GatewaySource;
  readonly workload: ShardWorkload;
  /** The leader identity written into the status. */
  readonly identity: string;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly clock?: Clock | undefined;
  readonly commands?: CommandSync | undefined;
  /** An exact guild count, when known; otherwise a lower bound is derived from Discord's recommendation. */
  readonly guildCount?: ((signal: AbortSignal) => Promise<number | null>) | undefined;
}

/** What one pass learned, shared by the plan step and the status. */
interface Observation {
  readonly gateway: RESTGetAPIGatewayBotResult;
  readonly maxConcurrency: number;
  readonly budget: IdentifyBudget | null;
  readonly minShards: number;
  readonly now: number;
}

/** The outcome of one step of the plan state machine. */
interface Step {
  readonly plan: ControllerPlan;
  readonly requeueAfterMs?: number | undefined;
  readonly blocked?: Refusal | undefined;
  readonly next?: GenerationReadiness | undefined;
}

/**
 * The level-based reconcile of the shard plan (controller-runtime style: read desired and observed
 * state, act, write status): desired shard count from `GET /gateway/bot` (or `FIXED_SHARD_COUNT`),
 * observed plan, leases and readiness, StatefulSet replicas and pods; actions: publish the plan (CAS),
 * run the reshard state machine (stable → overlap → draining → stable, or overlap → rollback), patch
 * the StatefulSet scale, emit events, write the status. Every write first checks that `signal` (the
 * leadership) is still live. Errors are recorded in the status and rethrown (the queue backs off).
 *
 * @example
 * const r = new Reconciler(deps, { ...RECONCILER_DEFAULTS, shardsPerPod: 4 });
 * const { requeueAfterMs } = await r.reconcile('plan', leading);
 */
export class Reconciler {
  private readonly clock: Clock;
  private readonly log: Logger;
  private status: ControllerStatus | null = null;
  private loaded = false;

  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly opts: ReconcilerOptions,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log.child({ module: 'controller' });
  }

  /**
   * Forgets what this process remembered from an earlier term: the status is re-read from Redis on the
   * next pass (another leader may have written it meanwhile). Call whenever leadership starts.
   */
  startTerm(): void {
    this.loaded = false;
    this.status = null;
    this.lastReshard = undefined;
    this.reshardRequestId = undefined;
  }

  /** Runs one pass for `key`. */
  async reconcile(key: ReconcileKey, signal: AbortSignal): Promise<ReconcileResult> {
    if (!this.loaded) {
      this.status = await readControllerStatus(this.deps.coordination);
      this.loaded = true;
    }
    return key === 'plan' ? this.reconcilePlan(signal) : this.reconcileCommands(signal);
  }

  /** The status as last written by this process (null before the first pass). */
  get lastStatus(): ControllerStatus | null {
    return this.status;
  }

  // ---------------------------------------------------------------------------------------------------
  // plan

  private async reconcilePlan(signal: AbortSignal): Promise<ReconcileResult> {
    const { coordination } = this.deps;
    let obs: Observation;
    let plan: ControllerPlan | null;
    let request: ReshardRequest | null;
    try {
      const gateway = await this.deps.gateway(signal);
      const maxConcurrency = Math.max(1, gateway.session_start_limit.max_concurrency);
      this.guard(signal);
      await coordination.identify.sync(gateway.session_start_limit);
      const budget = await coordination.identify.budget();
      const guilds = (await this.deps.guildCount?.(signal)) ?? guildsAtLeast(gateway.shards);
      obs = { gateway, maxConcurrency, budget, minShards: minimumShards(guilds), now: this.clock.now() };
      plan = (await coordination.plans.get()) as ControllerPlan | null;
      request = await readReshardRequest(coordination.cache);
    } catch (err) {
      await this.fail(err, signal);
      throw err;
    }

    this.metricsFromObservation(obs);
    let step: Step;
    let answer: RequestAnswer | undefined;
    const events: WorkloadEvent[] = [];
    try {
      if (!plan) {
        step = await this.publishInitial(obs, signal, events);
      } else {
        const r = await this.step(plan, request, obs, signal, events);
        step = r.step;
        answer = r.answer;
      }
    } catch (err) {
      await this.fail(err, signal);
      throw err;
    }

    // Scaling and pods: errors here do not stop the status from being written.
    const errors: unknown[] = [];
    let replicas: number | null = null;
    let wanted: number | null = null;
    let pods: PodCounts | null = null;
    try {
      replicas = await this.deps.workload.replicas(signal);
      if (replicas !== null) {
        wanted = desiredReplicas(step.plan, replicas);
        if (wanted !== replicas) {
          this.guard(signal);
          await this.deps.workload.scale(wanted, signal);
          this.log.info(
            { from: replicas, to: wanted, shards: step.plan.totalShards },
            'scaled shard StatefulSet',
          );
          events.push({
            type: 'Normal',
            reason: wanted > replicas ? 'ScaledUp' : 'ScaledDown',
            message: `Scaled ${this.deps.workload.description} from ${replicas} to ${wanted} replicas (${step.plan.shardsPerPod} shards per pod, plan phase ${planPhase(step.plan)})`,
          });
          replicas = wanted;
        }
      }
    } catch (err) {
      errors.push(err);
    }
    try {
      pods = await this.deps.workload.pods(signal);
    } catch (err) {
      errors.push(err);
    }
    await this.emit(events, signal);

    let active: GenerationReadiness;
    let draining = 0;
    try {
      active = await observeGeneration(coordination, step.plan.generation, step.plan.totalShards);
      if (step.plan.previous)
        draining = (await coordination.leases.holders(step.plan.previous.generation)).length;
    } catch (err) {
      await this.fail(err, signal);
      throw err;
    }

    const scaleError = errors[0];
    await this.writeStatus(signal, (prev, now) => {
      const phase = planPhase(step.plan);
      const g = step.plan.generation;
      let conditions = prev?.conditions ?? [];
      const set = (c: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>) =>
        (conditions = setCondition(conditions, { ...c, observedGeneration: g }, now));
      const target = this.targetFor(step.plan, obs);
      set(
        phase !== 'stable'
          ? { type: 'PlanPublished', status: 'False', reason: 'Resharding', message: `phase ${phase}` }
          : step.blocked
            ? {
                type: 'PlanPublished',
                status: 'False',
                reason: camel(step.blocked.code),
                message: step.blocked.message,
              }
            : {
                type: 'PlanPublished',
                status: 'True',
                reason: 'UpToDate',
                message: `generation ${g}: ${step.plan.totalShards} shards`,
              },
      );
      set(
        scaleError
          ? { type: 'Scaled', status: 'False', reason: reasonOf(scaleError), message: messageOf(scaleError) }
          : replicas === null
            ? {
                type: 'Scaled',
                status: 'Unknown',
                reason: 'NoWorkload',
                message: 'no Kubernetes API configured; nothing to scale',
              }
            : {
                type: 'Scaled',
                status: 'True',
                reason: 'UpToDate',
                message: `${replicas} replicas × ${step.plan.shardsPerPod} shards per pod`,
              },
      );
      set(
        active.leased === active.total
          ? {
              type: 'ShardsLeased',
              status: 'True',
              reason: 'AllLeased',
              message: `${active.leased}/${active.total} leased`,
            }
          : {
              type: 'ShardsLeased',
              status: 'False',
              reason: 'Unleased',
              message: `${active.leased}/${active.total} leased`,
            },
      );
      const last = this.lastReshard ?? prev?.lastReshard;
      this.lastReshard = undefined;
      set(
        phase === 'overlap'
          ? {
              type: 'Resharding',
              status: 'True',
              reason: 'Overlap',
              message: `${step.next?.ready ?? 0}/${step.plan.next?.totalShards ?? 0} shards of generation ${step.plan.next?.generation} ready`,
            }
          : phase === 'draining'
            ? {
                type: 'Resharding',
                status: 'True',
                reason: 'Draining',
                message: `${draining} leases of generation ${step.plan.previous?.generation} still held`,
              }
            : {
                type: 'Resharding',
                status: 'False',
                reason: last ? (last.outcome === 'completed' ? 'Completed' : 'RolledBack') : 'Idle',
                message: last
                  ? `${last.fromShards} → ${last.toShards} shards: ${last.outcome}${last.reason ? ` (${last.reason})` : ''}`
                  : 'no reshard yet',
              },
      );
      set(
        scaleError
          ? { type: 'Degraded', status: 'True', reason: reasonOf(scaleError), message: messageOf(scaleError) }
          : { type: 'Degraded', status: 'False', reason: 'ReconcileSucceeded', message: '' },
      );
      const reshard = progress(step.plan, step.next, draining, active, prev?.reshard, this.reshardRequestId);
      return {
        observedGeneration: g,
        phase,
        plan: step.plan,
        desired: {
          recommendedShards: obs.gateway.shards,
          targetShards: target,
          maxConcurrency: obs.maxConcurrency,
          source: this.opts.fixedShardCount !== undefined ? 'fixed' : 'gateway',
          blocked: step.blocked ? { code: step.blocked.code, message: step.blocked.message } : undefined,
        },
        counts: {
          totalShards: step.plan.totalShards,
          leased: active.leased,
          ready: active.ready,
          replicas,
          desiredReplicas: wanted,
          podsReady: pods?.ready ?? null,
          podsTotal: pods?.total ?? null,
        },
        reshard,
        lastReshard: last,
        request: answer ?? prev?.request,
        recentRequests: answer
          ? [answer, ...(prev?.recentRequests ?? []).filter((r) => r.id !== answer.id)].slice(
              0,
              RECENT_REQUESTS,
            )
          : prev?.recentRequests,
        identifyBudget: obs.budget,
        conditions,
        lastError: scaleError ? errorRecord(scaleError, now) : prev?.lastError,
      };
    });
    if (answer && request) await clearReshardRequest(coordination.cache, request.id);
    this.metricsFromPlan(step.plan, active, step.next);
    if (scaleError) throw scaleError;
    return { requeueAfterMs: step.requeueAfterMs };
  }

  private lastReshard: ReshardOutcome | undefined;
  private reshardRequestId: string | undefined;

  private targetFor(plan: ControllerPlan, obs: Observation): number | null {
    return (
      autoTargetShards({
        current: plan.totalShards,
        recommended: obs.gateway.shards,
        maxConcurrency: obs.maxConcurrency,
        hysteresis: this.opts.hysteresis,
        minShards: obs.minShards,
        fixed: this.opts.fixedShardCount,
      }) ?? plan.totalShards
    );
  }

  private async publishInitial(
    obs: Observation,
    signal: AbortSignal,
    events: WorkloadEvent[],
  ): Promise<Step> {
    const wanted =
      autoTargetShards({
        current: null,
        recommended: obs.gateway.shards,
        maxConcurrency: obs.maxConcurrency,
        hysteresis: this.opts.hysteresis,
        minShards: obs.minShards,
        fixed: this.opts.fixedShardCount,
      }) ?? roundUpToMultiple(1, obs.maxConcurrency);
    // Never start below what the guilds need (a fixed count that is too small is reported as blocked).
    const total = Math.max(wanted, roundUpToMultiple(obs.minShards, obs.maxConcurrency));
    const plan: ControllerPlan = {
      generation: 1,
      totalShards: total,
      maxConcurrency: obs.maxConcurrency,
      shardsPerPod: this.opts.shardsPerPod,
      highestGeneration: 1,
    };
    if (!(await this.publish(plan, null, signal)))
      return { plan: (await this.currentPlan()) ?? plan, requeueAfterMs: 0 };
    this.log.info({ plan }, 'published the first shard plan');
    events.push({
      type: 'Normal',
      reason: 'PlanPublished',
      message: `Published shard plan generation 1 with ${total} shards`,
    });
    return { plan };
  }

  private async step(
    plan: ControllerPlan,
    request: ReshardRequest | null,
    obs: Observation,
    signal: AbortSignal,
    events: WorkloadEvent[],
  ): Promise<{ step: Step; answer?: RequestAnswer }> {
    const phase = planPhase(plan);
    const at = new Date(obs.now).toISOString();
    const refuse = (r: Refusal): RequestAnswer => ({
      id: request!.id,
      shards: request!.shards,
      abort: request!.abort,
      outcome: 'refused',
      code: r.code,
      message: r.message,
      at,
    });
    const accept = (): RequestAnswer => ({
      id: request!.id,
      shards: request!.shards,
      abort: request!.abort,
      outcome: 'accepted',
      at,
    });
    const lost = async (): Promise<Step> => ({ plan: (await this.currentPlan()) ?? plan, requeueAfterMs: 0 });

    if (phase === 'stable') {
      if (request) {
        if (request.abort)
          return {
            step: { plan },
            answer: refuse({ code: 'no_reshard_in_progress', message: 'no reshard is running' }),
          };
        const fixed = this.opts.fixedShardCount;
        const refusal: Refusal | null =
          fixed !== undefined
            ? { code: 'fixed_shard_count', message: `FIXED_SHARD_COUNT=${fixed} pins the shard count` }
            : checkShardCount(request.shards ?? Number.NaN, this.countContext(plan, obs));
        if (refusal) {
          this.log.warn({ request, refusal }, 'reshard request refused');
          return { step: { plan }, answer: refuse(refusal) };
        }
        const next = await this.startReshard(plan, request.shards!, obs, signal, events, request.id);
        return { step: next ?? (await lost()), answer: next ? accept() : undefined };
      }
      const target = autoTargetShards({
        current: plan.totalShards,
        recommended: obs.gateway.shards,
        maxConcurrency: obs.maxConcurrency,
        hysteresis: this.opts.hysteresis,
        minShards: obs.minShards,
        fixed: this.opts.fixedShardCount,
      });
      if (target !== null) {
        const cooling =
          plan.aborted &&
          obs.now - plan.aborted.at < this.opts.abortCooldownMs &&
          plan.totalShards >= obs.minShards;
        const refusal: Refusal | null = cooling
          ? {
              code: 'cooling_down',
              message: `the last reshard was rolled back (${plan.aborted!.reason}); automatic reshards resume ${Math.ceil((plan.aborted!.at + this.opts.abortCooldownMs - obs.now) / 1000)} s from now`,
            }
          : checkShardCount(target, this.countContext(plan, obs));
        if (refusal) {
          if (this.status?.desired.blocked?.code !== refusal.code)
            this.log.warn({ target, refusal }, 'automatic reshard blocked');
          return { step: { plan, blocked: refusal } };
        }
        return { step: (await this.startReshard(plan, target, obs, signal, events)) ?? (await lost()) };
      }
      if (plan.maxConcurrency !== obs.maxConcurrency || plan.shardsPerPod !== this.opts.shardsPerPod) {
        const updated: ControllerPlan = {
          ...plan,
          maxConcurrency: obs.maxConcurrency,
          shardsPerPod: this.opts.shardsPerPod,
        };
        if (!(await this.publish(updated, plan.generation, signal))) return { step: await lost() };
        this.log.info({ plan: updated }, 'republished the plan with new max_concurrency / shards per pod');
        return { step: { plan: updated } };
      }
      return { step: { plan } };
    }

    if (phase === 'overlap') {
      const next = plan.next!;
      if (request && !request.abort)
        return {
          step: { plan, requeueAfterMs: this.opts.pollMs },
          answer: refuse({
            code: 'reshard_in_progress',
            message: `a reshard to ${next.totalShards} shards (generation ${next.generation}) is running; abort it first`,
          }),
        };
      if (request?.abort) {
        const rolled = await this.rollback(plan, 'aborted by request', obs, signal, events);
        return { step: rolled ?? (await lost()), answer: rolled ? accept() : undefined };
      }
      const readiness = await observeGeneration(this.deps.coordination, next.generation, next.totalShards);
      if (readiness.ready === next.totalShards) {
        const cut: ControllerPlan = {
          generation: next.generation,
          totalShards: next.totalShards,
          maxConcurrency: plan.maxConcurrency,
          shardsPerPod: plan.shardsPerPod,
          previous: { generation: plan.generation, totalShards: plan.totalShards, cutoverAt: obs.now },
          highestGeneration: Math.max(plan.highestGeneration ?? 0, next.generation),
          ...(plan.aborted ? { aborted: plan.aborted } : {}),
        };
        if (!(await this.publish(cut, plan.generation, signal))) return { step: await lost() };
        this.log.info({ from: plan.generation, to: next.generation }, 'reshard cut over');
        events.push({
          type: 'Normal',
          reason: 'ReshardCutOver',
          message: `Generation ${next.generation} (${next.totalShards} shards) is READY and now active; draining generation ${plan.generation} (${plan.totalShards} shards)`,
        });
        return { step: { plan: cut, requeueAfterMs: this.opts.pollMs, next: readiness } };
      }
      const timeout = this.overlapTimeout(next.totalShards, plan.maxConcurrency);
      if (obs.now - next.startedAt > timeout) {
        const rolled = await this.rollback(
          plan,
          `timeout: ${readiness.ready}/${next.totalShards} shards READY after ${Math.round(timeout / 1000)} s`,
          obs,
          signal,
          events,
        );
        return { step: rolled ?? (await lost()) };
      }
      if (
        obs.budget &&
        obs.budget.remaining <= this.opts.identifyReserve &&
        readiness.leased < next.totalShards
      ) {
        const rolled = await this.rollback(
          plan,
          `identify budget exhausted: ${obs.budget.remaining} left, reserve ${this.opts.identifyReserve}, ${next.totalShards - readiness.leased} shards not connected`,
          obs,
          signal,
          events,
        );
        return { step: rolled ?? (await lost()) };
      }
      return { step: { plan, requeueAfterMs: this.opts.pollMs, next: readiness } };
    }

    // draining
    const previous = plan.previous!;
    const answer = request
      ? refuse({
          code: 'reshard_in_progress',
          message: `generation ${plan.generation} was just cut over; generation ${previous.generation} is draining`,
        })
      : undefined;
    const holders = await this.deps.coordination.leases.holders(previous.generation);
    const timedOut = obs.now - previous.cutoverAt > this.opts.drainTimeoutMs;
    if (holders.length > 0 && !timedOut) return { step: { plan, requeueAfterMs: this.opts.pollMs }, answer };
    const done: ControllerPlan = {
      generation: plan.generation,
      totalShards: plan.totalShards,
      maxConcurrency: plan.maxConcurrency,
      shardsPerPod: plan.shardsPerPod,
      highestGeneration: plan.highestGeneration ?? plan.generation,
      ...(plan.aborted ? { aborted: plan.aborted } : {}),
    };
    if (!(await this.publish(done, plan.generation, signal))) return { step: await lost(), answer };
    await this.deps.coordination.cache.invalidateTag(shardReadyTag(previous.generation));
    this.lastReshard = {
      outcome: 'completed',
      reason: timedOut && holders.length > 0 ? `${holders.length} old leases left to expire` : undefined,
      fromGeneration: previous.generation,
      toGeneration: plan.generation,
      fromShards: previous.totalShards,
      toShards: plan.totalShards,
      finishedAt: new Date(obs.now).toISOString(),
      requestId: this.reshardRequestId ?? this.status?.reshard?.requestId,
    };
    this.reshardRequestId = undefined;
    this.log.info({ generation: plan.generation, shards: plan.totalShards }, 'reshard completed');
    events.push({
      type: 'Normal',
      reason: 'ReshardCompleted',
      message: `Reshard to ${plan.totalShards} shards (generation ${plan.generation}) completed; generation ${previous.generation} released`,
    });
    return { step: { plan: done }, answer };
  }

  private async startReshard(
    plan: ControllerPlan,
    shards: number,
    obs: Observation,
    signal: AbortSignal,
    events: WorkloadEvent[],
    requestId?: string,
  ): Promise<Step | null> {
    const generation =
      Math.max(plan.generation, plan.highestGeneration ?? 0, plan.aborted?.generation ?? 0) + 1;
    const next: ControllerPlan = {
      generation: plan.generation,
      totalShards: plan.totalShards,
      maxConcurrency: obs.maxConcurrency,
      shardsPerPod: this.opts.shardsPerPod,
      next: { generation, totalShards: shards, startedAt: obs.now },
      highestGeneration: generation,
      ...(plan.aborted ? { aborted: plan.aborted } : {}),
    };
    if (!(await this.publish(next, plan.generation, signal))) return null;
    this.reshardRequestId = requestId;
    this.log.info(
      { from: plan.totalShards, to: shards, generation, requestId },
      requestId
        ? 'reshard requested; generation published in overlap'
        : 'reshard started; generation published in overlap',
    );
    events.push({
      type: 'Normal',
      reason: 'ReshardStarted',
      message: `Resharding ${plan.totalShards} → ${shards} shards: generation ${generation} connects alongside generation ${plan.generation}${requestId ? ` (request ${requestId})` : ''}`,
    });
    return { plan: next, requeueAfterMs: this.opts.pollMs };
  }

  private async rollback(
    plan: ControllerPlan,
    reason: string,
    obs: Observation,
    signal: AbortSignal,
    events: WorkloadEvent[],
  ): Promise<Step | null> {
    const next = plan.next!;
    const back: ControllerPlan = {
      generation: plan.generation,
      totalShards: plan.totalShards,
      maxConcurrency: plan.maxConcurrency,
      shardsPerPod: plan.shardsPerPod,
      highestGeneration: Math.max(plan.highestGeneration ?? 0, next.generation),
      aborted: { generation: next.generation, totalShards: next.totalShards, at: obs.now, reason },
    };
    if (!(await this.publish(back, plan.generation, signal))) return null;
    await this.deps.coordination.cache.invalidateTag(shardReadyTag(next.generation));
    this.lastReshard = {
      outcome: 'rolled_back',
      reason,
      fromGeneration: plan.generation,
      toGeneration: next.generation,
      fromShards: plan.totalShards,
      toShards: next.totalShards,
      finishedAt: new Date(obs.now).toISOString(),
      requestId: this.reshardRequestId ?? this.status?.reshard?.requestId,
    };
    this.reshardRequestId = undefined;
    this.log.warn({ generation: next.generation, reason }, 'reshard rolled back');
    events.push({
      type: 'Warning',
      reason: 'ReshardAborted',
      message: `Reshard to ${next.totalShards} shards (generation ${next.generation}) rolled back to generation ${plan.generation}: ${reason}`,
    });
    return { plan: back };
  }

  private countContext(plan: ControllerPlan, obs: Observation) {
    return {
      current: plan.totalShards,
      maxConcurrency: obs.maxConcurrency,
      minShards: obs.minShards,
      budget: obs.budget,
      reserve: this.opts.identifyReserve,
    };
  }

  private overlapTimeout(shards: number, maxConcurrency: number): number {
    return (
      this.opts.reshardTimeoutMs +
      Math.ceil(shards / Math.max(1, maxConcurrency)) * this.opts.identifyWindowMs
    );
  }

  private async publish(
    plan: ControllerPlan,
    expected: number | null,
    signal: AbortSignal,
  ): Promise<boolean> {
    this.guard(signal);
    const ok = await this.deps.coordination.plans.publish(plan, expected);
    if (!ok) this.log.warn({ expected }, 'plan changed concurrently; re-reading');
    return ok;
  }

  private async currentPlan(): Promise<ControllerPlan | null> {
    return (await this.deps.coordination.plans.get()) as ControllerPlan | null;
  }

  // ---------------------------------------------------------------------------------------------------
  // commands

  private async reconcileCommands(signal: AbortSignal): Promise<ReconcileResult> {
    const commands = this.deps.commands;
    const at = new Date(this.clock.now()).toISOString();
    const prev = this.status?.commands;
    let state: CommandSyncState;
    let failure: unknown;
    if (!commands) {
      state = { result: 'disabled', at };
    } else {
      const hash = await commands.hash();
      if (prev?.syncedHash === hash) {
        state = { result: 'unchanged', hash, syncedHash: hash, at: prev.at };
      } else {
        this.guard(signal);
        try {
          await commands.sync(signal);
          this.deps.metrics.commandSyncs.inc({ result: 'synced' });
          this.log.info({ hash }, 'slash commands synced');
          state = { result: 'synced', hash, syncedHash: hash, at };
        } catch (err) {
          if (signal.aborted) throw err;
          this.deps.metrics.commandSyncs.inc({ result: 'failed' });
          failure = err;
          state = { result: 'failed', hash, syncedHash: prev?.syncedHash, error: messageOf(err), at };
        }
      }
    }
    await this.writeStatus(signal, (prev, now) => {
      const c: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'> =
        state.result === 'disabled'
          ? {
              type: 'CommandsSynced',
              status: 'Unknown',
              reason: 'NoCommandSync',
              message: 'no command sync hook configured',
            }
          : state.result === 'failed'
            ? { type: 'CommandsSynced', status: 'False', reason: 'SyncFailed', message: state.error ?? '' }
            : {
                type: 'CommandsSynced',
                status: 'True',
                reason: state.result === 'synced' ? 'Synced' : 'UpToDate',
                message: `cog set ${state.hash}`,
              };
      return {
        commands: state,
        conditions: setCondition(
          prev?.conditions ?? [],
          { ...c, observedGeneration: prev?.observedGeneration ?? 0 },
          now,
        ),
      };
    });
    if (failure) throw failure;
    return {};
  }

  // ---------------------------------------------------------------------------------------------------
  // status, events, metrics

  private guard(signal: AbortSignal): void {
    signal.throwIfAborted();
  }

  private async writeStatus(
    signal: AbortSignal,
    update: (prev: ControllerStatus | null, now: Date) => Partial<ControllerStatus>,
  ): Promise<void> {
    const now = new Date(this.clock.now());
    const prev = this.status;
    const base: ControllerStatus = prev ?? {
      leader: this.deps.identity,
      updatedAt: now.toISOString(),
      observedGeneration: 0,
      phase: 'stable',
      plan: null,
      desired: { recommendedShards: null, targetShards: null, maxConcurrency: null, source: 'gateway' },
      counts: {
        totalShards: 0,
        leased: 0,
        ready: 0,
        replicas: null,
        desiredReplicas: null,
        podsReady: null,
        podsTotal: null,
      },
      reshard: null,
      identifyBudget: null,
      commands: { result: 'disabled', at: now.toISOString() },
      conditions: [],
    };
    const next: ControllerStatus = {
      ...base,
      ...update(prev, now),
      leader: this.deps.identity,
      updatedAt: now.toISOString(),
    };
    this.status = next;
    this.guard(signal);
    await writeControllerStatus(this.deps.coordination.cache, next);
  }

  private async fail(err: unknown, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    this.log.warn({ err: { message: messageOf(err) } }, 'reconcile failed; retrying with backoff');
    try {
      await this.writeStatus(signal, (prev, now) => ({
        lastError: errorRecord(err, now),
        conditions: setCondition(
          prev?.conditions ?? [],
          {
            type: 'Degraded',
            status: 'True',
            reason: reasonOf(err),
            message: messageOf(err),
            observedGeneration: prev?.observedGeneration ?? 0,
          },
          now,
        ),
      }));
    } catch (e) {
      this.log.debug({ err: { message: messageOf(e) } }, 'could not record the failure in the status');
    }
  }

  private async emit(events: WorkloadEvent[], signal: AbortSignal): Promise<void> {
    for (const e of events) {
      try {
        this.guard(signal);
        await this.deps.workload.event(e, signal);
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn(
          { err: { message: messageOf(err) }, event: e.reason },
          'could not record a Kubernetes event',
        );
      }
    }
  }

  private metricsFromObservation(obs: Observation): void {
    this.deps.metrics.identifyBudget.set(obs.budget ? obs.budget.remaining : -1);
  }

  private metricsFromPlan(
    plan: ControllerPlan,
    active: GenerationReadiness,
    next: GenerationReadiness | undefined,
  ): void {
    const m = this.deps.metrics;
    m.planShards.set({ plan: 'active' }, plan.totalShards);
    m.planShards.set({ plan: 'next' }, plan.next?.totalShards ?? 0);
    m.planGeneration.set(plan.generation);
    m.leasesHeld.set({ plan: 'active' }, active.leased);
    m.leasesHeld.set({ plan: 'next' }, plan.next ? (next?.leased ?? 0) : 0);
    m.reshardReady.set(plan.next ? (next?.ready ?? 0) : 0);
    m.setPhase(planPhase(plan));
  }
}

function progress(
  plan: ControllerPlan,
  next: GenerationReadiness | undefined,
  draining: number,
  active: GenerationReadiness,
  prev: ReshardProgress | null | undefined,
  requestId: string | undefined,
): ReshardProgress | null {
  const phase: PlanPhase = planPhase(plan);
  if (phase === 'overlap') {
    const n = plan.next!;
    return {
      phase,
      fromGeneration: plan.generation,
      toGeneration: n.generation,
      fromShards: plan.totalShards,
      toShards: n.totalShards,
      leased: next?.leased ?? 0,
      ready: next?.ready ?? 0,
      total: n.totalShards,
      startedAt: new Date(n.startedAt).toISOString(),
      requestId: requestId ?? prev?.requestId,
    };
  }
  if (phase === 'draining') {
    const p = plan.previous!;
    return {
      phase,
      fromGeneration: p.generation,
      toGeneration: plan.generation,
      fromShards: p.totalShards,
      toShards: plan.totalShards,
      leased: draining,
      ready: active.ready,
      total: plan.totalShards,
      startedAt: prev?.startedAt ?? new Date(p.cutoverAt).toISOString(),
      requestId: requestId ?? prev?.requestId,
    };
  }
  return null;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function reasonOf(err: unknown): string {
  if (err instanceof KubeApiError) return err.reason;
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return camel(err.code);
  return 'Error';
}

function errorRecord(err: unknown, now: Date): { message: string; code?: string; at: string } {
  const code =
    err instanceof Error && 'code' in err && typeof (err as { code: unknown }).code === 'string'
      ? (err as { code: string }).code
      : undefined;
  return { message: messageOf(err), ...(code ? { code } : {}), at: now.toISOString() };
}

/** `identify_budget_insufficient` → `IdentifyBudgetInsufficient` (condition reasons are CamelCase). */
function camel(code: string): string {
  return code
    .split(/[_\s-]+/)
    .filter((p) => p.length > 0)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
}
