import Router from '@koa/router';
import type { Registry } from 'prom-client';

/**
 * Readiness probes: each returns true when its component can serve.
 *
 * @example
 * const storageReady: ReadinessCheck = () => storage.isOpen;
 */
export type ReadinessCheck = () => boolean | Promise<boolean>;

/**
 * `/healthz` (process is alive), `/readyz` (every readiness check passes; 503 with the failing names
 * otherwise) and `/metrics` (Prometheus text format from the role's registry).
 *
 * @example
 * app.use(healthRouter(registry, { storage: () => storage.isOpen }).routes());
 */
export function healthRouter(registry: Registry, checks: Record<string, ReadinessCheck>): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const failing = await failingChecks(checks);
    ctx.status = failing.length === 0 ? 200 : 503;
    ctx.body = failing.length === 0 ? { status: 'ready' } : { status: 'not_ready', failing };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  });
  return router;
}

/**
 * Names of the readiness checks that fail (or throw).
 *
 * @example
 * const failing = await failingChecks({ storage: () => storage.isOpen }); // [] when ready
 */
export async function failingChecks(checks: Readonly<Record<string, ReadinessCheck>>): Promise<string[]> {
  const failing: string[] = [];
  for (const [name, check] of Object.entries(checks)) {
    try {
      if (!(await check())) failing.push(name);
    } catch {
      failing.push(name);
    }
  }
  return failing;
}
