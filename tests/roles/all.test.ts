// `guildhall all` (what `npm start` runs) as a user runs it: one child process with the built-in Discord
// simulator, the api role, a shard pod and in-memory coordination. A message posted in the simulator must
// travel gateway → shard → event log → writer → SQLite; the admin login must go through the simulator's
// OAuth2 (authorize as its test user → callback → tokens) and grant the guilds that user owns there; the
// in-process controller must reshard when the bot outgrows its shard.
import type { ChildProcess } from 'node:child_process';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { waitForValue, waitUntil } from '../helpers/wait.js';

let child: ChildProcess;
const JWT_SECRET = 'roles-all-test-secret-0123456789-abcdef';
let banner = '';
const dir = tempDir();

beforeAll(async () => {
  child = spawnCli(['all'], {
    DATA_DIR: dir.path,
    API_PORT: '0',
    SIM_PORT: '0',
    SIM_GUILDS: '12',
    JWT_SECRET,
    LOG_LEVEL: 'warn',
  });
  child.stdout?.on('data', (d: Buffer) => (banner += d.toString()));
  await waitForLine(child, /Stop with Ctrl\+C/, 60_000);
});

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  dir.cleanup();
});

const urlOf = (label: string) => new RegExp(`${label}:\\s+(http://[^\\s/]+)`).exec(banner)?.[1] ?? '';

describe('guildhall all (npm start)', () => {
  it('answers on its health URL and becomes ready with every guild on its shard', async () => {
    const api = urlOf('health');
    expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${api}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${api}/readyz`)).status).toBe(200);
    const metrics = await waitForValue(
      'GUILD_CREATE metrics for every guild',
      async () => {
        const text = await (await fetch(`${api}/metrics`)).text();
        return /guildhall_gateway_events_total\{event="GUILD_CREATE",role="all"\} 12/.test(text)
          ? text
          : undefined;
      },
      20_000,
    );
    expect(metrics).toMatch(/guildhall_shards_held\{role="all"\} 1/);
  });

  it('records a message posted in the simulator in the SQLite month partition', async () => {
    const sim = urlOf('simulator');
    const { ids } = (await (await fetch(`${sim}/__sim/guilds`)).json()) as { ids: string[] };
    const guild = (await (await fetch(`${sim}/__sim/guilds/${ids[0]}`)).json()) as {
      channels: { id: string; type: number }[];
      members: { userId: string }[];
      ownerId: string;
    };
    const channel = guild.channels.find((c) => c.type === 0)!;
    const author = guild.members.find((m) => m.userId === guild.ownerId)!;
    const res = await fetch(`${sim}/__sim/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channelId: channel.id, userId: author.userId, content: 'hello guildhall' }),
    });
    expect(res.status).toBe(200);
    const { message } = (await res.json()) as { message: { id: string } };

    const row = await waitForValue(
      'the message row in SQLite',
      () => {
        const db = new BetterSqlite3(dir.file('guildhall.sqlite'), { readonly: true });
        try {
          const tables = db
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'events_%'")
            .all() as { name: string }[];
          for (const t of tables) {
            const r = db
              .prepare(`SELECT guild_id, channel_id, user_id, kind FROM ${t.name} WHERE kind = 'message'`)
              .get();
            if (r) return r;
          }
          return undefined;
        } finally {
          db.close();
        }
      },
      10_000,
    );
    expect(row).toEqual({
      guild_id: ids[0],
      channel_id: channel.id,
      user_id: author.userId,
      kind: 'message',
    });
    expect(message.id).toMatch(/^\d+$/);
  });

  it('signs in through the simulator: login → authorize → callback → tokens for the owner of the first guilds', async () => {
    const api = urlOf('health');
    const sim = urlOf('simulator');
    const loginUrl = /login:\s+(http:\/\/\S+)/.exec(banner)?.[1];
    expect(loginUrl).toBe(`${api}/api/v1/auth/login`);
    expect(banner).toContain('the simulator signs you in as sim_admin');

    // 1. The api redirects the browser to the simulator's authorize page, binding `state` to a cookie.
    const login = await fetch(loginUrl!, { redirect: 'manual' });
    expect(login.status).toBe(302);
    const authorize = new URL(login.headers.get('location')!);
    expect(authorize.origin).toBe(sim);
    expect(authorize.pathname).toBe('/oauth2/authorize');
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${api}/api/v1/auth/callback`);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    expect(cookie).toMatch(/^gh_oauth_state=./);

    // 2. The simulator auto-approves as its test user and sends the browser back with a code.
    const approved = await fetch(authorize, { redirect: 'manual' });
    expect(approved.status).toBe(302);
    const callback = new URL(approved.headers.get('location')!);
    expect(`${callback.origin}${callback.pathname}`).toBe(`${api}/api/v1/auth/callback`);
    expect(callback.searchParams.get('state')).toBe(authorize.searchParams.get('state'));
    const code = callback.searchParams.get('code')!;
    expect(code).toBeTruthy();

    // A tampered state is refused before the code is used (the code still works afterwards).
    const tampered = new URL(callback);
    const state = callback.searchParams.get('state')!;
    tampered.searchParams.set('state', `${state.slice(0, -4)}${state.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`);
    const refused = await fetch(tampered, { headers: { cookie }, redirect: 'manual' });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { code: string }).code).toBe('oauth_state_invalid');

    // A browser on this machine may use localhost instead: that callback is registered too.
    const viaLocalhost = await fetch(loginUrl!.replace('127.0.0.1', 'localhost'), { redirect: 'manual' });
    const localAuthorize = new URL(viaLocalhost.headers.get('location')!);
    const localApproved = await fetch(localAuthorize, { redirect: 'manual' });
    expect(localApproved.status).toBe(302);
    expect(localApproved.headers.get('location')).toMatch(
      /^http:\/\/localhost:\d+\/api\/v1\/auth\/callback\?code=/,
    );

    // 3. The callback exchanges the code with the simulator and answers with our tokens.
    const done = await fetch(callback, { headers: { cookie }, redirect: 'manual' });
    expect(done.status).toBe(200);
    const tokens = (await done.json()) as { tokenType: string; accessToken: string; userId: string };
    expect(tokens.tokenType).toBe('Bearer');
    const auth = { authorization: `Bearer ${tokens.accessToken}` };

    // The signed-in user is the simulator's test user, owner of the first three simulated guilds.
    const { ids } = (await (await fetch(`${sim}/__sim/guilds`)).json()) as { ids: string[] };
    const owned = ids.slice(0, 3);
    const guilds: { id: string; name: string; ownerId: string }[] = [];
    for (const id of ids) guilds.push((await (await fetch(`${sim}/__sim/guilds/${id}`)).json()) as never);
    expect(guilds.filter((g) => g.ownerId === tokens.userId).map((g) => g.id)).toEqual(owned);

    // The api lists only guilds the bot is in: the shard reports them from the gateway (GUILD_CREATE →
    // `guilds.sync`), with their names and owners.
    const ownerOf = owned.map((id) => ({ id, role: 'owner' }));
    let listed: { id: string; name: string; role: string }[] = [];
    await waitUntil(
      'the shard to report the guilds',
      async () => {
        const res = await fetch(`${api}/api/v1/guilds`, { headers: auth });
        listed = ((await res.json()) as { items: typeof listed }).items ?? [];
        return listed.length === owned.length;
      },
      15_000,
    );
    expect(listed.map((g) => g.name)).toEqual(owned.map((id) => guilds.find((g) => g.id === id)!.name));

    const me = (await (await fetch(`${api}/api/v1/auth/me`, { headers: auth })).json()) as {
      principal: { kind: string; id: string };
      user: { id: string; username: string } | null;
      superadmin: boolean;
      guilds: { id: string; role: string }[];
    };
    expect(me.principal).toEqual({ kind: 'user', id: tokens.userId });
    expect(me.user).toMatchObject({ id: tokens.userId, username: 'sim_admin' });
    expect(me.superadmin).toBe(false);
    expect(me.guilds.map(({ id, role }) => ({ id, role }))).toEqual(ownerOf);

    const list = (await (await fetch(`${api}/api/v1/guilds`, { headers: auth })).json()) as {
      items: { id: string; role: string }[];
    };
    expect(list.items.map(({ id, role }) => ({ id, role }))).toEqual(ownerOf);
    expect((await fetch(`${api}/api/v1/guilds/${owned[0]}`, { headers: auth })).status).toBe(200);
    // A guild the bot is in but the user is not: no role, reported as 404 (existence does not leak).
    expect((await fetch(`${api}/api/v1/guilds/${ids[5]}`, { headers: auth })).status).toBe(404);
  });

  it('reshards in process when the bot outgrows its shard (the controller runs inside role all)', async () => {
    const own = tempDir();
    let out = '';
    const all = spawnCli(['all'], {
      DATA_DIR: own.path,
      API_PORT: '0',
      SIM_PORT: '0',
      SIM_GUILDS: '12',
      RECONCILE_INTERVAL_MS: '1000',
      LEASE_TTL_MS: '3000',
      JWT_SECRET,
      LOG_LEVEL: 'info',
    });
    all.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitForLine(all, /Stop with Ctrl\+C/, 60_000);
      const sim = new RegExp('simulator:\\s+(http://[^\\s/]+)').exec(out)![1]!;
      const api = new RegExp('health:\\s+(http://[^\\s/]+)').exec(out)![1]!;
      expect(out).toMatch(/shards:\s+1 \(plan generation 1\)/);
      // 1,500 more guilds: Discord's recommendation becomes 2 shards (> 1 × the 1.25 hysteresis).
      const res = await fetch(`${sim}/__sim/guilds`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ count: 1500, members: 2 }),
      });
      expect(res.status).toBe(200);
      await waitForLine(all, /"msg":"reshard completed"/, 60_000);
      expect(out).toMatch(/"msg":"reshard cut over"/);
      expect(out).toMatch(/"msg":"shard closed for good"/);
      const metrics = await waitForValue(
        'the pod holding both new shards',
        async () => {
          const text = await (await fetch(`${api}/metrics`)).text();
          return /guildhall_shards_held\{role="all"\} 2/.test(text) ? text : undefined;
        },
        10_000,
      );
      expect(metrics).toMatch(/guildhall_plan_shards\{plan="active",role="all"\} 2/);
    } finally {
      const exited = new Promise((r) => all.once('exit', r));
      all.kill('SIGTERM');
      await exited;
      own.cleanup();
    }
  });
});
