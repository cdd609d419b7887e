import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineRoute } from '../../src/api/http/route.js';
import { IDS, type TestApi, call, seed, startTestApi } from './harness.js';

const boom = defineRoute({
  id: 'test.boom',
  method: 'get',
  path: '/api/v1/test/boom',
  tag: 'meta',
  summary: 'throws a plain Error carrying a secret',
  access: 'public',
  handler: () => {
    throw new Error('db password is hunter2-super-secret');
  },
});
const echo = defineRoute({
  id: 'test.echo',
  method: 'post',
  path: '/api/v1/test/echo',
  tag: 'meta',
  summary: 'echoes a validated body',
  access: 'public',
  body: z.strictObject({
    name: z.string().max(50),
    count: z.number().int().min(0),
    tags: z.array(z.string()).optional(),
  }),
  response: z.strictObject({ name: z.string(), count: z.number() }),
  handler: ({ body }) => ({ name: body.name, count: body.count }),
});

/** A raw HTTP/1.1 request (for methods fetch refuses and hand-made bodies). */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request(url + path, { method, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    },
  );
}

describe('HTTP framework', () => {
  let t: TestApi;
  let admin: string;
  beforeAll(async () => {
    t = await startTestApi(
      { CORS_ORIGINS: 'https://admin.example.org', API_BODY_LIMIT_BYTES: '2048' },
      {},
      { extraRoutes: [boom, echo] },
    );
    await seed(t, { days: 2 });
    admin = await t.token(IDS.admin);
  });
  afterAll(() => t.close());

  it('echoes a well-formed X-Request-Id and generates one otherwise; problems carry it', async () => {
    const a = await call(t, 'GET', '/api/v1', { headers: { 'x-request-id': 'client-req.42' } });
    expect(a.headers.get('x-request-id')).toBe('client-req.42');
    const b = await call(t, 'GET', '/nope', { headers: { 'x-request-id': 'bad id with spaces' } });
    const id = b.headers.get('x-request-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.json.requestId).toBe(id);
    expect(t.logs.text).toContain(id);
  });

  it('answers unknown paths with 404 route_not_found as problem+json', async () => {
    const r = await call(t, 'GET', '/api/v1/does-not-exist');
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.json).toMatchObject({
      status: 404,
      code: 'route_not_found',
      type: expect.stringContaining('route_not_found'),
    });
  });

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const r = await call(t, 'DELETE', `/api/v1/guilds/${IDS.guildA}/settings`, { token: admin });
    expect(r.status).toBe(405);
    expect(r.json.code).toBe('method_not_allowed');
    expect(r.headers.get('allow')).toContain('PATCH');
    expect(r.headers.get('allow')).toContain('GET');
    const odd = await raw(t.url, 'PROPFIND', '/api/v1', {});
    expect(odd.status).toBe(405);
  });

  it('turns an unknown error into a generic 500 internal_error, logged with the request id, secret-free body', async () => {
    const r = await call(t, 'GET', '/api/v1/test/boom');
    expect(r.status).toBe(500);
    expect(r.json).toMatchObject({ code: 'internal_error', title: 'Internal server error' });
    expect(r.text).not.toContain('hunter2');
    expect(r.text).not.toContain('at ');
    const logged = t.logs.lines.find((l) => l.includes('"request failed"') && l.includes(r.json.requestId));
    expect(logged).toBeDefined();
    expect(logged).toContain('hunter2'); // the log keeps the cause for operators
  });

  it('validates bodies: malformed JSON, unknown fields, wrong types (field errors), missing body', async () => {
    const bad = await call(t, 'POST', '/api/v1/test/echo', {
      rawBody: '{"name": "x",',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('malformed_json');
    const unknown = await call(t, 'POST', '/api/v1/test/echo', {
      body: { name: 'x', count: 1, admin: true },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.code).toBe('validation_failed');
    expect(unknown.json.details).toContainEqual(
      expect.objectContaining({ path: 'body.admin', code: 'unrecognized_key' }),
    );
    const types = await call(t, 'POST', '/api/v1/test/echo', { body: { name: 5, count: 'many', tags: [1] } });
    expect(types.status).toBe(400);
    const paths = types.json.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['body.name', 'body.count', 'body.tags.0']));
    const missing = await call(t, 'POST', '/api/v1/test/echo', {});
    expect(missing.status).toBe(400);
    const ok = await call(t, 'POST', '/api/v1/test/echo', { body: { name: 'x', count: 2 } });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ name: 'x', count: 2 });
  });

  it('refuses non-JSON content types (415) and oversize bodies (413), declared or streamed', async () => {
    const form = await call(t, 'POST', '/api/v1/test/echo', {
      rawBody: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    expect(form.json.code).toBe('unsupported_media_type');
    const big = JSON.stringify({ name: 'x', count: 1, tags: Array.from({ length: 400 }, () => 'abcdefgh') });
    const declared = await call(t, 'POST', '/api/v1/test/echo', {
      rawBody: big,
      headers: { 'content-type': 'application/json' },
    });
    expect(declared.status).toBe(413);
    expect(declared.json.code).toBe('payload_too_large');
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${t.url}/api/v1/test/echo`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write(big.slice(0, 1000));
      req.end();
    });
    expect(chunked).toBe(413);
    const badUtf8 = await raw(
      t.url,
      'POST',
      '/api/v1/test/echo',
      { 'content-type': 'application/json' },
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    );
    expect(badUtf8.status).toBe(400);
  });

  it('validates path and query: bad ids and unknown query fields are 400, never 500', async () => {
    const badId = await call(t, 'GET', '/api/v1/guilds/not-a-snowflake', { token: admin });
    expect(badId.status).toBe(400);
    expect(badId.json.details[0].path).toBe('params.guildId');
    const unknownQuery = await call(t, 'GET', `/api/v1/guilds/${IDS.guildA}/settings?debug=1`, {
      token: admin,
    });
    expect(unknownQuery.status).toBe(400);
    const badLimit = await call(t, 'GET', '/api/v1/guilds?limit=-5', { token: admin });
    expect(badLimit.status).toBe(400);
    const badCursor = await call(t, 'GET', '/api/v1/guilds?cursor=%7B%7D', { token: admin });
    expect(badCursor.status).toBe(400);
    expect(badCursor.json.code).toBe('invalid_cursor');
    const badRange = await call(
      t,
      'GET',
      `/api/v1/guilds/${IDS.guildA}/analytics/messages?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`,
      { token: admin },
    );
    expect(badRange.json.code).toBe('invalid_range');
    const tooLong = await call(
      t,
      'GET',
      `/api/v1/guilds/${IDS.guildA}/analytics/messages?bucket=hour&from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`,
      { token: admin },
    );
    expect(tooLong.json.code).toBe('range_too_large');
  });

  it('CORS: allowlisted origin gets credentialed headers, preflight works; other origins get none / 403', async () => {
    const ok = await call(t, 'GET', '/api/v1', { headers: { origin: 'https://admin.example.org' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://admin.example.org');
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    const pre = await call(t, 'OPTIONS', '/api/v1/guilds', {
      headers: {
        origin: 'https://admin.example.org',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('Authorization');
    const other = await call(t, 'GET', '/api/v1', { headers: { origin: 'https://evil.example.com' } });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const denied = await call(t, 'OPTIONS', '/api/v1/guilds', {
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'DELETE' },
    });
    expect(denied.status).toBe(403);
    expect(denied.json.code).toBe('cors_origin_denied');
  });

  it('ETag + If-None-Match → 304 on GETs; a change produces a new ETag', async () => {
    const path = `/api/v1/guilds/${IDS.guildA}/settings`;
    const first = await call(t, 'GET', path, { token: admin });
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await call(t, 'GET', path, { token: admin, headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    await call(t, 'PATCH', path, { token: admin, body: { locale: 'de-DE' } });
    const changed = await call(t, 'GET', path, { token: admin, headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.json.locale).toBe('de-DE');
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  it('HEAD works on GET routes; nosniff everywhere, frame and referrer headers on the HTML page', async () => {
    const r = await call(t, 'HEAD', '/api/v1');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const docs = await call(t, 'GET', '/api/v1/docs');
    expect(docs.headers.get('x-frame-options')).toBe('DENY');
    expect(docs.headers.get('referrer-policy')).toBe('no-referrer');
  });
});

describe('rate limiting', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ API_RATE_LIMIT_PER_MINUTE: '5' });
    await seed(t, { days: 1 });
  });
  afterAll(() => t.close());

  it('limits per principal with 429 + Retry-After, separately for each principal', async () => {
    const a = await t.token(IDS.admin);
    const b = await t.token(IDS.viewer);
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 7; i++) {
      const r = await call(t, 'GET', '/api/v1/auth/me', { token: a });
      statuses.push(r.status);
      if (r.status === 429) limited ??= r;
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    expect(limited!.json.code).toBe('rate_limited');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited!.headers.get('ratelimit-remaining')).toBe('0');
    const other = await call(t, 'GET', '/api/v1/auth/me', { token: b });
    expect(other.status).toBe(200);
  });
});
