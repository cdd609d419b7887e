import type { Redis } from 'ioredis';
import { PLAN_CHANNEL, type PlanStore, type ShardPlan, monotonicPlanHandler } from '../plan-store.js';
import type { PubSub } from '../pub-sub.js';
import type { RedisGuard } from './connection.js';
import type { RedisKeys } from './keys.js';
import { runScript } from './scripts.js';

/**
 * {@link PlanStore} in Redis: a hash `plan` {generation, plan}; the CAS and the announcement (PUBLISH on
 * the pub/sub channel `plan`) happen in one Lua step, so no watcher can miss a successful publish while
 * connected.
 *
 * @example
 * const plans = new RedisPlanStore(redis, keys, guard, pubsub);
 */
export class RedisPlanStore implements PlanStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly guard: RedisGuard,
    private readonly pubsub: PubSub,
  ) {}

  get(): Promise<ShardPlan | null> {
    return this.guard('plans.get', async () => {
      const json = await this.redis.hget(this.keys.plan(), 'plan');
      return json ? (JSON.parse(json) as ShardPlan) : null;
    });
  }

  publish(plan: ShardPlan, expectedGeneration: number | null): Promise<boolean> {
    return this.guard('plans.publish', async () => {
      const r = await runScript(
        this.redis,
        'planPublish',
        [this.keys.plan()],
        [JSON.stringify(plan), plan.generation, expectedGeneration ?? '', this.keys.channel(PLAN_CHANNEL)],
      );
      return r === 1;
    });
  }

  async watch(handler: (plan: ShardPlan) => void | Promise<void>): Promise<() => Promise<void>> {
    const deliver = monotonicPlanHandler(handler);
    const off = await this.pubsub.subscribe<ShardPlan>(PLAN_CHANNEL, (plan) => deliver(plan));
    await deliver(await this.get());
    return off;
  }
}
