import { Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric name starts with this. */
export const METRIC_PREFIX = 'guildhall_';

/**
 * A fresh prom-client registry. Metrics are defined in the module that uses them, registered on the
 * registry passed in (never the global one), named `guildhall_*` in base units, counters ending in `_total`,
 * and never labelled with guild, user or channel ids.
 *
 * @example
 * const registry = createMetricsRegistry({ role: 'api', defaultMetrics: true });
 * new Counter({ name: 'guildhall_things_total', help: 'Things.', registers: [registry] });
 */
export function createMetricsRegistry(opts: { role: string; defaultMetrics: boolean }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role: opts.role });
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}
