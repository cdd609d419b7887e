import { PLAN_CHANNEL, type PlanStore, type ShardPlan, monotonicPlanHandler } from '../plan-store.js';
import type { PubSub } from '../pub-sub.js';
import type { MemoryHub } from './hub.js';

/**
 * In-process {@link PlanStore}; announcements go through the given {@link PubSub}.
 *
 * @example
 * const plans = new MemoryPlanStore(hub, pubsub);
 */
export class MemoryPlanStore implements PlanStore {
  constructor(
    private readonly hub: MemoryHub,
    private readonly pubsub: PubSub,
  ) {}

  async get(): Promise<ShardPlan | null> {
    return this.hub.plan ? { ...this.hub.plan } : null;
  }

  async publish(plan: ShardPlan, expectedGeneration: number | null): Promise<boolean> {
    const current = this.hub.plan?.generation ?? null;
    if (current !== expectedGeneration) return false;
    if (expectedGeneration !== null && plan.generation < expectedGeneration) return false;
    this.hub.plan = { ...plan };
    await this.pubsub.publish(PLAN_CHANNEL, plan);
    return true;
  }

  async watch(handler: (plan: ShardPlan) => void | Promise<void>): Promise<() => Promise<void>> {
    const deliver = monotonicPlanHandler(handler);
    const off = await this.pubsub.subscribe<ShardPlan>(PLAN_CHANNEL, (plan) => deliver(plan));
    await deliver(await this.get());
    return off;
  }
}
