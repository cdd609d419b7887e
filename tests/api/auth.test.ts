import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeySet } from '../../src/api/auth/keys.js';
import { issueAccessToken } from '../../src/api/auth/tokens.js';
import { issueTokenCommand } from '../../src/api/cli.js';
import { createSimulator, type SimulatorHandle } from '../../src/sim/index.js';
import { oauthFor } from '../../src/sim/oauth/store.js';
import { discordTokens, scenario } from './sim-helpers.js';
import { IDS, JWT_SECRET, type TestApi, call, seed, startTestApi } from './harness.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('access tokens', () => {
  let t: TestApi;
  let good: string;
  beforeAll(async () => {
    t = await startTestApi();
    await seed(t, { days: 1 });
    good = await t.token(IDS.admin);
  });
  afterAll(() => t.close());

  const me = (token: string) => call(t, 'GET', '/api/v1/auth/me', { token });

  it('accepts a valid token', async () => {
    const r = await me(good);
    expect(r.status).toBe(200);
    expect(r.json.principal).toEqual({ kind: 'user', id: IDS.admin });
    expect(r.json.guilds).toEqual([{ id: IDS.guildA, name: 'Guild A', role: 'admin' }]);
  });

  it('refuses alg none', async () => {
    const [, payload] = good.split('.');
    const r = await me(`${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`);
    expect(r.status).toBe(401);
    expect(r.json.code).toBe('token_alg_not_allowed');
    expect(r.headers.get('www-authenticate')).toContain('Bearer');
  });

  it('refuses a token signed by a foreign key (unknown kid) and one forging our kid', async () => {
    const foreign = await KeySet.create({
      secret: 'another-secret-that-is-long-enough-000000',
      issuer: 'guildhall',
    });
    const r1 = await me(await issueAccessToken(foreign, { userId: IDS.admin, ttlSeconds: 60 }));
    expect(r1.json.code).toBe('token_unknown_key');
    const forged = await new SignJWT({ sub: IDS.admin })
      .setProtectedHeader({ alg: 'HS256', kid: t.deps.keys.currentKid })
      .setIssuer('guildhall')
      .setAudience('admin')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-that-is-long-enough-000000'));
    const r2 = await me(forged);
    expect(r2.status).toBe(401);
    expect(r2.json.code).toBe('token_invalid_signature');
  });

  it('refuses expired, wrong-audience, wrong-issuer, tampered and malformed tokens with distinct codes', async () => {
    const old = Math.floor(Date.now() / 1000) - 3600;
    const expired = await t.deps.keys.sign(
      { sub: IDS.admin },
      { audience: 'admin', ttlSeconds: 60, nowSeconds: old },
    );
    expect((await me(expired)).json.code).toBe('token_expired');

    const service = await t.serviceToken();
    expect((await me(service)).json.code).toBe('token_wrong_audience');
    const onInternal = await call(t, 'GET', '/internal/v1/ops', { token: good });
    expect(onInternal.status).toBe(401);
    expect(onInternal.json.code).toBe('token_wrong_audience');

    const otherIssuer = await KeySet.create({ secret: JWT_SECRET, issuer: 'someone-else' });
    expect(
      (await me(await issueAccessToken(otherIssuer, { userId: IDS.admin, ttlSeconds: 60 }))).json.code,
    ).toBe('token_wrong_issuer');

    const [h, p, s] = good.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${h}.${b64({ ...claims, sub: IDS.superadmin })}.${s}`;
    const r = await me(tampered);
    expect(r.status).toBe(401);
    expect(r.json.code).toBe('token_invalid_signature');

    expect((await me('not.a.jwt')).json.code).toBe('token_malformed');
    expect((await me('garbage')).json.code).toBe('token_malformed');
    const hs512 = `${b64({ alg: 'HS512', kid: t.deps.keys.currentKid })}.${p}.${s}`;
    expect((await me(hs512)).json.code).toBe('token_alg_not_allowed');
    const basic = await call(t, 'GET', '/api/v1/auth/me', { headers: { authorization: 'Basic YTpi' } });
    expect(basic.json.code).toBe('unsupported_auth_scheme');
    const none = await call(t, 'GET', '/api/v1/auth/me');
    expect(none.status).toBe(401);
    expect(none.json.code).toBe('unauthenticated');
  });
});

describe('key rotation and EdDSA', () => {
  it('verifies with previous HS256 secrets and signs with the current one', async () => {
    const oldSecret = 'old-secret-0123456789-0123456789-0123456789';
    const oldKeys = await KeySet.create({ secret: oldSecret, issuer: 'guildhall' });
    const t = await startTestApi({ JWT_PREVIOUS_SECRETS: oldSecret });
    try {
      await seed(t, { days: 1 });
      const oldToken = await issueAccessToken(oldKeys, { userId: IDS.viewer, ttlSeconds: 60 });
      expect((await call(t, 'GET', '/api/v1/auth/me', { token: oldToken })).status).toBe(200);
      const fresh = await t.token(IDS.viewer);
      const kid = JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid;
      expect(kid).toBe(t.deps.keys.currentKid);
      expect(kid).not.toBe(oldKeys.currentKid);
    } finally {
      await t.close();
    }
  });

  it('signs with Ed25519 when configured, accepts extra JWKS keys, and refuses HS256 alg confusion', async () => {
    const current = generateKeyPairSync('ed25519');
    const previous = generateKeyPairSync('ed25519');
    const prevJwk = { ...(await exportJWK(previous.publicKey)), kid: 'ed-previous' };
    const pem = current.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString().replace(/\n/g, '\\n');
    const t = await startTestApi({
      JWT_ED25519_PRIVATE_KEY: pem,
      JWT_VERIFY_JWKS: JSON.stringify({ keys: [prevJwk] }),
    });
    try {
      await seed(t, { days: 1 });
      const token = await t.token(IDS.viewer);
      expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).alg).toBe('EdDSA');
      expect((await call(t, 'GET', '/api/v1/auth/me', { token })).status).toBe(200);
      const byPrevious = await new SignJWT({ sub: IDS.viewer })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'ed-previous' })
        .setIssuer('guildhall')
        .setAudience('admin')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(previous.privateKey);
      expect((await call(t, 'GET', '/api/v1/auth/me', { token: byPrevious })).status).toBe(200);
      // The HS256 secret stays accepted for tokens issued before the switch.
      const hsKeys = await KeySet.create({ secret: JWT_SECRET, issuer: 'guildhall' });
      expect(
        (
          await call(t, 'GET', '/api/v1/auth/me', {
            token: await issueAccessToken(hsKeys, { userId: IDS.viewer, ttlSeconds: 60 }),
          })
        ).status,
      ).toBe(200);
      // HMAC keyed with the public key, under the EdDSA kid: the classic confusion attack.
      const pubDer = current.publicKey.export({ format: 'der', type: 'spki' });
      const confused = await new SignJWT({ sub: IDS.viewer })
        .setProtectedHeader({ alg: 'HS256', kid: t.deps.keys.currentKid })
        .setIssuer('guildhall')
        .setAudience('admin')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new Uint8Array(pubDer));
      const r = await call(t, 'GET', '/api/v1/auth/me', { token: confused });
      expect(r.status).toBe(401);
      expect(r.json.code).toBe('token_alg_not_allowed');
    } finally {
      await t.close();
    }
  });
});

describe('refresh tokens', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi();
    await seed(t, { days: 1 });
  });
  afterAll(() => t.close());

  it('rotates, detects reuse (revoking the family), and logs out', async () => {
    const first = t.deps.refresh.issue(IDS.admin);
    const r1 = await call(t, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: first } });
    expect(r1.status).toBe(200);
    expect(r1.headers.get('cache-control')).toBe('no-store');
    const second: string = r1.json.refreshToken;
    expect(second).not.toBe(first);
    expect((await call(t, 'GET', '/api/v1/auth/me', { token: r1.json.accessToken })).status).toBe(200);
    // Only hashes are stored.
    const stored = t.storage.sqlite.prepare('SELECT token_hash FROM refresh_tokens').all() as {
      token_hash: string;
    }[];
    expect(stored.some((row) => row.token_hash === first || row.token_hash === second)).toBe(false);

    const reuse = await call(t, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: first } });
    expect(reuse.status).toBe(401);
    expect(reuse.json.code).toBe('refresh_token_reused');
    const afterTheft = await call(t, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: second } });
    expect(afterTheft.status).toBe(401);

    const other = t.deps.refresh.issue(IDS.viewer);
    const viaCookie = await call(t, 'POST', '/api/v1/auth/refresh', {
      headers: { cookie: `gh_refresh=${other}` },
    });
    expect(viaCookie.status).toBe(200);
    expect(viaCookie.headers.get('set-cookie')).toMatch(/gh_refresh=ghr_.*httponly/i);
    const out = await call(t, 'POST', '/api/v1/auth/logout', {
      body: { refreshToken: viaCookie.json.refreshToken },
    });
    expect(out.status).toBe(204);
    const dead = await call(t, 'POST', '/api/v1/auth/refresh', {
      body: { refreshToken: viaCookie.json.refreshToken },
    });
    expect(dead.status).toBe(401);
    expect(
      (await call(t, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: 'ghr_nope' } })).json.code,
    ).toBe('refresh_token_invalid');
  });

  it('logout-all revokes every session of the user', async () => {
    const a = t.deps.refresh.issue(IDS.owner);
    const b = t.deps.refresh.issue(IDS.owner);
    const r = await call(t, 'POST', '/api/v1/auth/logout-all', { token: await t.token(IDS.owner) });
    expect(r.json.revoked).toBe(2);
    expect((await call(t, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: a } })).status).toBe(401);
    expect((await call(t, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: b } })).status).toBe(401);
  });
});

describe('API keys', () => {
  let t: TestApi;
  let adminToken: string;
  beforeAll(async () => {
    t = await startTestApi();
    await seed(t, { days: 1 });
    adminToken = await t.token(IDS.admin);
  });
  afterAll(() => t.close());

  const create = (body: unknown) => call(t, 'POST', '/api/v1/api-keys', { token: adminToken, body });

  it('creates a key shown once, stores only its hash, authenticates it, caps it by scope and guild', async () => {
    const made = await create({ name: 'grafana', guildId: IDS.guildA, scopes: ['read'] });
    expect(made.status).toBe(201);
    const key: string = made.json.key;
    expect(key).toMatch(/^gh_[0-9a-f]{8}_[0-9a-f]{48}$/);
    expect(key.split('_')[1]).toBe(made.json.prefix);
    const rows = t.storage.sqlite.prepare('SELECT * FROM api_keys').all();
    expect(JSON.stringify(rows)).not.toContain(key);

    const read = await call(t, 'GET', `/api/v1/guilds/${IDS.guildA}/settings`, {
      headers: { 'x-api-key': key },
    });
    expect(read.status).toBe(200);
    const bearer = await call(t, 'GET', `/api/v1/guilds/${IDS.guildA}`, { token: key });
    expect(bearer.status).toBe(200);
    const write = await call(t, 'PATCH', `/api/v1/guilds/${IDS.guildA}/settings`, {
      token: key,
      body: { locale: 'fr-FR' },
    });
    expect(write.status).toBe(403);
    expect(write.json.code).toBe('insufficient_role');
    const keyMgmt = await call(t, 'GET', '/api/v1/api-keys', { token: key });
    expect(keyMgmt.status).toBe(403);
    expect(keyMgmt.json.code).toBe('user_token_required');
    const internal = await call(t, 'GET', '/internal/v1/ops', { token: key });
    expect(internal.status).toBe(401);
    const used = t.storage.sqlite
      .prepare('SELECT last_used_at FROM api_keys WHERE id = ?')
      .get(made.json.id) as {
      last_used_at: number | null;
    };
    expect(used.last_used_at).not.toBeNull();

    const listed = await call(t, 'GET', '/api/v1/api-keys', { token: adminToken });
    expect(listed.json.items.map((k: { id: string }) => k.id)).toContain(made.json.id);
    expect(listed.text).not.toContain(key);

    const revoke = await call(t, 'DELETE', `/api/v1/api-keys/${made.json.id}`, { token: adminToken });
    expect(revoke.status).toBe(204);
    const after = await call(t, 'GET', `/api/v1/guilds/${IDS.guildA}`, { token: key });
    expect(after.status).toBe(401);
    expect(after.json.code).toBe('api_key_revoked');
    expect((await call(t, 'GET', '/api/v1/guilds', { token: `${key.slice(0, -4)}0000` })).json.code).toBe(
      'api_key_invalid',
    );
  });

  it('a write key acts as admin at most, and never above its creator (revoking the creator revokes the key)', async () => {
    const made = await create({ name: 'bot-sync', scopes: ['read', 'write'] });
    const key: string = made.json.key;
    const write = await call(t, 'PATCH', `/api/v1/guilds/${IDS.guildA}/settings`, {
      token: key,
      body: { timezone: 'Europe/Berlin' },
    });
    expect(write.status).toBe(200);
    const otherGuild = await call(t, 'GET', `/api/v1/guilds/${IDS.guildB}`, { token: key });
    expect(otherGuild.status).toBe(404);
    // The creator's Discord-derived admin role goes away at their next login → the key loses access at once.
    await t.deps.ops.call(
      'auth.syncLogin',
      { user: { id: IDS.admin, username: 'admin', globalName: null, avatar: null }, guilds: [] },
      { kind: 'write' },
    );
    expect((await call(t, 'GET', `/api/v1/guilds/${IDS.guildA}`, { token: key })).status).toBe(404);
  });

  it('refuses keys bound to a guild the creator cannot see, and other users’ keys are invisible', async () => {
    const owner = await t.token(IDS.owner);
    const bad = await call(t, 'POST', '/api/v1/api-keys', {
      token: owner,
      body: { name: 'x', guildId: IDS.guildB, scopes: ['read'] },
    });
    expect(bad.status).toBe(404);
    const mine = await call(t, 'POST', '/api/v1/api-keys', {
      token: owner,
      body: { name: 'mine', scopes: ['read'] },
    });
    const theirs = await call(t, 'GET', `/api/v1/api-keys/${mine.json.id}`, {
      token: await t.token(IDS.viewer),
    });
    expect(theirs.status).toBe(404);
    const superadmin = await call(t, 'GET', `/api/v1/api-keys/${mine.json.id}`, {
      token: await t.token(IDS.superadmin),
    });
    expect(superadmin.status).toBe(200);
  });
});

describe('CLI-issued scoped tokens', () => {
  it('grant exactly one role in one guild', async () => {
    const t = await startTestApi();
    try {
      await seed(t, { days: 1 });
      const lines: string[] = [];
      const token = await issueTokenCommand(
        { config: t.config },
        { guild: IDS.guildA, role: 'moderator', ttl: '10m' },
        (l) => lines.push(l),
      );
      expect(lines).toEqual([token]);
      expect((await call(t, 'GET', `/api/v1/guilds/${IDS.guildA}/audit-log`, { token })).status).toBe(200);
      expect(
        (
          await call(t, 'PATCH', `/api/v1/guilds/${IDS.guildA}/settings`, {
            token,
            body: { locale: 'it-IT' },
          })
        ).status,
      ).toBe(403);
      expect((await call(t, 'GET', `/api/v1/guilds/${IDS.guildB}`, { token })).status).toBe(404);
      const mine = await call(t, 'GET', '/api/v1/guilds', { token });
      expect(mine.json.items.map((g: { id: string; role: string }) => [g.id, g.role])).toEqual([
        [IDS.guildA, 'moderator'],
      ]);
      // superadmin id as subject does not make a scoped token a superadmin
      expect((await call(t, 'GET', '/api/v1/cluster/plan', { token })).status).toBe(403);
      await expect(
        issueTokenCommand({ config: t.config }, { guild: 'x', role: 'admin' }, () => {}),
      ).rejects.toThrow(/snowflake/);
      await expect(
        issueTokenCommand({ config: t.config }, { guild: IDS.guildA, role: 'admin', ttl: '90d' }, () => {}),
      ).rejects.toThrow(/ttl/);
    } finally {
      await t.close();
    }
  });
});

describe('Discord OAuth2 login against the simulator', () => {
  let t: TestApi;
  let sim: SimulatorHandle;
  let user: string;
  let owned: string;
  let managed: string;
  let member: string;
  let unknownToApi: string;
  const foreign = '1100000000000000077';
  beforeAll(async () => {
    sim = await createSimulator({ guilds: 4, membersPerGuild: 6, seed: 7 });
    const w = sim.world;
    const [g0, g1, g2, g3] = w.guildIds() as [string, string, string, string];
    // One user: owner of g0, holds MANAGE_GUILD through a role in g1, a plain member of g2 and g3.
    user = w.guild(g0)!.ownerId;
    owned = g0;
    managed = g1;
    member = g2;
    unknownToApi = g3;
    const role = w.createRole(g1, { name: 'managers', permissions: String(0x20) });
    w.addMember(g1, user).roles.push(role.id);
    for (const g of [g2, g3]) {
      const m = w.addMember(g, user);
      m.roles = [];
    }
    oauthFor(w).foreignGuilds.set(user, [
      { id: foreign, name: 'Foreign', icon: null, owner: true, permissions: '8', features: [] } as never,
    ]);
    t = await startTestApi({
      DISCORD_API_URL: sim.restUrl,
      DISCORD_APPLICATION_ID: sim.applicationId,
      DISCORD_CLIENT_SECRET: w.app.clientSecret,
    });
    // The shards report the guilds the bot is in (all but g3 here, as if its GUILD_CREATE had not come yet).
    for (const g of [g0, g1, g2])
      await t.deps.ops.call('guilds.upsert', { id: g, name: w.guild(g)!.name }, { kind: 'write' });
    await scenario(sim, '/oauth/redirect-uris', { uris: [`${t.url}/api/v1/auth/callback`] });
    await scenario(sim, '/oauth/user', { userId: user });
  });
  afterAll(async () => {
    await t.close();
    await sim.close();
  });

  async function login(returnTo?: string) {
    const r = await call(
      t,
      'GET',
      `/api/v1/auth/login${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`,
    );
    expect(r.status).toBe(302);
    const location = new URL(r.headers.get('location')!);
    const cookie = r.headers.get('set-cookie')!.split(';')[0]!;
    return { location, cookie, state: location.searchParams.get('state')! };
  }

  /** Follows the simulator's authorize page (auto-approved as the scenario user) back to our callback. */
  async function authorize(location: URL): Promise<URL> {
    const res = await fetch(location, { redirect: 'manual' });
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location')!);
  }

  it('redirects to the simulator’s authorize page (derived from DISCORD_API_URL) with a state bound to a cookie', async () => {
    const { location, cookie } = await login();
    expect(`${location.origin}${location.pathname}`).toBe(`${sim.url}/oauth2/authorize`);
    expect(location.searchParams.get('client_id')).toBe(sim.applicationId);
    expect(location.searchParams.get('response_type')).toBe('code');
    expect(location.searchParams.get('scope')).toBe('identify guilds');
    expect(location.searchParams.get('redirect_uri')).toBe(`${t.url}/api/v1/auth/callback`);
    expect(cookie).toMatch(/^gh_oauth_state=/);
  });

  it('exchanges the code, maps guild permissions to roles, and issues working tokens', async () => {
    const { location, cookie } = await login();
    const back = await authorize(location);
    expect(back.searchParams.get('state')).toBe(location.searchParams.get('state'));
    const r = await call(t, 'GET', back.pathname + back.search, { headers: { cookie } });
    expect(r.status).toBe(200);
    expect(r.json.userId).toBe(user);
    const me = await call(t, 'GET', '/api/v1/auth/me', { token: r.json.accessToken });
    expect(me.json.user).toMatchObject({ id: user, username: sim.world.user(user)!.username });
    const roles = Object.fromEntries(me.json.guilds.map((g: { id: string; role: string }) => [g.id, g.role]));
    // owner flag → owner; MANAGE_GUILD → admin; plain member → viewer; a guild the bot is not in → nothing.
    expect(roles).toEqual({ [owned]: 'owner', [managed]: 'admin', [member]: 'viewer' });
    const cached = t.storage.sqlite
      .prepare('SELECT guild_id, role FROM discord_guild_roles WHERE user_id = ? ORDER BY guild_id')
      .all(user) as { guild_id: string; role: string }[];
    // Owner/admin roles are remembered even where the bot is not (yet), so they apply once it joins.
    expect(cached).toEqual(
      expect.arrayContaining([
        { guild_id: owned, role: 'owner' },
        { guild_id: managed, role: 'admin' },
        { guild_id: member, role: 'viewer' },
        { guild_id: foreign, role: 'owner' },
      ]),
    );
    expect(cached.find((c) => c.guild_id === unknownToApi)).toBeUndefined();
    const refreshed = await call(t, 'POST', '/api/v1/auth/refresh', {
      body: { refreshToken: r.json.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    expect(r.text).not.toContain(sim.world.app.clientSecret);
    expect(t.logs.text).not.toContain(sim.world.app.clientSecret);
    expect(discordTokens(sim).length).toBeGreaterThan(0);
    for (const token of discordTokens(sim)) {
      expect(r.text).not.toContain(token);
      expect(t.logs.text).not.toContain(token);
    }
  });

  it('redirects to returnTo with the refresh cookie when the login asked for it', async () => {
    const { location, cookie } = await login('/admin/dashboard');
    const back = await authorize(location);
    const r = await call(t, 'GET', back.pathname + back.search, { headers: { cookie } });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe('/admin/dashboard');
    expect(r.headers.get('set-cookie')).toMatch(/gh_refresh=ghr_/);
    const open = await call(
      t,
      'GET',
      `/api/v1/auth/login?returnTo=${encodeURIComponent('//evil.example.com')}`,
    );
    expect(open.status).toBe(400);
  });

  it('refuses a missing/foreign state cookie, a tampered state, a replayed code and a denied consent', async () => {
    const { location, cookie, state } = await login();
    const back = await authorize(location);
    const code = back.searchParams.get('code')!;
    const noCookie = await call(t, 'GET', `/api/v1/auth/callback?code=${code}&state=${state}`);
    expect(noCookie.json.code).toBe('oauth_state_mismatch');
    const other = await login();
    const wrongCookie = await call(t, 'GET', `/api/v1/auth/callback?code=${code}&state=${state}`, {
      headers: { cookie: other.cookie },
    });
    expect(wrongCookie.json.code).toBe('oauth_state_mismatch');
    const tampered = await call(
      t,
      'GET',
      `/api/v1/auth/callback?code=${code}&state=${state.slice(0, -3)}abc`,
      { headers: { cookie } },
    );
    expect(tampered.json.code).toBe('oauth_state_invalid');
    const ok = await call(t, 'GET', `/api/v1/auth/callback?code=${code}&state=${state}`, {
      headers: { cookie },
    });
    expect(ok.status).toBe(200);
    const replay = await call(t, 'GET', `/api/v1/auth/callback?code=${code}&state=${state}`, {
      headers: { cookie },
    });
    expect(replay.status).toBe(400);
    expect(replay.json.code).toBe('oauth_code_invalid');
    const denied = await call(t, 'GET', '/api/v1/auth/callback?error=access_denied&state=x');
    expect(denied.json.code).toBe('oauth_denied');
  });
});
