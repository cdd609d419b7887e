import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateJson } from './json-schema.js';
import { IDS, type TestApi, call, seed, startTestApi } from './harness.js';

type Doc = {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        operationId: string;
        security: unknown[];
        responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
        parameters?: { name: string; in: string; required: boolean }[];
      }
    >
  >;
  components: { schemas: Record<string, unknown> };
};

describe('OpenAPI document', () => {
  let t: TestApi;
  let doc: Doc;
  beforeAll(async () => {
    t = await startTestApi();
    await seed(t, { days: 5 });
    doc = (await call(t, 'GET', '/api/v1/openapi.json')).json as Doc;
  });
  afterAll(() => t.close());

  it('is OpenAPI 3.1 with unique operation ids and resolvable $refs', () => {
    expect(doc.openapi).toBe('3.1.0');
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of new Set(refs)) {
      const name = ref.split('/').pop()!.replace('"', '');
      expect(doc.components.schemas, ref).toHaveProperty(name);
    }
    expect(ids.length).toBeGreaterThanOrEqual(50);
  });

  it('documents every mounted route and mounts every documented route', () => {
    const mounted = new Set<string>();
    for (const layer of t.api.routers.flatMap((r) => r.stack)) {
      for (const m of layer.methods) {
        if (m === 'HEAD') continue;
        mounted.add(`${m} ${String(layer.path).replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
      }
    }
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)),
    );
    expect([...mounted].filter((x) => !documented.has(x))).toEqual([]);
    expect([...documented].filter((x) => !mounted.has(x))).toEqual([]);
    // every path parameter is declared
    for (const [p, ops] of Object.entries(doc.paths)) {
      const names = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const op of Object.values(ops)) {
        expect(
          op.parameters
            ?.filter((x) => x.in === 'path')
            .map((x) => x.name)
            .sort() ?? [],
          p,
        ).toEqual([...names].sort());
      }
    }
  });

  it('every JSON GET of a seeded guild returns a body that validates against its documented schema', async () => {
    const sa = await t.token(IDS.superadmin);
    const key = await call(t, 'POST', '/api/v1/api-keys', {
      token: sa,
      body: { name: 'doc', scopes: ['read'] },
    });
    const values: Record<string, string> = {
      guildId: IDS.guildA,
      userId: IDS.owner,
      cog: 'leveling',
      keyId: key.json.id,
    };
    const tokens: Record<string, string> = { '/internal': await t.serviceToken() };
    let checked = 0;
    for (const [p, ops] of Object.entries(doc.paths)) {
      const op = ops.get;
      if (!op) continue;
      const ok = op.responses['200'];
      const schema = ok?.content?.['application/json']?.schema;
      // live (SSE) and the OAuth callback (needs a Discord round trip) are covered by their own tests
      if (!schema || p.endsWith('/live') || p.endsWith('/auth/callback')) continue;
      const path = p.replace(/\{(\w+)\}/g, (_m, n: string) => values[n]!);
      const query = p.endsWith('/analytics/series') ? '?kind=message' : '';
      const r = await call(t, 'GET', path + query, {
        token: p.startsWith('/internal') ? tokens['/internal'] : sa,
      });
      expect([p, r.status]).toEqual([p, 200]);
      const errors = validateJson(schema, r.json, doc as unknown as Record<string, unknown>);
      expect([p, errors]).toEqual([p, []]);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(30);
  });

  it('write responses validate too, and problems validate against Problem', async () => {
    const admin = await t.token(IDS.admin);
    const schemaOf = (p: string, m: string, status: string) =>
      doc.paths[p]![m]!.responses[status]!.content!['application/json']!.schema;
    const cases: [string, string, string, unknown][] = [
      [
        '/api/v1/guilds/{guildId}/settings',
        'patch',
        `/api/v1/guilds/${IDS.guildA}/settings`,
        { locale: 'de-DE' },
      ],
      [
        '/api/v1/guilds/{guildId}/cogs/{cog}/config',
        'put',
        `/api/v1/guilds/${IDS.guildA}/cogs/leveling/config`,
        { xpPerMessage: 3 },
      ],
      [
        '/api/v1/guilds/{guildId}/cogs/{cog}/enable',
        'post',
        `/api/v1/guilds/${IDS.guildA}/cogs/tickets/enable`,
        undefined,
      ],
      [
        '/api/v1/guilds/{guildId}/roles/{userId}',
        'put',
        `/api/v1/guilds/${IDS.guildA}/roles/1200000000000000088`,
        { role: 'viewer' },
      ],
    ];
    for (const [p, m, path, body] of cases) {
      const r = await call(t, m.toUpperCase(), path, { token: admin, body });
      expect(validateJson(schemaOf(p, m, '200'), r.json, doc as unknown as Record<string, unknown>)).toEqual(
        [],
      );
    }
    const created = await call(t, 'POST', '/api/v1/api-keys', {
      token: admin,
      body: { name: 'k', scopes: ['read'] },
    });
    expect(
      validateJson(
        schemaOf('/api/v1/api-keys', 'post', '201'),
        created.json,
        doc as unknown as Record<string, unknown>,
      ),
    ).toEqual([]);
    const problem = await call(t, 'PATCH', `/api/v1/guilds/${IDS.guildA}/settings`, {
      token: admin,
      body: { nope: 1 },
    });
    const problemSchema =
      doc.paths['/api/v1/guilds/{guildId}/settings']!.patch!.responses['400']!.content![
        'application/problem+json'
      ]!.schema;
    expect(validateJson(problemSchema, problem.json, doc as unknown as Record<string, unknown>)).toEqual([]);
    // The hand-written validator does reject a wrong body (so the checks above mean something).
    expect(
      validateJson(
        schemaOf('/api/v1/guilds/{guildId}/settings', 'patch', '200'),
        { locale: 5 },
        doc as unknown as Record<string, unknown>,
      ),
    ).not.toEqual([]);
  });

  it('serves a self-contained docs page (no CDN) under a strict CSP', async () => {
    const r = await call(t, 'GET', '/api/v1/docs');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/html');
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("default-src 'none'");
    expect(r.text).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/);
    expect(r.text).toContain("fetch('openapi.json'");
  });
});
