// `guildhall all` (what `npm start` runs) as a user runs it: one child process with the built-in Discord
// simulator, the api role, a shard pod and in-memory coordination. A message posted in the simulator must
// travel gateway → shard → event log → writer → SQLite.
import type { ChildProcess } from 'node:child_process';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { waitForValue } from '../helpers/wait.js';

let child: ChildProcess;
let banner = '';
const dir = tempDir();

beforeAll(async () => {
  child = spawnCli(['all'], {
    DATA_DIR: dir.path,
    API_PORT: '0',
    SIM_PORT: '0',
    SIM_GUILDS: '12',
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
});
