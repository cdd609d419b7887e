import { z } from 'zod';

/**
 * The published shard plan.
 *
 * @example
 * clusterPlanSchema.parse(await view.plan());
 */
const generationRef = z.strictObject({ generation: z.number().int(), totalShards: z.number().int() });

export const clusterPlanSchema = z
  .strictObject({
    generation: z.number().int(),
    totalShards: z.number().int(),
    maxConcurrency: z.number().int(),
    shardsPerPod: z.number().int(),
    publishedAt: z.string().nullable(),
    phase: z
      .enum(['stable', 'overlap', 'draining'])
      .meta({ description: 'Reshard phase: `overlap` (next in shadow), `draining` (previous being closed)' }),
    next: generationRef.nullable().meta({ description: 'The generation a reshard is bringing up' }),
    previous: generationRef.nullable().meta({ description: 'The generation a reshard is closing' }),
  })
  .meta({ id: 'ClusterPlan' });

/**
 * What the leading controller last recorded: phase, reshard progress, counts, conditions.
 *
 * @example
 * controllerStatusSchema.parse(await view.controller());
 */
export const controllerStatusSchema = z
  .strictObject({
    leader: z.string(),
    updatedAt: z.string(),
    observedGeneration: z.number().int(),
    phase: z.enum(['stable', 'overlap', 'draining']),
    reshard: z
      .strictObject({
        phase: z.enum(['overlap', 'draining']),
        fromGeneration: z.number().int(),
        toGeneration: z.number().int(),
        fromShards: z.number().int(),
        toShards: z.number().int(),
        leased: z.number().int(),
        ready: z.number().int(),
        total: z.number().int(),
        startedAt: z.string(),
      })
      .nullable(),
    lastReshard: z
      .strictObject({
        outcome: z.enum(['completed', 'rolled_back']),
        reason: z.string().nullable(),
        fromShards: z.number().int(),
        toShards: z.number().int(),
        toGeneration: z.number().int(),
        finishedAt: z.string(),
      })
      .nullable(),
    counts: z.strictObject({
      totalShards: z.number().int(),
      leased: z.number().int(),
      ready: z.number().int(),
      replicas: z.number().int().nullable(),
      desiredReplicas: z.number().int().nullable(),
    }),
    identifyBudget: z
      .strictObject({ remaining: z.number().int(), total: z.number().int(), resetAfterMs: z.number() })
      .nullable(),
    conditions: z.array(
      z.strictObject({
        type: z.string(),
        status: z.enum(['True', 'False', 'Unknown']),
        reason: z.string(),
        message: z.string(),
        lastTransitionTime: z.string(),
      }),
    ),
    lastError: z.strictObject({ message: z.string(), at: z.string() }).nullable(),
  })
  .meta({ id: 'ControllerStatus' });

/**
 * One shard's lease and connection state.
 *
 * @example
 * z.array(shardStatusSchema).parse(await view.shards());
 */
export const shardStatusSchema = z
  .strictObject({
    shardId: z.number().int(),
    generation: z.number().int(),
    pod: z.string().nullable(),
    epoch: z.number().int().nullable(),
    status: z.string(),
    guilds: z.number().int().nullable(),
    latencyMs: z.number().nullable(),
  })
  .meta({ id: 'ShardStatus' });

/**
 * One pod of the cluster.
 *
 * @example
 * z.array(podStatusSchema).parse(await view.pods());
 */
export const podStatusSchema = z
  .strictObject({
    name: z.string(),
    role: z.string(),
    shards: z.array(z.number().int()),
    lastSeen: z.string().nullable(),
  })
  .meta({ id: 'PodStatus' });

/**
 * The published shard plan.
 *
 * @example
 * const plan: ClusterPlan | null = await view.plan();
 */
export type ClusterPlan = z.infer<typeof clusterPlanSchema>;
/**
 * One shard's lease and connection state.
 *
 * @example
 * const shards: ShardStatus[] = await view.shards();
 */
export type ShardStatus = z.infer<typeof shardStatusSchema>;
/**
 * One pod of the cluster.
 *
 * @example
 * const pods: PodStatus[] = await view.pods();
 */
export type PodStatus = z.infer<typeof podStatusSchema>;
/**
 * What the leading controller last recorded.
 *
 * @example
 * const status: ControllerStatusView | null = await view.controller();
 */
export type ControllerStatusView = z.infer<typeof controllerStatusSchema>;

/**
 * What the admin API shows about the cluster. `source` says where the view comes from; the coordination
 * layer provides a Redis-backed view (plan store, shard leases, pod heartbeats).
 *
 * @example
 * const plan = await view.plan();
 */
export interface ClusterView {
  readonly source: string;
  plan(): Promise<ClusterPlan | null> | ClusterPlan | null;
  shards(): Promise<ShardStatus[]> | ShardStatus[];
  pods(): Promise<PodStatus[]> | PodStatus[];
  /** The controller's status (null when no controller has written one). */
  controller(): Promise<ControllerStatusView | null> | ControllerStatusView | null;
}

/**
 * The view of a single process with no coordination wired in (`all` mode before the shard runtime lands):
 * no plan, no leased shards, one pod — clearly labelled by `source: 'single-process (stub)'`.
 *
 * @example
 * const view = singleProcessClusterView({ podName: 'local-0', role: 'all' });
 */
export function singleProcessClusterView(opts: {
  podName: string;
  role: string;
  now?: () => number;
}): ClusterView {
  const now = opts.now ?? Date.now;
  return {
    source: 'single-process (stub)',
    plan: () => null,
    controller: () => null,
    shards: () => [],
    pods: () => [
      { name: opts.podName, role: opts.role, shards: [], lastSeen: new Date(now()).toISOString() },
    ],
  };
}
