import type { Metric, Registry } from 'prom-client';

/**
 * Returns the metric `name` already registered on `registry`, or registers the one `make` builds. Lets
 * several app instances share one registry (tests, benchmarks) without duplicate-registration errors.
 *
 * @example
 * const c = metricOnce(registry, 'guildhall_x_total', () => new Counter({ name: 'guildhall_x_total', help: 'x', registers: [registry] }));
 */
export function metricOnce<T extends Metric>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}
