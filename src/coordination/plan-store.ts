/**
 * The shard plan the controller publishes and every shard pod follows.
 *
 * @example
 * const plan: ShardPlan = { generation: 3, totalShards: 32, maxConcurrency: 16, shardsPerPod: 4 };
 */
export interface ShardPlan {
  readonly generation: number;
  readonly totalShards: number;
  readonly maxConcurrency: number;
  readonly shardsPerPod: number;
}

/**
 * The current shard plan with compare-and-set publishing and change notification.
 *
 * `publish(plan, expected)` succeeds only when the stored plan's generation equals `expected` (`null`:
 * no plan stored yet) and `plan.generation >= expected`; the store then notifies watchers. `watch`
 * calls the handler with the current plan right away (if any) and then with every newer plan; it never
 * delivers a generation lower than one it already delivered.
 *
 * @example
 * const current = await plans.get();
 * const ok = await plans.publish({ ...next, generation: (current?.generation ?? 0) + 1 }, current?.generation ?? null);
 * const stop = await plans.watch((plan) => reconcile(plan));
 */
export interface PlanStore {
  get(): Promise<ShardPlan | null>;
  publish(plan: ShardPlan, expectedGeneration: number | null): Promise<boolean>;
  watch(handler: (plan: ShardPlan) => void | Promise<void>): Promise<() => Promise<void>>;
}

/**
 * The pub/sub channel plan changes are announced on.
 *
 * @example
 * await pubsub.subscribe(PLAN_CHANNEL, (plan) => reconcile(plan));
 */
export const PLAN_CHANNEL = 'plan';

/**
 * Wraps a watcher so it sees the current plan first and never a generation lower than one it saw.
 *
 * @example
 * const deliver = monotonicPlanHandler(handler);
 */
export function monotonicPlanHandler(
  handler: (plan: ShardPlan) => void | Promise<void>,
): (plan: ShardPlan | null) => Promise<void> {
  let last = -1;
  let lastJson = '';
  return async (plan) => {
    if (!plan) return;
    const json = JSON.stringify(plan);
    if (plan.generation < last || json === lastJson) return;
    last = plan.generation;
    lastJson = json;
    await handler(plan);
  };
}
