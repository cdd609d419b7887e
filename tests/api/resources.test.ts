import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventId } from '../../src/storage/index.js';
import { IDS, type TestApi, call, seed, startTestApi } from './harness.js';

const DAY = 86_400_000;

describe('resources', () => {
  let t: TestApi;
  let admin: string;
  let viewer: string;
  const A = `/api/v1/guilds/${IDS.guildA}`;
  beforeAll(async () => {
    t = await startTestApi();
    await seed(t, { days: 10, perDay: 20 });
    admin = await t.token(IDS.admin);
    viewer = await t.token(IDS.viewer);
  });
  afterAll(() => t.close());

  it('guilds: list mine with roles, get one, settings with defaults, partial patch, audit with request id', async () => {
    const list = await call(t, 'GET', '/api/v1/guilds', { token: viewer });
    expect(list.json).toMatchObject({
      items: [{ id: IDS.guildA, name: 'Guild A', role: 'viewer', memberCount: 42 }],
      nextCursor: null,
    });
    const g = await call(t, 'GET', A, { token: viewer });
    expect(g.json.joinedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const s = await call(t, 'GET', `${A}/settings`, { token: viewer });
    expect(s.json).toEqual({
      locale: 'en-US',
      timezone: 'UTC',
      modLogChannelId: null,
      announcementsChannelId: null,
      pushNotifications: false,
      analyticsEnabled: true,
      commandPrefix: '!',
    });
    const p = await call(t, 'PATCH', `${A}/settings`, {
      token: admin,
      body: { timezone: 'Europe/Berlin', modLogChannelId: IDS.channel1 },
    });
    expect(p.status).toBe(200);
    expect(p.json).toMatchObject({
      timezone: 'Europe/Berlin',
      modLogChannelId: IDS.channel1,
      locale: 'en-US',
    });
    const bad = await call(t, 'PATCH', `${A}/settings`, { token: admin, body: { timezone: 'Mars/Olympus' } });
    expect(bad.status).toBe(400);
    expect(bad.json.details[0].path).toBe('body.timezone');
    const audit = await call(t, 'GET', `${A}/audit-log?action=settings.update`, { token: admin });
    expect(audit.json.items[0]).toMatchObject({
      action: 'settings.update',
      actorType: 'user',
      actorId: IDS.admin,
      requestId: p.headers.get('x-request-id'),
      details: {
        changed: ['timezone', 'modLogChannelId'],
        before: { timezone: 'UTC' },
        after: { timezone: 'Europe/Berlin' },
      },
    });
  });

  it('cogs: catalog with JSON Schemas, per-guild state, enable/disable, config validated by the cog schema', async () => {
    const catalog = await call(t, 'GET', '/api/v1/cogs', { token: viewer });
    expect(catalog.json.items.map((c: { name: string }) => c.name)).toEqual(['leveling', 'tickets']);
    expect(catalog.json.items[0].configSchema.properties.xpPerMessage).toMatchObject({
      type: 'integer',
      maximum: 100,
    });
    const list = await call(t, 'GET', `${A}/cogs`, { token: viewer });
    expect(list.json.items.map((c: { name: string; enabled: boolean }) => [c.name, c.enabled])).toEqual([
      ['leveling', true],
      ['tickets', false],
    ]);
    const on = await call(t, 'POST', `${A}/cogs/tickets/enable`, { token: admin });
    expect(on.json).toMatchObject({ name: 'tickets', enabled: true, configured: false });
    expect((await call(t, 'GET', `${A}/cogs/tickets`, { token: viewer })).json.enabled).toBe(true);
    expect((await call(t, 'POST', `${A}/cogs/tickets/disable`, { token: admin })).json.enabled).toBe(false);
    expect((await call(t, 'POST', `${A}/cogs/nonexistent/enable`, { token: admin })).status).toBe(404);

    const tooMuch = await call(t, 'PUT', `${A}/cogs/leveling/config`, {
      token: admin,
      body: { xpPerMessage: 1000 },
    });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.json.details).toEqual([expect.objectContaining({ path: 'body.xpPerMessage' })]);
    const unknown = await call(t, 'PUT', `${A}/cogs/leveling/config`, {
      token: admin,
      body: { xpPerMessage: 5, hax: 1 },
    });
    expect(unknown.status).toBe(400);
    const ok = await call(t, 'PUT', `${A}/cogs/leveling/config`, {
      token: admin,
      body: { xpPerMessage: 25 },
    });
    expect(ok.json).toEqual({
      cog: 'leveling',
      config: { xpPerMessage: 25, announceChannelId: null, noXpRoles: [] },
      configured: true,
    });
    const got = await call(t, 'GET', `${A}/cogs/leveling/config`, { token: await t.token(IDS.moderator) });
    expect(got.json.config.xpPerMessage).toBe(25);
    const actions = (await call(t, 'GET', `${A}/audit-log?limit=200`, { token: admin })).json.items.map(
      (e: { action: string }) => e.action,
    );
    expect(actions).toEqual(expect.arrayContaining(['cog.enable', 'cog.disable', 'cog.configure']));
  });

  it('stores and returns SQL-looking and odd strings verbatim', async () => {
    const evil = `'; DROP TABLE guilds; -- "quoted" \\ backslash %_ ünïcødé 🎉`;
    const r = await call(t, 'PUT', `${A}/cogs/tickets/config`, {
      token: admin,
      body: { categoryName: evil.slice(0, 100) },
    });
    expect(r.status).toBe(200);
    expect(
      (await call(t, 'GET', `${A}/cogs/tickets/config`, { token: admin })).json.config.categoryName,
    ).toBe(evil.slice(0, 100));
    const key = await call(t, 'POST', '/api/v1/api-keys', {
      token: admin,
      body: { name: `x' OR '1'='1`, scopes: ['read'] },
    });
    expect(key.json.name).toBe(`x' OR '1'='1`);
    expect((await call(t, 'GET', A, { token: viewer })).status).toBe(200); // guilds table intact
    const sa = await t.token(IDS.superadmin);
    const search = await call(t, 'GET', `/api/v1/users?search=${encodeURIComponent('%')}`, { token: sa });
    expect(search.json.items).toEqual([]);
    const prefix = await call(t, 'GET', '/api/v1/users?search=adm', { token: sa });
    expect(prefix.json.items.map((u: { id: string }) => u.id)).toEqual([IDS.admin]);
  });

  it('audit log pages with opaque cursors, newest first, without overlap', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: Awaited<ReturnType<typeof call>> = await call(
        t,
        'GET',
        `${A}/audit-log?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: admin },
      );
      expect(r.status).toBe(200);
      seen.push(...r.json.items.map((e: { id: number }) => e.id));
      cursor = r.json.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    expect(seen.length).toBeGreaterThan(4);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('analytics match the seeded activity', async () => {
    const o = await call(t, 'GET', `${A}/analytics/overview`, { token: viewer });
    expect(o.json).toMatchObject({
      messages: 180,
      commands: 20,
      joins: 10,
      leaves: 5,
      netMembers: 5,
      voiceSessions: 10,
      activeUsers: 3,
      peakDailyActiveUsers: 3,
      topChannels: [
        { channelId: IDS.channel1, count: 100 },
        { channelId: IDS.channel2, count: 80 },
      ],
    });
    expect(o.json.byKind.message).toBe(180);
    const m = await call(t, 'GET', `${A}/analytics/messages?bucket=day`, { token: viewer });
    expect(m.json.points.reduce((s: number, p: { count: number }) => s + p.count, 0)).toBe(180);
    expect(m.json.points.length).toBeGreaterThanOrEqual(30);
    const h = await call(
      t,
      'GET',
      `${A}/analytics/messages?bucket=hour&from=${new Date(Date.now() - 2 * DAY).toISOString()}&channelId=${IDS.channel1}`,
      {
        token: viewer,
      },
    );
    expect(h.json.points.length).toBeGreaterThanOrEqual(48);
    expect(h.json.points.every((p: { t: string }) => p.t.endsWith(':00:00.000Z'))).toBe(true);
    const members = await call(t, 'GET', `${A}/analytics/members`, { token: viewer });
    expect(members.json).toMatchObject({ joins: 10, leaves: 5 });
    const voice = await call(t, 'GET', `${A}/analytics/voice`, { token: viewer });
    expect(voice.json.points.reduce((s: number, p: { joins: number }) => s + p.joins, 0)).toBe(10);
    const series = await call(t, 'GET', `${A}/analytics/series?kind=command`, { token: viewer });
    expect(series.json.points.reduce((s: number, p: { count: number }) => s + p.count, 0)).toBe(20);
    const top = await call(t, 'GET', `${A}/analytics/channels/top?limit=1`, { token: viewer });
    expect(top.json.items).toEqual([{ channelId: IDS.channel1, count: 100 }]);
    const tm = await call(t, 'GET', `${A}/analytics/members/top`, { token: viewer });
    expect(tm.json.items).toHaveLength(3);
    expect(tm.json.items[0]).toMatchObject({ messages: 60, activeDays: 10 });
    const au = await call(t, 'GET', `${A}/analytics/active-users`, { token: viewer });
    expect(au.json.distinctUsers).toBe(3);
    expect(Math.max(...au.json.points.map((p: { users: number }) => p.users))).toBe(3);
    const cmd = await call(t, 'GET', `${A}/analytics/commands`, { token: viewer });
    expect(cmd.json).toMatchObject({
      total: 20,
      commands: [
        { name: 'help', count: 10 },
        { name: 'rank', count: 10 },
      ],
    });
  });

  it('retention cohorts: joined → first message → active after 7 / 30 days', async () => {
    const C = '1100000000000000010';
    await t.deps.ops.call('guilds.upsert', { id: C, name: 'Cohorts' }, { kind: 'write' });
    await t.deps.ops.call(
      'roles.grant',
      { guildId: C, userId: IDS.viewer, role: 'viewer' },
      { kind: 'write' },
    );
    const now = Date.now();
    const dayStart = now - (now % DAY);
    const from = dayStart - 42 * DAY;
    const ev = (ts: number, user: string, kind: string, key: string) => ({
      id: eventId(ts, key),
      ts,
      guildId: C,
      userId: user,
      channelId: IDS.channel1,
      kind,
    });
    const stays = '1600000000000000001';
    const lurker = '1600000000000000002';
    const leaves = '1600000000000000003';
    const fresh = '1600000000000000004';
    t.storage.events.ingest([
      ev(from + 1 * DAY + 3600_000, stays, 'member_join', 'j1'),
      ev(from + 2 * DAY, stays, 'message', 'm1'),
      ev(from + 40 * DAY, stays, 'message', 'm2'),
      ev(from + 1 * DAY + 7200_000, lurker, 'member_join', 'j2'),
      ev(from + 8 * DAY, leaves, 'member_join', 'j3'),
      ev(from + 8 * DAY + 60_000, leaves, 'message', 'm3'),
      ev(now - 2 * DAY, fresh, 'member_join', 'j4'),
    ]);
    const r = await call(
      t,
      'GET',
      `/api/v1/guilds/${C}/analytics/retention?from=${new Date(from).toISOString()}&cohort=week`,
      {
        token: viewer,
      },
    );
    expect(r.status).toBe(200);
    const [w1, w2] = r.json.cohorts;
    expect(w1).toMatchObject({
      joined: 2,
      sentFirstMessage: 1,
      eligible7d: 2,
      activeAfter7d: 1,
      eligible30d: 2,
      activeAfter30d: 1,
    });
    expect(w2).toMatchObject({ joined: 1, sentFirstMessage: 1, eligible7d: 1, activeAfter7d: 0 });
    const total = r.json.cohorts.reduce((s: number, c: { joined: number }) => s + c.joined, 0);
    expect(total).toBe(4);
    const last = r.json.cohorts.find(
      (c: { joined: number; eligible7d: number }) => c.joined === 1 && c.eligible7d === 0,
    );
    expect(last).toBeDefined(); // the member who joined 2 days ago is not measurable yet
  });

  it('exports stream NDJSON and CSV, audited; privacy export and delete cover one member', async () => {
    const nd = await fetch(`${t.url}${A}/export/events`, { headers: { authorization: `Bearer ${admin}` } });
    expect(nd.headers.get('content-type')).toBe('application/x-ndjson');
    expect(nd.headers.get('content-disposition')).toContain('attachment');
    const lines = (await nd.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ts: string; guildId: string; kind: string });
    expect(lines).toHaveLength(10 * 20 + 10 + 5 + 10);
    expect(lines.every((l) => l.guildId === IDS.guildA)).toBe(true);
    expect([...lines].map((l) => l.ts).sort()).toEqual(lines.map((l) => l.ts));
    const csv = await (
      await fetch(`${t.url}${A}/export/events?format=csv`, { headers: { authorization: `Bearer ${admin}` } })
    ).text();
    const rows = csv.trim().split('\r\n');
    expect(rows[0]).toBe('id,ts,guild_id,channel_id,user_id,kind,attrs');
    expect(rows).toHaveLength(lines.length + 1);
    expect(rows.find((r) => r.includes(',command,'))).toMatch(/"\{""name"":""(help|rank)""\}"$/);
    expect((await call(t, 'GET', `${A}/export/events`, { token: viewer })).status).toBe(403);

    const mine = await (
      await fetch(`${t.url}${A}/members/${IDS.viewer}/export`, {
        headers: { authorization: `Bearer ${admin}` },
      })
    ).text();
    const myLines = mine
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { userId: string });
    expect(myLines.length).toBe(70 + 10); // 7 messages/commands a day + a voice join a day
    expect(myLines.every((l) => l.userId === IDS.viewer)).toBe(true);

    const del = await call(t, 'DELETE', `${A}/members/${IDS.viewer}/data`, { token: admin });
    expect(del.json).toEqual({ eventsDeleted: 80, activeDaysDeleted: 10 });
    expect(
      (
        await (
          await fetch(`${t.url}${A}/members/${IDS.viewer}/export`, {
            headers: { authorization: `Bearer ${admin}` },
          })
        ).text()
      ).trim(),
    ).toBe('');
    const tm = await call(t, 'GET', `${A}/analytics/members/top`, { token: admin });
    expect(tm.json.items.map((i: { userId: string }) => i.userId)).not.toContain(IDS.viewer);
    const audit = (await call(t, 'GET', `${A}/audit-log?limit=200`, { token: admin })).json.items.map(
      (e: { action: string }) => e.action,
    );
    expect(audit).toEqual(expect.arrayContaining(['export.events', 'privacy.export', 'privacy.delete']));
  });
});
