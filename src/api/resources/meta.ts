import { z } from 'zod';
import { VERSION } from '../../version.js';
import { DOCS_CSP, DOCS_HTML } from '../docs-page.js';
import { failingChecks } from '../health.js';
import { defineRoute } from '../http/route.js';
import type { OpenApiDocument } from '../openapi.js';

/**
 * Health, readiness, metrics, the API index, the OpenAPI document and the docs page.
 *
 * @example
 * const routes = [...metaRoutes(() => doc), ...];
 */
export function metaRoutes(getDoc: () => OpenApiDocument) {
  return [
    defineRoute({
      id: 'meta.healthz',
      method: 'get',
      path: '/healthz',
      tag: 'meta',
      summary: 'Liveness: the process serves HTTP',
      access: 'public',
      response: z.strictObject({ status: z.literal('ok') }),
      handler: () => ({ status: 'ok' as const }),
    }),
    defineRoute({
      id: 'meta.readyz',
      method: 'get',
      path: '/readyz',
      tag: 'meta',
      summary: 'Readiness: every dependency check passes (503 with the failing names otherwise)',
      access: 'public',
      raw: {
        status: 200,
        contentType: 'application/json',
        description: 'Ready (503 with `{ status: "not_ready", failing }` when not)',
        schema: z.strictObject({
          status: z.enum(['ready', 'not_ready']),
          failing: z.array(z.string()).optional(),
        }),
      },
      handler: async ({ ctx, deps }) => {
        const failing = await failingChecks(deps.readiness);
        ctx.status = failing.length === 0 ? 200 : 503;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = failing.length === 0 ? { status: 'ready' } : { status: 'not_ready', failing };
      },
    }),
    defineRoute({
      id: 'meta.metrics',
      method: 'get',
      path: '/metrics',
      tag: 'meta',
      summary: 'Prometheus metrics (text exposition format)',
      access: 'public',
      raw: { status: 200, contentType: 'text/plain', description: 'Metrics' },
      handler: async ({ ctx, deps }) => {
        ctx.type = deps.metrics.contentType;
        ctx.body = await deps.metrics.metrics();
      },
    }),
    defineRoute({
      id: 'meta.index',
      method: 'get',
      path: '/api/v1',
      tag: 'meta',
      summary: 'API index: version and links',
      access: 'public',
      response: z.strictObject({
        name: z.string(),
        version: z.string(),
        openapi: z.string(),
        docs: z.string(),
      }),
      handler: () => ({
        name: 'guildhall admin API',
        version: VERSION,
        openapi: '/api/v1/openapi.json',
        docs: '/api/v1/docs',
      }),
    }),
    defineRoute({
      id: 'meta.openapi',
      method: 'get',
      path: '/api/v1/openapi.json',
      tag: 'meta',
      summary: 'This OpenAPI 3.1 document (generated from the route schemas)',
      access: 'public',
      raw: { status: 200, contentType: 'application/json', description: 'OpenAPI 3.1 document' },
      handler: ({ ctx }) => {
        ctx.type = 'application/json';
        ctx.body = getDoc();
      },
    }),
    defineRoute({
      id: 'meta.docs',
      method: 'get',
      path: '/api/v1/docs',
      tag: 'meta',
      summary: 'Human-readable API reference (self-contained HTML, no CDN)',
      access: 'public',
      raw: { status: 200, contentType: 'text/html', description: 'HTML page' },
      handler: ({ ctx }) => {
        ctx.type = 'text/html; charset=utf-8';
        ctx.set('Content-Security-Policy', DOCS_CSP);
        ctx.set('X-Frame-Options', 'DENY');
        ctx.set('Referrer-Policy', 'no-referrer');
        ctx.body = DOCS_HTML;
      },
    }),
  ];
}
