import type { ShardPlan } from '../coordination/index.js';

/**
 * Discord's hard limit: a shard carrying more guilds is closed with 4011 (sharding required).
 *
 * @example
 * const min = Math.ceil(guilds / GUILDS_PER_SHARD_LIMIT);
 */
export const GUILDS_PER_SHARD_LIMIT = 2_500;

/**
 * Discord recommends about one shard per 1,000 guilds (`GET /gateway/bot` → `shards`).
 *
 * @example
 * const guildsAtLeast = (recommended - 1) * RECOMMENDED_GUILDS_PER_SHARD + 1;
 */
export const RECOMMENDED_GUILDS_PER_SHARD = 1_000;

/**
 * One plan generation: its number (the lease namespace) and its shard count.
 *
 * @example
 * const g: PlanGeneration = { generation: 4, totalShards: 16 };
 */
export interface PlanGeneration {
  readonly generation: number;
  readonly totalShards: number;
}

/**
 * The shard plan as the controller publishes it: a {@link ShardPlan} (the **active** generation, the one
 * that runs cog side effects) plus the reshard fields. Every field is additive and optional, so a reader
 * that only knows `ShardPlan` keeps working on the active generation.
 *
 * - `next` present → phase `overlap`: pods also lease and connect `next`'s shards, in *shadow* (they
 *   receive and keep state, but run no cog side effects), and mark each one READY (see
 *   `markShardReady`). Never present together with `previous`.
 * - `previous` present → phase `draining`: `generation` was just cut over to; pods close `previous`'s
 *   shards and release their leases.
 * - `highestGeneration`: the highest generation number ever announced (aborted ones included). New
 *   generations are numbered above it, so a number always means one shard layout.
 * - `aborted`: the last reshard that was rolled back (automatic reshards pause for a cool-down after it).
 *
 * @example
 * const plan: ControllerPlan = {
 *   generation: 3, totalShards: 8, maxConcurrency: 1, shardsPerPod: 4,
 *   next: { generation: 4, totalShards: 12, startedAt: Date.now() }, highestGeneration: 4,
 * };
 */
export interface ControllerPlan extends ShardPlan {
  readonly next?: PlanGeneration & { readonly startedAt: number };
  readonly previous?: PlanGeneration & { readonly cutoverAt: number };
  readonly highestGeneration?: number;
  readonly aborted?: PlanGeneration & { readonly at: number; readonly reason: string };
}

/**
 * Where a plan is in the reshard state machine: `stable` (one generation), `overlap` (g active, g+1 in
 * shadow), `draining` (g+1 active, g being released).
 *
 * @example
 * if (planPhase(plan) === 'overlap') showProgress();
 */
export type PlanPhase = 'stable' | 'overlap' | 'draining';

/**
 * The phase of a published plan.
 *
 * @example
 * planPhase({ generation: 1, totalShards: 1, maxConcurrency: 1, shardsPerPod: 1 }); // 'stable'
 */
export function planPhase(plan: ControllerPlan): PlanPhase {
  if (plan.next) return 'overlap';
  if (plan.previous) return 'draining';
  return 'stable';
}

/**
 * What a shard pod does with one generation: `active` (lease, connect, run cogs with side effects),
 * `shadow` (lease, connect, keep state, no side effects, report READY), `draining` (stop side effects
 * now, close the shards, flush and delete their sessions, release the leases).
 *
 * @example
 * for (const g of generationsToRun(plan)) if (g.mode === 'draining') await closeGeneration(g.generation);
 */
export type GenerationMode = 'active' | 'shadow' | 'draining';

/**
 * One generation a shard pod must act on, with its mode.
 *
 * @example
 * const run: GenerationToRun = { generation: 4, totalShards: 12, mode: 'shadow' };
 */
export interface GenerationToRun extends PlanGeneration {
  readonly mode: GenerationMode;
}

/**
 * The generations a shard pod must act on for a plan, active first. This is the pod side of the
 * reshard contract (docs/reshard.md).
 *
 * @example
 * generationsToRun({ generation: 3, totalShards: 8, maxConcurrency: 1, shardsPerPod: 4,
 *   next: { generation: 4, totalShards: 12, startedAt: 0 } });
 * // [{ generation: 3, totalShards: 8, mode: 'active' }, { generation: 4, totalShards: 12, mode: 'shadow' }]
 */
export function generationsToRun(plan: ControllerPlan): GenerationToRun[] {
  const out: GenerationToRun[] = [
    { generation: plan.generation, totalShards: plan.totalShards, mode: 'active' },
  ];
  if (plan.next)
    out.push({ generation: plan.next.generation, totalShards: plan.next.totalShards, mode: 'shadow' });
  if (plan.previous)
    out.push({
      generation: plan.previous.generation,
      totalShards: plan.previous.totalShards,
      mode: 'draining',
    });
  return out;
}

/**
 * The shards a StatefulSet pod with `ordinal` prefers in a generation: `[ordinal × shardsPerPod, …)`
 * capped at `totalShards`. A pod holds at most `shardsPerPod` shards **per generation**; it may take
 * unleased shards beyond its preferred range when their preferred pod is missing.
 *
 * @example
 * preferredShards(10, 4, 2); // [8, 9]
 */
export function preferredShards(totalShards: number, shardsPerPod: number, ordinal: number): number[] {
  const out: number[] = [];
  for (let s = ordinal * shardsPerPod; s < Math.min(totalShards, (ordinal + 1) * shardsPerPod); s++)
    out.push(s);
  return out;
}

/**
 * The ordinal of a StatefulSet pod name (`guildhall-shard-3` → 3), or null.
 *
 * @example
 * podOrdinal('guildhall-shard-12'); // 12
 */
export function podOrdinal(podName: string): number | null {
  const m = /-(\d+)$/.exec(podName);
  return m ? Number(m[1]) : null;
}

/**
 * Smallest multiple of `m` that is ≥ `n` (and ≥ m).
 *
 * @example
 * roundUpToMultiple(5, 4); // 8
 */
export function roundUpToMultiple(n: number, m: number): number {
  const step = Math.max(1, Math.floor(m));
  return Math.max(step, Math.ceil(n / step) * step);
}

/**
 * StatefulSet replicas needed so that replicas × shardsPerPod ≥ totalShards.
 *
 * @example
 * replicasFor(10, 4); // 3
 */
export function replicasFor(totalShards: number, shardsPerPod: number): number {
  return Math.ceil(totalShards / Math.max(1, shardsPerPod));
}

/**
 * Replicas the shard StatefulSet needs for a plan: during `overlap` and `draining` pods hold shards of
 * both generations (up to shardsPerPod of each), so the larger generation decides; the StatefulSet only
 * shrinks once the plan is `stable` again. `current` (the replicas now) is kept as a floor outside
 * `stable`, so nothing scales down mid-reshard.
 *
 * @example
 * desiredReplicas({ generation: 2, totalShards: 8, maxConcurrency: 1, shardsPerPod: 4,
 *   previous: { generation: 1, totalShards: 16, cutoverAt: 0 } }, 4); // 4 (drains first)
 */
export function desiredReplicas(plan: ControllerPlan, current: number | null): number {
  const own = replicasFor(plan.totalShards, plan.shardsPerPod);
  const other = plan.next?.totalShards ?? plan.previous?.totalShards;
  if (other === undefined) return own;
  return Math.max(own, replicasFor(other, plan.shardsPerPod), current ?? 0);
}

/**
 * Fewest shards `guilds` guilds may use (Discord: at most 2,500 guilds per shard).
 *
 * @example
 * minimumShards(6_000); // 3
 */
export function minimumShards(guilds: number): number {
  return Math.max(1, Math.ceil(guilds / GUILDS_PER_SHARD_LIMIT));
}

/**
 * A lower bound of the guild count implied by Discord's recommended shard count (one per ~1,000 guilds):
 * used when no exact guild count is available, so it never refuses a count Discord would accept.
 *
 * @example
 * guildsAtLeast(6); // 5001
 */
export function guildsAtLeast(recommendedShards: number): number {
  return Math.max(0, (recommendedShards - 1) * RECOMMENDED_GUILDS_PER_SHARD + 1);
}

/**
 * Inputs of {@link autoTargetShards}.
 *
 * @example
 * const input: AutoTargetInput = { current: 4, recommended: 6, maxConcurrency: 1, hysteresis: 1.25, minShards: 2 };
 */
export interface AutoTargetInput {
  /** Active shard count, or null when no plan exists yet. */
  readonly current: number | null;
  readonly recommended: number;
  readonly maxConcurrency: number;
  /** Grow only when recommended > current × hysteresis (≥ 1). */
  readonly hysteresis: number;
  /** Fewest shards the guild count allows; below it the plan grows regardless of hysteresis. */
  readonly minShards: number;
  /** `FIXED_SHARD_COUNT`: pins the count (both directions), rounded up to max_concurrency. */
  readonly fixed?: number | undefined;
}

/**
 * The shard count the controller should move to on its own, or null to keep the current one. Always a
 * multiple of max_concurrency; grows with hysteresis; never shrinks (except to a configured fixed count).
 *
 * @example
 * autoTargetShards({ current: 4, recommended: 6, maxConcurrency: 1, hysteresis: 1.25, minShards: 2 }); // 6
 * autoTargetShards({ current: 4, recommended: 5, maxConcurrency: 1, hysteresis: 1.25, minShards: 2 }); // null
 */
export function autoTargetShards(input: AutoTargetInput): number | null {
  const mc = Math.max(1, input.maxConcurrency);
  if (input.fixed !== undefined) {
    const fixed = roundUpToMultiple(input.fixed, mc);
    return fixed === input.current ? null : fixed;
  }
  const wanted = roundUpToMultiple(Math.max(input.recommended, input.minShards, 1), mc);
  if (input.current === null) return wanted;
  if (input.current < input.minShards) return wanted;
  if (input.recommended > input.current * input.hysteresis) return Math.max(wanted, input.current);
  if (input.current % mc !== 0) return roundUpToMultiple(input.current, mc);
  return null;
}

/**
 * Why a shard count was refused (stable machine-readable code plus a human message).
 *
 * @example
 * const r: Refusal = { code: 'not_multiple_of_max_concurrency', message: '10 is not a multiple of 16' };
 */
export interface Refusal {
  readonly code: RefusalCode;
  readonly message: string;
}

/**
 * Every reason a reshard (requested or automatic) can be refused.
 *
 * @example
 * const code: RefusalCode = 'identify_budget_insufficient';
 */
export type RefusalCode =
  | 'invalid_shard_count'
  | 'not_multiple_of_max_concurrency'
  | 'below_guild_minimum'
  | 'unchanged'
  | 'identify_budget_unknown'
  | 'identify_budget_insufficient'
  | 'reshard_in_progress'
  | 'no_reshard_in_progress'
  | 'fixed_shard_count'
  | 'cooling_down'
  | 'no_plan';

/**
 * What {@link checkShardCount} validates against.
 *
 * @example
 * const ctx: ShardCountContext = { current: 8, maxConcurrency: 1, minShards: 3, budget: { remaining: 900, total: 1000, resetAfterMs: 1 }, reserve: 10 };
 */
export interface ShardCountContext {
  readonly current: number | null;
  readonly maxConcurrency: number;
  readonly minShards: number;
  readonly budget: { readonly remaining: number } | null;
  /** Session starts kept in reserve (`IDENTIFY_RESERVE`). */
  readonly reserve: number;
}

/**
 * Refuses nonsense shard counts: not a positive integer, not a multiple of max_concurrency, fewer
 * shards than the guilds allow (2,500 per shard), the current count, or more new sessions than the
 * remaining daily identify budget (minus the reserve) can start. Returns null when the count is fine.
 *
 * @example
 * checkShardCount(0, ctx)?.code; // 'invalid_shard_count'
 */
export function checkShardCount(shards: number, ctx: ShardCountContext): Refusal | null {
  if (!Number.isSafeInteger(shards) || shards < 1)
    return { code: 'invalid_shard_count', message: `${String(shards)} is not a positive whole shard count` };
  const mc = Math.max(1, ctx.maxConcurrency);
  if (shards % mc !== 0)
    return {
      code: 'not_multiple_of_max_concurrency',
      message: `${shards} shards is not a multiple of max_concurrency ${mc} (Discord closes such shards with 4010)`,
    };
  if (shards < ctx.minShards)
    return {
      code: 'below_guild_minimum',
      message: `${shards} shards is fewer than the ${ctx.minShards} the guild count needs at ${GUILDS_PER_SHARD_LIMIT} guilds per shard`,
    };
  if (shards === ctx.current) return { code: 'unchanged', message: `the plan already has ${shards} shards` };
  if (!ctx.budget)
    return {
      code: 'identify_budget_unknown',
      message: 'the daily identify budget is unknown (no GET /gateway/bot answer synced yet)',
    };
  const usable = ctx.budget.remaining - ctx.reserve;
  if (usable < shards)
    return {
      code: 'identify_budget_insufficient',
      message: `starting ${shards} new sessions needs ${shards} identifies; ${ctx.budget.remaining} remain today and ${ctx.reserve} are kept in reserve`,
    };
  return null;
}
