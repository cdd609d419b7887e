import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineRoute } from '../../src/api/http/route.js';
import { createSimulator, type SimulatorHandle } from '../../src/sim/index.js';
import { discordTokens, scenario } from './sim-helpers.js';
import { IDS, JWT_SECRET, type TestApi, call, seed, startTestApi } from './harness.js';

const leaky = defineRoute({
  id: 'test.leaky',
  method: 'post',
  path: '/api/v1/test/leaky',
  tag: 'meta',
  summary: 'fails like a careless library: credentials and config secrets in the error message',
  access: 'authenticated',
  body: z.strictObject({ password: z.string() }),
  handler: ({ ctx, deps }) => {
    const cause = new Error(`secret=${deps.config.api.jwtSecret}`);
    throw new Error(
      `upstream refused ${ctx.get('authorization')} (client ${deps.config.discord.clientSecret})`,
      { cause },
    );
  },
});

describe('secrets never reach logs or responses', () => {
  let t: TestApi;
  let sim: SimulatorHandle;
  let clientSecret: string;
  const seen: string[] = [];
  beforeAll(async () => {
    sim = await createSimulator({ guilds: 1, membersPerGuild: 3, seed: 3 });
    clientSecret = sim.world.app.clientSecret;
    t = await startTestApi(
      {
        DISCORD_API_URL: sim.restUrl,
        DISCORD_APPLICATION_ID: sim.applicationId,
        DISCORD_CLIENT_SECRET: clientSecret,
      },
      {},
      { extraRoutes: [leaky] },
    );
    await seed(t, { days: 1 });
    await scenario(sim, '/oauth/redirect-uris', { uris: [`${t.url}/api/v1/auth/callback`] });
    await scenario(sim, '/oauth/user', { userId: sim.world.guild(sim.world.guildIds()[0]!)!.ownerId });
  });
  afterAll(async () => {
    await t.close();
    await sim.close();
  });

  const record = (r: { text: string; headers: Headers }) => {
    seen.push(r.text, JSON.stringify([...r.headers.entries()]));
    return r;
  };

  it('keeps tokens, keys, codes and config secrets out of every log line and response body', async () => {
    const access = await t.token(IDS.admin);
    const secrets = [JWT_SECRET, clientSecret, access, 'hunter2-in-a-body'];

    // A login through the simulator: the OAuth code and state travel in the query string; the Discord
    // token stays server-side.
    const login = await call(t, 'GET', '/api/v1/auth/login');
    const approved = await fetch(login.headers.get('location')!, { redirect: 'manual' });
    const back = new URL(approved.headers.get('location')!);
    secrets.push(back.searchParams.get('code')!);
    const cb = await call(t, 'GET', back.pathname + back.search, {
      headers: { cookie: login.headers.get('set-cookie')!.split(';')[0]! },
    });
    expect(cb.status).toBe(200);
    expect(discordTokens(sim).length).toBeGreaterThan(0);
    secrets.push(...discordTokens(sim));
    const refresh: string = cb.json.refreshToken;
    secrets.push(refresh, cb.json.accessToken);
    const rotated = await call(t, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: refresh } });
    secrets.push(rotated.json.refreshToken);
    record(await call(t, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: refresh } })); // reuse → 401

    const key = await call(t, 'POST', '/api/v1/api-keys', {
      token: access,
      body: { name: 'ci', scopes: ['read'] },
    });
    secrets.push(key.json.key);
    record(await call(t, 'GET', `/api/v1/guilds/${IDS.guildA}`, { token: key.json.key }));
    record(await call(t, 'GET', '/api/v1/guilds', { token: `${key.json.key.slice(0, -1)}0` }));
    record(await call(t, 'GET', '/api/v1/guilds', { token: `${access}x` }));
    record(
      await call(t, 'GET', `/api/v1/guilds/${IDS.guildA}/audit-log?cursor=${encodeURIComponent(access)}`, {
        token: access,
      }),
    );
    record(
      await call(t, 'POST', '/api/v1/test/leaky', { token: access, body: { password: 'hunter2-in-a-body' } }),
    );
    record(await call(t, 'GET', '/metrics'));
    record(await call(t, 'GET', '/api/v1/openapi.json'));
    record(await call(t, 'GET', '/api/v1/auth/me', { token: access }));

    const logs = t.logs.text;
    expect(logs.length).toBeGreaterThan(1000);
    for (const s of secrets) {
      expect(logs.includes(s), `log contains ${s.slice(0, 12)}…`).toBe(false);
      for (const body of seen) expect(body.includes(s), `response contains ${s.slice(0, 12)}…`).toBe(false);
    }
    // The leaky 500 was logged under its request id with the secrets scrubbed out of message, stack and cause.
    const leak = seen.find((s) => s.includes('internal_error'))!;
    const requestId = (JSON.parse(leak) as { requestId: string }).requestId;
    const logged = t.logs.lines.find((l) => l.includes('"request failed"') && l.includes(requestId))!;
    expect(logged).toContain('upstream refused Bearer [redacted] (client [redacted])');
    expect(logged).toContain('secret=[redacted]');
    // Access log lines carry the path without query strings.
    const accessLines = t.logs.lines.filter((l) => l.includes('"msg":"request"'));
    expect(accessLines.some((l) => l.includes('/api/v1/auth/callback'))).toBe(true);
    expect(
      accessLines.some((l) => l.includes('code=') || l.includes('state=') || l.includes('cursor=')),
    ).toBe(false);
    expect(accessLines.some((l) => /authorization|cookie/i.test(l))).toBe(false);
  });
});
