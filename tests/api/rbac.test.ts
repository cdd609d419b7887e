import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS, type TestApi, call, seed, startTestApi } from './harness.js';

describe('RBAC', () => {
  let t: TestApi;
  const tok: Record<string, string> = {};
  beforeAll(async () => {
    t = await startTestApi();
    await seed(t, { days: 2 });
    for (const [name, id] of Object.entries(IDS)) tok[name] = await t.token(id);
  });
  afterAll(() => t.close());

  const A = `/api/v1/guilds/${IDS.guildA}`;

  it('viewer reads, moderator reads moderator routes, admin writes; each refusal has the right status', async () => {
    expect((await call(t, 'GET', `${A}/analytics/overview`, { token: tok.viewer })).status).toBe(200);
    const viewerAudit = await call(t, 'GET', `${A}/audit-log`, { token: tok.viewer });
    expect(viewerAudit.status).toBe(403);
    expect(viewerAudit.json).toMatchObject({
      code: 'insufficient_role',
      details: { required: 'moderator', have: 'viewer' },
    });
    expect((await call(t, 'GET', `${A}/audit-log`, { token: tok.moderator })).status).toBe(200);
    const modPatch = await call(t, 'PATCH', `${A}/settings`, {
      token: tok.moderator,
      body: { locale: 'fr-FR' },
    });
    expect(modPatch.status).toBe(403);
    expect(modPatch.json.code).toBe('insufficient_role');
    expect((await call(t, 'POST', `${A}/cogs/leveling/disable`, { token: tok.moderator })).status).toBe(403);
    expect(
      (await call(t, 'PATCH', `${A}/settings`, { token: tok.admin, body: { locale: 'fr-FR' } })).status,
    ).toBe(200);
  });

  it('a user of guild A asking for guild B gets 404, exactly like a guild that does not exist', async () => {
    const b = await call(t, 'GET', `/api/v1/guilds/${IDS.guildB}`, { token: tok.admin });
    const none = await call(t, 'GET', '/api/v1/guilds/1100000000000000999', { token: tok.admin });
    expect(b.status).toBe(404);
    expect(none.status).toBe(404);
    expect(b.json.code).toBe(none.json.code);
    expect(b.json.title).toBe(none.json.title);
    // …for every guild route, including writes and exports.
    for (const [m, p] of [
      ['GET', '/settings'],
      ['PATCH', '/settings'],
      ['GET', '/cogs'],
      ['PUT', '/cogs/leveling/config'],
      ['GET', '/analytics/overview'],
      ['GET', '/export/events'],
      ['DELETE', `/members/${IDS.viewer}/data`],
      ['GET', '/live'],
    ] as const) {
      const r = await call(t, m, `/api/v1/guilds/${IDS.guildB}${p}`, {
        token: tok.owner,
        body: m === 'GET' || m === 'DELETE' ? undefined : {},
      });
      expect([m, p, r.status]).toEqual([m, p, 404]);
    }
    // The bot left guildGone: even its former admin sees 404.
    expect((await call(t, 'GET', `/api/v1/guilds/${IDS.guildGone}`, { token: tok.admin })).status).toBe(404);
  });

  it('superadmins are owners of every guild and the only ones on platform routes', async () => {
    expect(
      (await call(t, 'GET', `/api/v1/guilds/${IDS.guildB}/roles`, { token: tok.superadmin })).status,
    ).toBe(200);
    const list = await call(t, 'GET', '/api/v1/guilds', { token: tok.superadmin });
    expect(list.json.items.map((g: { id: string }) => g.id)).toEqual([IDS.guildA, IDS.guildB]);
    for (const path of [
      '/api/v1/cluster/plan',
      '/api/v1/cluster/shards',
      '/api/v1/cluster/pods',
      '/api/v1/users',
      '/api/v1/audit-log',
    ]) {
      expect((await call(t, 'GET', path, { token: tok.owner })).status).toBe(403);
      expect((await call(t, 'GET', path, { token: tok.superadmin })).status).toBe(200);
    }
    const pods = await call(t, 'GET', '/api/v1/cluster/pods', { token: tok.superadmin });
    expect(pods.json.source).toBe('single-process (stub)');
    expect((await call(t, 'GET', '/internal/v1/ops', { token: tok.superadmin })).status).toBe(401);
  });

  it('grants: admins grant below admin only; owners grant anything; revocation takes effect on the next request', async () => {
    const target = '1200000000000000077';
    const up = await call(t, 'PUT', `${A}/roles/${target}`, { token: tok.admin, body: { role: 'admin' } });
    expect(up.status).toBe(403);
    expect(up.json.code).toBe('cannot_grant_role');
    const mod = await call(t, 'PUT', `${A}/roles/${target}`, {
      token: tok.admin,
      body: { role: 'moderator' },
    });
    expect(mod.status).toBe(200);
    expect(mod.json).toMatchObject({
      guildId: IDS.guildA,
      userId: target,
      role: 'moderator',
      grantedBy: IDS.admin,
    });
    const targetToken = await t.token(target);
    expect((await call(t, 'GET', `${A}/audit-log`, { token: targetToken })).status).toBe(200);
    const promote = await call(t, 'PUT', `${A}/roles/${target}`, {
      token: tok.owner,
      body: { role: 'admin' },
    });
    expect(promote.status).toBe(200);
    // The admin cannot now demote or remove an equal.
    expect((await call(t, 'DELETE', `${A}/roles/${target}`, { token: tok.admin })).status).toBe(403);
    expect((await call(t, 'DELETE', `${A}/roles/${target}`, { token: tok.owner })).status).toBe(204);
    expect((await call(t, 'GET', `${A}/audit-log`, { token: targetToken })).status).toBe(404);
    expect((await call(t, 'DELETE', `${A}/roles/${target}`, { token: tok.owner })).json.code).toBe(
      'grant_not_found',
    );
    const listed = await call(t, 'GET', `${A}/roles`, { token: tok.admin });
    const mod2 = listed.json.items.find((m: { userId: string }) => m.userId === IDS.moderator);
    expect(mod2).toMatchObject({ role: 'moderator', discord: 'viewer', grant: 'moderator' });
    const one = await call(t, 'GET', `${A}/roles/${IDS.owner}`, { token: tok.admin });
    expect(one.json).toMatchObject({ role: 'owner', discord: 'owner', grant: null });
    expect((await call(t, 'GET', `${A}/roles/${target}`, { token: tok.admin })).status).toBe(404);
  });

  it('services cannot use the admin API; users only read themselves unless superadmin', async () => {
    const svc = await t.serviceToken();
    expect((await call(t, 'GET', '/api/v1/guilds', { token: svc })).status).toBe(401);
    expect((await call(t, 'GET', `/api/v1/users/${IDS.admin}`, { token: tok.admin })).status).toBe(200);
    expect((await call(t, 'GET', `/api/v1/users/${IDS.owner}`, { token: tok.admin })).status).toBe(404);
    expect((await call(t, 'GET', `/api/v1/users/${IDS.owner}`, { token: tok.superadmin })).status).toBe(200);
    const roles = await call(t, 'GET', `/api/v1/users/${IDS.moderator}/roles`, { token: tok.superadmin });
    expect(roles.json.items).toEqual([
      { guildId: IDS.guildA, role: 'moderator', discord: 'viewer', grant: 'moderator' },
    ]);
  });
});
