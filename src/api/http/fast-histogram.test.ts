import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastHistogram } from './fast-histogram.js';

describe('FastHistogram', () => {
  it('exposes cumulative buckets, sum and count per label set through the registry', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ role: 'api' });
    const h = new FastHistogram({
      name: 'guildhall_t_seconds',
      help: 'T.',
      labelNames: ['route', 'status'],
      buckets: [0.1, 1],
      registry,
    });
    const a = h.series({ route: '/a', status: '200' });
    a.observe(0.05);
    a.observe(0.5);
    a.observe(5);
    h.series({ route: '/b', status: '404' }).observe(0.1);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE guildhall_t_seconds histogram');
    expect(text).toContain('guildhall_t_seconds_bucket{le="0.1",route="/a",status="200",role="api"} 1');
    expect(text).toContain('guildhall_t_seconds_bucket{le="1",route="/a",status="200",role="api"} 2');
    expect(text).toContain('guildhall_t_seconds_bucket{le="+Inf",route="/a",status="200",role="api"} 3');
    expect(text).toContain('guildhall_t_seconds_sum{route="/a",status="200",role="api"} 5.55');
    expect(text).toContain('guildhall_t_seconds_count{route="/a",status="200",role="api"} 3');
    expect(text).toContain('guildhall_t_seconds_bucket{le="0.1",route="/b",status="404",role="api"} 1');
    expect(registry.getSingleMetric('guildhall_t_seconds')).toBe(h);
  });
});
