import { Counter, Gauge, type Registry } from 'prom-client';
import type { PlanPhase } from './plan.js';

/**
 * Every reshard phase, in order; `guildhall_reshard_phase{phase}` is 1 for the current one (a state set,
 * like kube-state-metrics), and the CLI/API show the same names.
 *
 * @example
 * RESHARD_PHASES.indexOf('overlap'); // 1
 */
export const RESHARD_PHASES = ['stable', 'overlap', 'draining'] as const satisfies readonly PlanPhase[];

/**
 * The controller's Prometheus metrics (defined here, registered on the registry passed in).
 *
 * - `guildhall_controller_reconciles_total{result}` — `success`, `requeue` (success with a follow-up
 *   scheduled, e.g. polling readiness), `error`.
 * - `guildhall_plan_shards{plan}` — shard count of the `active` plan and of the `next` one (0 when none).
 * - `guildhall_plan_generation` — the active generation.
 * - `guildhall_leases_held{plan}` — live shard leases of the active / next generation.
 * - `guildhall_reshard_shards_ready` — READY shards of the generation being brought up (0 when none).
 * - `guildhall_reshard_phase{phase}` — 1 for the current phase, 0 for the others.
 * - `guildhall_identify_budget_remaining` — session starts left today (shared budget), -1 when unknown.
 * - `guildhall_controller_leader` — 1 while this process leads.
 * - `guildhall_controller_command_syncs_total{result}` — slash-command sync attempts.
 *
 * @example
 * const m = controllerMetrics(ctx.metrics);
 * m.reconciles.inc({ result: 'success' });
 */
export function controllerMetrics(registry: Registry) {
  const registers = [registry];
  const phase = new Gauge({
    name: 'guildhall_reshard_phase',
    help: 'Reshard state machine phase: 1 for the current phase (stable, overlap, draining), 0 otherwise.',
    labelNames: ['phase'],
    registers,
  });
  for (const p of RESHARD_PHASES) phase.set({ phase: p }, p === 'stable' ? 1 : 0);
  return {
    reconciles: new Counter({
      name: 'guildhall_controller_reconciles_total',
      help: 'Controller reconciles by result (success, requeue, error).',
      labelNames: ['result'],
      registers,
    }),
    planShards: new Gauge({
      name: 'guildhall_plan_shards',
      help: 'Shards of the active plan and of the next one during a reshard (0 when none).',
      labelNames: ['plan'],
      registers,
    }),
    planGeneration: new Gauge({
      name: 'guildhall_plan_generation',
      help: 'Generation of the active shard plan.',
      registers,
    }),
    leasesHeld: new Gauge({
      name: 'guildhall_leases_held',
      help: 'Live shard leases of the active and of the next plan generation.',
      labelNames: ['plan'],
      registers,
    }),
    reshardReady: new Gauge({
      name: 'guildhall_reshard_shards_ready',
      help: 'READY shards of the generation being brought up by a reshard (0 when none).',
      registers,
    }),
    identifyBudget: new Gauge({
      name: 'guildhall_identify_budget_remaining',
      help: 'Session starts (identifies) left in the shared daily budget; -1 when unknown.',
      registers,
    }),
    leader: new Gauge({
      name: 'guildhall_controller_leader',
      help: '1 while this controller process is the elected leader.',
      registers,
    }),
    commandSyncs: new Counter({
      name: 'guildhall_controller_command_syncs_total',
      help: 'Slash-command sync attempts by result (synced, failed).',
      labelNames: ['result'],
      registers,
    }),
    setPhase(current: PlanPhase) {
      for (const p of RESHARD_PHASES) phase.set({ phase: p }, p === current ? 1 : 0);
    },
  };
}

/**
 * The metrics object {@link controllerMetrics} returns.
 *
 * @example
 * function report(m: ControllerMetrics) { m.leader.set(1); }
 */
export type ControllerMetrics = ReturnType<typeof controllerMetrics>;
