/**
 * The controller: leader election, the shard plan and reshard state machine, StatefulSet scaling,
 * status, and the CLI functions (`guildhall controller | plan | reshard`). Shard pods use the plan and
 * readiness helpers (the reshard contract, docs/reshard.md).
 */
export { controllerRole, type ControllerRoleDeps, type ControllerHandle } from './role.js';
export {
  planCommand,
  reshardCommand,
  progressLine,
  type ReshardCommandOptions,
  type CommandIo,
  type CliDeps,
} from './cli.js';
export { Controller, type ControllerOptions } from './controller.js';
export {
  Reconciler,
  RECONCILER_DEFAULTS,
  type ReconcilerOptions,
  type ReconcilerDeps,
  type ReconcileKey,
  type ReconcileResult,
  type CommandSync,
} from './reconciler.js';
export {
  type LeaderElector,
  type LeaderLock,
  type LockAttempt,
  type LeaderElectionTimings,
  type LeaderElectorOptions,
  LEADER_ELECTION_DEFAULTS,
  checkTimings,
  createLeaderElector,
} from './leader-election.js';
export {
  coordinationLock,
  CONTROLLER_LOCK_GENERATION,
  type CoordinationLockOptions,
} from './coordination-lock.js';
export { kubeLeaseLock, type KubeLeaseLockOptions } from './kube-lease-lock.js';
export {
  KubeApi,
  KubeApiError,
  kubeConfigFor,
  kubeConnectionFromConfig,
  type KubeConnection,
  type KubeApiOptions,
  type ScaleInfo,
} from './kube-client.js';
export {
  type ShardWorkload,
  type WorkloadEvent,
  type PodCounts,
  noWorkload,
  statefulSetWorkload,
  type StatefulSetWorkloadOptions,
} from './workload.js';
export { type GatewaySource, cachedGateway, discordRest, restGateway } from './gateway.js';
export { WorkQueue, WORK_QUEUE_DEFAULTS, type WorkQueueOptions } from './work-queue.js';
export {
  type ControllerPlan,
  type PlanGeneration,
  type PlanPhase,
  type GenerationMode,
  type GenerationToRun,
  type Refusal,
  type RefusalCode,
  type AutoTargetInput,
  type ShardCountContext,
  GUILDS_PER_SHARD_LIMIT,
  RECOMMENDED_GUILDS_PER_SHARD,
  autoTargetShards,
  checkShardCount,
  desiredReplicas,
  generationsToRun,
  guildsAtLeast,
  minimumShards,
  planPhase,
  podOrdinal,
  preferredShards,
  replicasFor,
  roundUpToMultiple,
} from './plan.js';
export {
  type ShardReadyRecord,
  type HeldShard,
  type ShardObservation,
  type GenerationReadiness,
  markShardReady,
  clearShardReady,
  observeGeneration,
  shardReadyKey,
  shardReadyTag,
} from './readiness.js';
export {
  type ControllerStatus,
  type Condition,
  type ConditionType,
  type ReshardProgress,
  type ReshardOutcome,
  type RequestAnswer,
  type CommandSyncState,
  CONTROLLER_STATUS_KEY,
  RECENT_REQUESTS,
  answerFor,
  readControllerStatus,
  setCondition,
} from './status.js';
export {
  type ReshardRequest,
  RESHARD_REQUEST_KEY,
  RESHARD_CHANNEL,
  submitReshardRequest,
  readReshardRequest,
} from './requests.js';
export { controllerMetrics, RESHARD_PHASES, type ControllerMetrics } from './metrics.js';
export {
  type PolicyRule,
  type RbacOptions,
  RBAC_DEFAULTS,
  controllerRules,
  rbacObjects,
  renderRbacYaml,
} from './rbac.js';
