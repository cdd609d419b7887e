import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRestServer, type RestServer } from '../../src/sim/rest/server.js';
import { World } from '../../src/sim/world/index.js';

interface TokenBody {
  access_token?: string;
  refresh_token?: string;
  token_type?: string;
  expires_in?: number;
  scope?: string;
  error?: string;
  error_description?: string;
}

// A real OAuth2 client: a browser-like fetch that follows the redirect to a real callback server.
describe('OAuth2 against the simulator', () => {
  let world: World;
  let sim: RestServer;
  let callback: Server;
  let callbackUrl: string;
  const received: URLSearchParams[] = [];
  let alice: string;
  let guilds: string[];

  beforeAll(async () => {
    world = World.create({ guilds: 4, membersPerGuild: 10, channelsPerGuild: 5, rolesPerGuild: 4, seed: 21 });
    sim = await startRestServer({ world, rateLimits: { enabled: false } });
    callback = createServer((req, res) => {
      received.push(new URL(req.url ?? '/', 'http://x').searchParams);
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('logged in');
    });
    callback.listen(0, '127.0.0.1');
    await once(callback, 'listening');
    callbackUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/auth/callback`;
    const scenario = sim.handler.scenario;
    alice = scenario.createUser({ username: 'alice', email: 'alice@example.test' }).id;
    guilds = world.guildIds().slice(0, 2) as string[];
    for (const g of guilds) scenario.joinGuild(g, alice);
    scenario.setOAuthUser(alice);
    scenario.addRedirectUris([callbackUrl]);
  });

  afterAll(async () => {
    await sim.close();
    await new Promise<void>((r) => callback.close(() => r()));
  });

  function authorizeUrl(params: Record<string, string>): string {
    const u = new URL('/oauth2/authorize', sim.url);
    for (const [k, v] of Object.entries({
      response_type: 'code',
      client_id: world.app.id,
      redirect_uri: callbackUrl,
      ...params,
    }))
      u.searchParams.set(k, v);
    return u.toString();
  }

  async function login(scope: string, extra: Record<string, string> = {}): Promise<URLSearchParams> {
    const state = randomBytes(8).toString('hex');
    const before = received.length;
    const res = await fetch(authorizeUrl({ scope, state, ...extra }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('logged in');
    const params = received[before] as URLSearchParams;
    expect(params.get('state')).toBe(state);
    return params;
  }

  async function token(
    form: Record<string, string>,
    basic = true,
  ): Promise<{ status: number; body: TokenBody }> {
    const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
    if (basic)
      headers.Authorization = `Basic ${Buffer.from(`${world.app.id}:${world.app.clientSecret}`).toString('base64')}`;
    const res = await fetch(`${sim.restUrl}/v10/oauth2/token`, {
      method: 'POST',
      headers,
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as TokenBody };
  }

  async function bearer(path: string, accessToken: string): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${sim.restUrl}/v10${path}`, {
      headers: { Authorization: `Bearer ${accessToken}` },
    });
    return { status: res.status, body: await res.json() };
  }

  it('code flow: authorize redirects with code + state, the code becomes tokens, /users/@me and /users/@me/guilds answer', async () => {
    const params = await login('identify email guilds');
    const code = params.get('code') as string;
    expect(code).toBeTruthy();
    const t = await token({ grant_type: 'authorization_code', code, redirect_uri: callbackUrl });
    expect(t.status).toBe(200);
    expect(t.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 604800,
      scope: 'identify email guilds',
    });
    expect(t.body.refresh_token).toBeTruthy();
    const me = await bearer('/users/@me', t.body.access_token as string);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      id: alice,
      username: 'alice',
      email: 'alice@example.test',
      verified: true,
    });
    const mine = await bearer('/users/@me/guilds', t.body.access_token as string);
    expect(mine.status).toBe(200);
    expect(
      (mine.body as { id: string; owner: boolean; permissions: string }[]).map((g) => g.id).sort(),
    ).toEqual([...guilds].sort());
    const info = await bearer('/oauth2/@me', t.body.access_token as string);
    expect(info.body).toMatchObject({ scopes: ['identify', 'email', 'guilds'], user: { id: alice } });
    // A code is single use.
    const again = await token({ grant_type: 'authorization_code', code, redirect_uri: callbackUrl });
    expect(again).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Invalid "code" in request.' },
    });
  });

  it('client authentication may come in the form body instead of HTTP Basic', async () => {
    const code = (await login('identify')).get('code') as string;
    const t = await token(
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: callbackUrl,
        client_id: world.app.id,
        client_secret: world.app.clientSecret,
      },
      false,
    );
    expect(t.status).toBe(200);
  });

  it('scopes are enforced: no guilds scope → 401 on /users/@me/guilds, no email scope → no email, bearer never works on bot routes', async () => {
    const code = (await login('identify')).get('code') as string;
    const t = await token({ grant_type: 'authorization_code', code, redirect_uri: callbackUrl });
    const access = t.body.access_token as string;
    const me = await bearer('/users/@me', access);
    expect(me.status).toBe(200);
    expect(me.body).not.toHaveProperty('email');
    expect(await bearer('/users/@me/guilds', access)).toEqual({
      status: 401,
      body: { message: '401: Unauthorized', code: 0 },
    });
    expect((await bearer(`/guilds/${guilds[0]}`, access)).status).toBe(401);
    expect((await bearer(`/users/@me/guilds/${guilds[0]}/member`, access)).status).toBe(401);
  });

  it('refresh rotates the pair: the new access token works, the old access and refresh tokens do not', async () => {
    const code = (await login('identify guilds')).get('code') as string;
    const first = (await token({ grant_type: 'authorization_code', code, redirect_uri: callbackUrl })).body;
    const refreshed = await token({
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token as string,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.access_token).not.toBe(first.access_token);
    expect(refreshed.body.scope).toBe('identify guilds');
    expect((await bearer('/users/@me', refreshed.body.access_token as string)).status).toBe(200);
    expect((await bearer('/users/@me', first.access_token as string)).status).toBe(401);
    expect(
      (await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token as string })).body.error,
    ).toBe('invalid_grant');
  });

  it('revoking a token ends the whole authorization (access and refresh)', async () => {
    const code = (await login('identify')).get('code') as string;
    const t = (await token({ grant_type: 'authorization_code', code, redirect_uri: callbackUrl })).body;
    const res = await fetch(`${sim.restUrl}/v10/oauth2/token/revoke`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: `Basic ${Buffer.from(`${world.app.id}:${world.app.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        token: t.refresh_token as string,
        token_type_hint: 'refresh_token',
      }).toString(),
    });
    expect(res.status).toBe(200);
    expect((await bearer('/users/@me', t.access_token as string)).status).toBe(401);
    expect(
      (await token({ grant_type: 'refresh_token', refresh_token: t.refresh_token as string })).body.error,
    ).toBe('invalid_grant');
  });

  it('rejects what Discord rejects: wrong secret, wrong redirect_uri at exchange, JSON bodies, unknown grant types', async () => {
    const code = (await login('identify')).get('code') as string;
    const wrongRedirect = await token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: `${callbackUrl}/other`,
    });
    expect(wrongRedirect.body.error).toBe('invalid_grant');
    const badSecret = await fetch(`${sim.restUrl}/v10/oauth2/token`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: `Basic ${Buffer.from(`${world.app.id}:nope`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials&scope=identify',
    });
    expect(badSecret.status).toBe(401);
    expect(await badSecret.json()).toEqual({ error: 'invalid_client' });
    const json = await fetch(`${sim.restUrl}/v10/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    expect(json.status).toBe(400);
    expect(((await json.json()) as TokenBody).error).toBe('unsupported_grant_type');
    expect((await token({ grant_type: 'password' })).body.error).toBe('unsupported_grant_type');
  });

  it('authorize errors: unknown client or unregistered redirect_uri → error page; bad scope → redirect with error and state', async () => {
    const unknownClient = await fetch(authorizeUrl({ client_id: '1', scope: 'identify' }), {
      redirect: 'manual',
    });
    expect(unknownClient.status).toBe(400);
    const badRedirect = await fetch(
      authorizeUrl({ redirect_uri: 'http://127.0.0.1:1/evil', scope: 'identify' }),
      { redirect: 'manual' },
    );
    expect(badRedirect.status).toBe(400);
    const badScope = await fetch(authorizeUrl({ scope: 'identify not.a.scope', state: 'xyz' }), {
      redirect: 'manual',
    });
    expect(badScope.status).toBe(302);
    const location = new URL(badScope.headers.get('location') as string);
    expect(location.origin + location.pathname).toBe(callbackUrl);
    expect(location.searchParams.get('error')).toBe('invalid_scope');
    expect(location.searchParams.get('state')).toBe('xyz');
  });

  it('PKCE (S256): the exchange needs the verifier', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const code1 = (await login('identify', { code_challenge: challenge, code_challenge_method: 'S256' })).get(
      'code',
    ) as string;
    expect(
      (
        await token({
          grant_type: 'authorization_code',
          code: code1,
          redirect_uri: callbackUrl,
          code_verifier: 'wrong',
        })
      ).body.error,
    ).toBe('invalid_grant');
    const code2 = (await login('identify', { code_challenge: challenge, code_challenge_method: 'S256' })).get(
      'code',
    ) as string;
    const ok = await token(
      {
        grant_type: 'authorization_code',
        code: code2,
        redirect_uri: callbackUrl,
        code_verifier: verifier,
        client_id: world.app.id,
      },
      false,
    );
    expect(ok.status).toBe(200);
  });

  it('client_credentials gives the app owner a token without a refresh token', async () => {
    const t = await token({
      grant_type: 'client_credentials',
      scope: 'identify applications.commands.update',
    });
    expect(t.status).toBe(200);
    expect(t.body.refresh_token).toBeUndefined();
    const me = await bearer('/users/@me', t.body.access_token as string);
    expect((me.body as { id: string }).id).toBe(sim.handler.oauth.ownerId);
  });
});
