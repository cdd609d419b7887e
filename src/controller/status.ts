import type { Cache, IdentifyBudget } from '../coordination/index.js';
import type { ControllerPlan, PlanPhase, RefusalCode } from './plan.js';

/**
 * A status condition, Kubernetes style: `lastTransitionTime` changes only when `status` changes;
 * `observedGeneration` is the plan generation the controller looked at when it set the condition.
 *
 * @example
 * const c: Condition = { type: 'Scaled', status: 'True', reason: 'UpToDate', message: '3 replicas',
 *   lastTransitionTime: new Date().toISOString(), observedGeneration: 2 };
 */
export interface Condition {
  readonly type: ConditionType;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration: number;
}

/**
 * The condition types the controller reports.
 *
 * - `PlanPublished`: the published plan matches the desired shard count (False while a reshard runs or
 *   is blocked, with the reason).
 * - `Scaled`: the shard StatefulSet has the replicas the plan needs.
 * - `ShardsLeased`: every shard of the active generation is leased.
 * - `Resharding`: a reshard is in progress (True) or not (False; reason tells how the last one ended).
 * - `CommandsSynced`: slash commands were synced for the current cog set.
 * - `Degraded`: the last reconcile failed (message: the error); False when it succeeded.
 *
 * @example
 * const t: ConditionType = 'Resharding';
 */
export type ConditionType =
  'PlanPublished' | 'Scaled' | 'ShardsLeased' | 'Resharding' | 'CommandsSynced' | 'Degraded';

/**
 * Progress of the reshard in flight.
 *
 * @example
 * const r: ReshardProgress = { phase: 'overlap', fromGeneration: 3, toGeneration: 4, fromShards: 8,
 *   toShards: 12, leased: 12, ready: 9, total: 12, startedAt: '…' };
 */
export interface ReshardProgress {
  readonly phase: Exclude<PlanPhase, 'stable'>;
  readonly fromGeneration: number;
  readonly toGeneration: number;
  readonly fromShards: number;
  readonly toShards: number;
  /** overlap: leased/ready shards of the new generation; draining: leases of the old one still held. */
  readonly leased: number;
  readonly ready: number;
  readonly total: number;
  readonly startedAt: string;
  readonly requestId?: string | undefined;
}

/**
 * How the last reshard ended.
 *
 * @example
 * const r: ReshardOutcome = { outcome: 'rolled_back', reason: 'timeout', fromShards: 8, toShards: 12, finishedAt: '…' };
 */
export interface ReshardOutcome {
  readonly outcome: 'completed' | 'rolled_back';
  readonly reason?: string | undefined;
  readonly fromGeneration: number;
  readonly toGeneration: number;
  readonly fromShards: number;
  readonly toShards: number;
  readonly finishedAt: string;
  readonly requestId?: string | undefined;
}

/**
 * The controller's answer to the last reshard request (`guildhall reshard`).
 *
 * @example
 * const a: RequestAnswer = { id: 'r1', shards: 12, outcome: 'refused', code: 'unchanged', message: '…', at: '…' };
 */
export interface RequestAnswer {
  readonly id: string;
  readonly shards?: number | undefined;
  readonly abort?: boolean | undefined;
  readonly outcome: 'accepted' | 'refused';
  readonly code?: RefusalCode | undefined;
  readonly message?: string | undefined;
  readonly at: string;
}

/**
 * The slash-command sync state.
 *
 * @example
 * const c: CommandSyncState = { result: 'synced', hash: 'abc', syncedHash: 'abc', at: '…' };
 */
export interface CommandSyncState {
  readonly result: 'synced' | 'unchanged' | 'failed' | 'disabled';
  readonly hash?: string | undefined;
  /** The cog-set hash of the last successful sync (kept across leaders and restarts). */
  readonly syncedHash?: string | undefined;
  readonly error?: string | undefined;
  readonly at: string;
}

/**
 * Everything the controller reports: written to Redis (through the coordination cache, key
 * {@link CONTROLLER_STATUS_KEY}) after every reconcile, read by `guildhall plan`, `guildhall reshard
 * --wait` and the API through {@link readControllerStatus}.
 *
 * @example
 * const s = await readControllerStatus(coordination);
 * console.log(s?.phase, s?.counts.totalShards, s?.conditions.find((c) => c.type === 'Degraded'));
 */
export interface ControllerStatus {
  /** Identity of the leader that wrote this status. */
  readonly leader: string;
  readonly updatedAt: string;
  readonly observedGeneration: number;
  readonly phase: PlanPhase;
  readonly plan: ControllerPlan | null;
  readonly desired: {
    readonly recommendedShards: number | null;
    readonly targetShards: number | null;
    readonly maxConcurrency: number | null;
    readonly source: 'gateway' | 'fixed';
    /** Why the desired count is not being applied (hysteresis is not a reason; refusals are). */
    readonly blocked?: { readonly code: RefusalCode; readonly message: string } | undefined;
  };
  readonly counts: {
    readonly totalShards: number;
    readonly leased: number;
    readonly ready: number;
    readonly replicas: number | null;
    readonly desiredReplicas: number | null;
    readonly podsReady: number | null;
    readonly podsTotal: number | null;
  };
  readonly reshard: ReshardProgress | null;
  readonly lastReshard?: ReshardOutcome | undefined;
  /** The answer to the latest reshard request. */
  readonly request?: RequestAnswer | undefined;
  /** The answers to the last {@link RECENT_REQUESTS} requests, newest first (clients look theirs up by id). */
  readonly recentRequests?: readonly RequestAnswer[] | undefined;
  readonly identifyBudget: IdentifyBudget | null;
  readonly commands: CommandSyncState;
  readonly conditions: readonly Condition[];
  readonly lastError?: { readonly message: string; readonly code?: string | undefined; readonly at: string };
}

/**
 * How many request answers the status keeps.
 *
 * @example
 * status.recentRequests?.length <= RECENT_REQUESTS;
 */
export const RECENT_REQUESTS = 10;

/**
 * The controller's answer to request `id`, if it answered it recently.
 *
 * @example
 * const answer = answerFor(await readControllerStatus(coordination), request.id);
 */
export function answerFor(status: ControllerStatus | null, id: string): RequestAnswer | undefined {
  if (!status) return undefined;
  if (status.request?.id === id) return status.request;
  return status.recentRequests?.find((r) => r.id === id);
}

/**
 * The cache key of the controller status (Redis: `<prefix>cache:v:controller:status`).
 *
 * @example
 * await cache.get(CONTROLLER_STATUS_KEY);
 */
export const CONTROLLER_STATUS_KEY = 'controller:status';

/** Status outlives a dead controller for a week; `updatedAt` shows its age. */
const STATUS_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Reads the controller status (null when no controller ever wrote one, or it expired).
 *
 * @example
 * const status = await readControllerStatus(coordination);
 */
export async function readControllerStatus(coordination: {
  readonly cache: Pick<Cache, 'get'>;
}): Promise<ControllerStatus | null> {
  return (await coordination.cache.get<ControllerStatus>(CONTROLLER_STATUS_KEY)) ?? null;
}

/**
 * Writes the controller status (leader only).
 *
 * @example
 * await writeControllerStatus(coordination.cache, status);
 */
export async function writeControllerStatus(
  cache: Pick<Cache, 'set'>,
  status: ControllerStatus,
): Promise<void> {
  await cache.set(CONTROLLER_STATUS_KEY, status, STATUS_TTL_MS);
}

/**
 * Sets a condition in a list: replaces the one of the same type, keeping its `lastTransitionTime`
 * when the status did not change.
 *
 * @example
 * conditions = setCondition(conditions, { type: 'Scaled', status: 'True', reason: 'UpToDate', message: '', observedGeneration: 2 }, new Date());
 */
export function setCondition(
  conditions: readonly Condition[],
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const prev = conditions.find((c) => c.type === next.type);
  const lastTransitionTime =
    prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString();
  return [...conditions.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }].sort((a, b) =>
    a.type.localeCompare(b.type),
  );
}
