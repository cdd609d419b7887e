import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { AnyRoute } from '../../src/api/http/route.js';
import { IDS, type TestApi, seed, startTestApi } from './harness.js';

interface Req {
  readonly label: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
}

/** A deterministic PRNG so a failing case can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

const BAD_SCALARS: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  'x',
  '',
  'A'.repeat(10_000),
  [],
  {},
  [1, 'a'],
  { nested: { a: 1 } },
];
const BAD_SEGMENTS = [
  'abc',
  '-1',
  '0',
  '9'.repeat(30),
  '%00',
  '%ZZ',
  '..%2F..%2Fetc',
  "'%20OR%20'1'%3D'1",
  '%F0%9F%8E%89',
  'a'.repeat(3000),
  '12345678901234567890123',
  '1e5',
  'null',
  '%20',
];
const BAD_QUERY_VALUES = [
  'abc',
  '-1',
  '99999999999999999999',
  '1e309',
  'NaN',
  '',
  "' OR 1=1 --",
  '%ZZ',
  'x'.repeat(5000),
  '2026-13-45T99:99:99Z',
  'true',
];
const MALFORMED_BODIES: (string | Buffer)[] = [
  '{',
  '[',
  '{"a":',
  'null',
  '"string"',
  '42',
  'true',
  '[]',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"x":1}}}',
  `${'['.repeat(50_000)}${']'.repeat(50_000)}`,
  Buffer.from([0xff, 0xfe, 0xfd]),
  '\u0000\u0001',
  '{"a":1}garbage',
  'NaN',
];
const CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  'application/x-www-form-urlencoded',
  '',
];
const BAD_AUTH = [
  'Bearer',
  'Bearer ',
  'Bearer a b',
  'Basic dXNlcjpwYXNz',
  'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.',
  'Bearer eyJ.eyJ.sig',
  `Bearer ${'x'.repeat(9000)}`,
  'Bearer gh_00000000_' + '0'.repeat(48),
  'Bearer gh_zz_zz',
  'Digest username="x"',
];

function shapeOf(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  return ((schema as z.ZodObject | undefined)?.shape ?? {}) as Record<string, z.ZodType>;
}

function validValue(name: string): string {
  const v: Record<string, string> = {
    guildId: IDS.guildA,
    userId: IDS.viewer,
    cog: 'leveling',
    keyId: '00000000-0000-0000-0000-000000000000',
    name: 'guilds.get',
  };
  return v[name] ?? 'x';
}

function fillPath(route: AnyRoute, override?: [string, string]): string {
  return route.path.replace(/:(\w+)/g, (_m, n: string) =>
    override && override[0] === n ? override[1] : validValue(n),
  );
}

function generate(routes: readonly AnyRoute[], tokens: { user: string; service: string }): Req[] {
  const rand = rng(20261125);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: Req[] = [];
  for (const r of routes) {
    const method = r.method.toUpperCase();
    const auth = { authorization: `Bearer ${r.access === 'service' ? tokens.service : tokens.user}` };
    const json = { ...auth, 'content-type': 'application/json' };
    // 1. bad path segments
    for (const name of Object.keys(shapeOf(r.params))) {
      for (const seg of BAD_SEGMENTS)
        out.push({
          label: `${r.id} param ${name}=${seg.slice(0, 20)}`,
          method,
          path: fillPath(r, [name, seg]),
          headers: r.body ? json : auth,
          body: r.body ? '{}' : undefined,
        });
    }
    const base = fillPath(r);
    // 2. bad query values, unknown and duplicated fields
    const q = Object.keys(shapeOf(r.query));
    for (const name of q) {
      for (const v of BAD_QUERY_VALUES)
        out.push({
          label: `${r.id} query ${name}=${v.slice(0, 20)}`,
          method,
          path: `${base}?${name}=${encodeURIComponent(v)}`,
          headers: auth,
        });
      out.push({
        label: `${r.id} query dup ${name}`,
        method,
        path: `${base}?${name}=1&${name}=2`,
        headers: auth,
      });
    }
    for (const extra of ['zzz=1', '__proto__[admin]=1', 'constructor=x', 'a[b][c]=1', '%ZZ=1']) {
      out.push({ label: `${r.id} query extra ${extra}`, method, path: `${base}?${extra}`, headers: auth });
    }
    // 3. bodies: malformed, wrong types per field, missing, extra, bad content types, oversize
    if (r.body) {
      for (const b of MALFORMED_BODIES)
        out.push({ label: `${r.id} body malformed`, method, path: base, headers: json, body: b });
      const fields = Object.keys(shapeOf(r.body));
      for (const f of fields) {
        for (const v of BAD_SCALARS)
          out.push({
            label: `${r.id} body ${f}=${JSON.stringify(v).slice(0, 20)}`,
            method,
            path: base,
            headers: json,
            body: JSON.stringify({ [f]: v }),
          });
      }
      out.push({
        label: `${r.id} body extra`,
        method,
        path: base,
        headers: json,
        body: JSON.stringify({ unexpected: true, [pick(['a', 'b'])]: 1 }),
      });
      for (const ct of CONTENT_TYPES)
        out.push({
          label: `${r.id} content-type ${ct}`,
          method,
          path: base,
          headers: { ...auth, 'content-type': ct },
          body: '{"a":1}',
        });
      out.push({
        label: `${r.id} body oversize`,
        method,
        path: base,
        headers: json,
        body: JSON.stringify({ x: 'y'.repeat(2_000_000) }),
      });
      out.push({
        label: `${r.id} body gzip`,
        method,
        path: base,
        headers: { ...json, 'content-encoding': 'gzip' },
        body: '{}',
      });
    }
    // 4. bad credentials
    for (const a of BAD_AUTH)
      out.push({
        label: `${r.id} auth ${a.slice(0, 24)}`,
        method,
        path: base,
        headers: { authorization: a, ...(r.body ? { 'content-type': 'application/json' } : {}) },
        body: r.body ? '{}' : undefined,
      });
    out.push({
      label: `${r.id} x-api-key junk`,
      method,
      path: base,
      headers: { 'x-api-key': pick(['junk', 'gh_', 'gh_1_2', '\u00ff']) },
    });
    // 5. wrong methods
    for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE']) {
      if (m !== method) out.push({ label: `${r.id} method ${m}`, method: m, path: base, headers: auth });
    }
  }
  // 6. paths that match nothing
  for (const p of [
    '/',
    '/api',
    '/api/v2/guilds',
    '/api/v1/guilds/',
    '/api/v1//guilds',
    '/internal/v1/ops/',
    '/%2e%2e/etc/passwd',
    `/api/v1/${'x/'.repeat(500)}`,
  ]) {
    out.push({ label: `unmatched ${p.slice(0, 30)}`, method: 'GET', path: p, headers: {} });
  }
  return out;
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

/** One raw HTTP/1.1 request (node:http, so any method and any bytes can be sent); resolves the status. */
function send(base: string, r: Req): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      base + r.path,
      { method: r.method, headers: r.headers, agent, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (r.body !== undefined) req.write(r.body);
    req.end();
  });
}

describe('fuzz: malformed requests across every route', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ API_RATE_LIMIT_PER_MINUTE: '10000000', LOG_LEVEL: 'warn' });
    await seed(t, { days: 2 });
  });
  afterAll(async () => {
    agent.destroy();
    await t.close();
  });

  it('answers ≥ 1,000 generated bad requests without a single 5xx', async () => {
    const tokens = { user: await t.token(IDS.superadmin), service: await t.serviceToken() };
    const reqs = generate(t.api.routes, tokens);
    expect(reqs.length).toBeGreaterThanOrEqual(1000);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < reqs.length) {
        const r = reqs[next++]!;
        try {
          const status = await send(t.url, r);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status >= 500) failures.push(`${status} ${r.label} ${r.method} ${r.path.slice(0, 120)}`);
        } catch (err) {
          // The server may cut an oversize upload short after answering 413; anything else is a failure.
          if (!r.label.endsWith('oversize')) failures.push(`ERR ${r.label}: ${(err as Error).message}`);
          else statuses.set(413, (statuses.get(413) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(failures).toEqual([]);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(reqs.length);
    // Sanity: the fuzz really exercised validation, auth and routing.
    for (const s of [400, 401, 404, 405, 413, 415])
      expect(statuses.get(s) ?? 0, `status ${s}`).toBeGreaterThan(0);
    console.log(
      `fuzz: ${reqs.length} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`,
    );
  });
});
