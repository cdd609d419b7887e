import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Any prom-client metric. */
type Metric = Counter | Gauge | Histogram;

/**
 * Returns the metric already registered under `name` on `registry`, or registers the one `create`
 * builds. Cogs create their metrics this way so a reload (a new instance, the same registry) reuses
 * them instead of failing on a duplicate name.
 *
 * @example
 * const xp = reuseMetric(ctx.metrics, 'guildhall_leveling_xp_awarded_total', (registers) =>
 *   new Counter({ name: 'guildhall_leveling_xp_awarded_total', help: 'XP awarded.', registers }));
 */
export function reuseMetric<M extends Metric>(
  registry: Registry,
  name: string,
  create: (registers: Registry[]) => M,
): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create([registry]);
}

/** The metrics of the cog host (one set per registry). */
export interface CogHostMetrics {
  readonly handlerErrors: Counter<'cog' | 'event'>;
  readonly handlerDuration: Histogram<'cog' | 'event'>;
  readonly interactions: Counter<'cog' | 'kind' | 'outcome'>;
  readonly autoDefers: Counter<'cog'>;
  readonly configInvalid: Counter<'cog'>;
  readonly settingsUnavailable: Counter;
  readonly reloads: Counter<'cog' | 'outcome'>;
  readonly loaded: Gauge;
}

/**
 * Defines (or reuses) the cog host metrics on `registry`:
 * - `guildhall_cog_handler_errors_total{cog,event}` — handler errors (events, interactions, timers)
 * - `guildhall_cog_handler_duration_seconds{cog,event}` — handler run time
 * - `guildhall_cog_interactions_total{cog,kind,outcome}` — interactions by outcome
 * - `guildhall_cog_auto_defers_total{cog}` — interactions the framework had to defer
 * - `guildhall_cog_config_invalid_total{cog}` — guild configs that failed the schema (defaults used)
 * - `guildhall_cog_settings_unavailable_total` — events/interactions skipped: guild settings unreadable
 * - `guildhall_cog_reloads_total{cog,outcome}` — reloads (`ok`, `import_failed`, `invalid`, `load_failed`)
 * - `guildhall_cogs_loaded` — cog instances loaded
 *
 * @example
 * const m = cogHostMetrics(registry);
 * m.handlerErrors.inc({ cog: 'leveling', event: 'MESSAGE_CREATE' });
 */
export function cogHostMetrics(registry: Registry): CogHostMetrics {
  return {
    handlerErrors: reuseMetric(
      registry,
      'guildhall_cog_handler_errors_total',
      (registers) =>
        new Counter({
          name: 'guildhall_cog_handler_errors_total',
          help: 'Errors thrown by cog handlers (gateway events, interactions, timers), caught by the host.',
          labelNames: ['cog', 'event'] as const,
          registers,
        }),
    ),
    handlerDuration: reuseMetric(
      registry,
      'guildhall_cog_handler_duration_seconds',
      (registers) =>
        new Histogram({
          name: 'guildhall_cog_handler_duration_seconds',
          help: 'Time spent in cog handlers.',
          labelNames: ['cog', 'event'] as const,
          buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers,
        }),
    ),
    interactions: reuseMetric(
      registry,
      'guildhall_cog_interactions_total',
      (registers) =>
        new Counter({
          name: 'guildhall_cog_interactions_total',
          help: 'Interactions routed to cogs by kind (command, autocomplete, component, modal) and outcome.',
          labelNames: ['cog', 'kind', 'outcome'] as const,
          registers,
        }),
    ),
    autoDefers: reuseMetric(
      registry,
      'guildhall_cog_auto_defers_total',
      (registers) =>
        new Counter({
          name: 'guildhall_cog_auto_defers_total',
          help: 'Interactions the host deferred because the handler had not answered in time.',
          labelNames: ['cog'] as const,
          registers,
        }),
    ),
    configInvalid: reuseMetric(
      registry,
      'guildhall_cog_config_invalid_total',
      (registers) =>
        new Counter({
          name: 'guildhall_cog_config_invalid_total',
          help: 'Guild configs that failed the cog schema; the cog used its defaults for that guild.',
          labelNames: ['cog'] as const,
          registers,
        }),
    ),
    settingsUnavailable: reuseMetric(
      registry,
      'guildhall_cog_settings_unavailable_total',
      (registers) =>
        new Counter({
          name: 'guildhall_cog_settings_unavailable_total',
          help: 'Events and interactions skipped because a guild’s cog settings could not be loaded.',
          registers,
        }),
    ),
    reloads: reuseMetric(
      registry,
      'guildhall_cog_reloads_total',
      (registers) =>
        new Counter({
          name: 'guildhall_cog_reloads_total',
          help: 'Cog reloads by outcome.',
          labelNames: ['cog', 'outcome'] as const,
          registers,
        }),
    ),
    loaded: reuseMetric(
      registry,
      'guildhall_cogs_loaded',
      (registers) => new Gauge({ name: 'guildhall_cogs_loaded', help: 'Cog instances loaded.', registers }),
    ),
  };
}
