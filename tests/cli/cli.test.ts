// The guildhall CLI as a user runs it: real child processes, real SQLite files, real HTTP.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp.js';
import { runCli, spawnCli, waitForLine } from '../helpers/cli.js';

const dirs: ReturnType<typeof tempDir>[] = [];
afterEach(() => {
  while (dirs.length > 0) dirs.pop()!.cleanup();
});
function tmp() {
  const d = tempDir();
  dirs.push(d);
  return d;
}
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('guildhall --help', () => {
  it('lists every role and command', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['all', 'api', 'shard', 'controller', 'sim', 'migrate'])
      expect(r.stdout).toMatch(new RegExp(`\\n\\s+${cmd}\\b`));
  });

  it('rejects an unknown command with usage and exit code 2', async () => {
    const r = await runCli(['dance']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'dance'/);
  });
});

describe('configuration errors', () => {
  it('stop the process at boot with every problem listed and exit code 2', async () => {
    const d = tmp();
    const r = await runCli(['api'], {
      DATA_DIR: d.path,
      API_PORT: 'http',
      LOG_LEVEL: 'chatty',
      JWT_SECRET: 'x',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Invalid configuration \(3 problems\)/);
    expect(r.stderr).toMatch(/API_PORT: .*"http"/);
    expect(r.stderr).toMatch(/LOG_LEVEL: .*"chatty"/);
    expect(r.stderr).toMatch(/JWT_SECRET: .*<redacted>/);
  });
});

describe('graceful shutdown', () => {
  it('the api role exits 0 on SIGTERM after closing its server and database', async () => {
    const d = tmp();
    const child = spawnCli(['api'], {
      DATA_DIR: d.path,
      API_PORT: '0',
      JWT_SECRET: 'a'.repeat(32),
      LOG_LEVEL: 'info',
    });
    const line = await waitForLine(child, /"msg":"api listening"/);
    const url = (JSON.parse(line) as { url: string }).url;
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) =>
      child.once('exit', (c, s) => r([c, s])),
    );
    const closed = waitForLine(child, /"msg":"shutdown complete"/);
    child.kill('SIGTERM');
    await closed;
    expect(await exited).toEqual([0, null]);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    // The database was closed cleanly: the WAL was checkpointed away.
    const db = new BetterSqlite3(d.file('guildhall.sqlite'), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBeGreaterThan(0);
    db.close();
  });

  it('role all exits 0 on SIGINT', async () => {
    const d = tmp();
    const child = spawnCli(['all'], { DATA_DIR: d.path, API_PORT: '0', SIM_PORT: '0', LOG_LEVEL: 'info' });
    let output = '';
    child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    await waitForLine(child, /guildhall is running/);
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    child.kill('SIGINT');
    const code = await exited;
    expect(
      code,
      output
        .split('\n')
        .filter((l) => /warn|error|closed|shutting|timed out/.test(l))
        .join('\n'),
    ).toBe(0);
  });
});

describe('guildhall migrate', () => {
  it('migrates a fresh file, then finds nothing to do on the already-migrated file', async () => {
    const d = tmp();
    const first = await runCli(['migrate'], { DATA_DIR: d.path });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/applied migration 1: /);
    expect(first.stdout).toMatch(/schema version 0 → \d+/);
    const db = new BetterSqlite3(d.file('guildhall.sqlite'), { readonly: true });
    const tables = (
      db.prepare("SELECT name FROM sqlite_schema WHERE type='table'").all() as { name: string }[]
    ).map((t) => t.name);
    db.close();
    expect(tables).toEqual(
      expect.arrayContaining([
        'guilds',
        'guild_cogs',
        'users',
        'api_keys',
        'refresh_tokens',
        'audit_log',
        'event_partitions',
      ]),
    );

    const before = sha(d.file('guildhall.sqlite'));
    const second = await runCli(['migrate'], { DATA_DIR: d.path });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/already at schema version \d+; nothing to do/);
    expect(sha(d.file('guildhall.sqlite'))).toBe(before);
  });

  it('refuses a corrupt file and leaves it byte for byte', async () => {
    const d = tmp();
    const file = d.file('guildhall.sqlite');
    writeFileSync(file, Buffer.from('this is not a database at all, just some bytes'.repeat(100)));
    const before = sha(file);
    const r = await runCli(['migrate'], { DATA_DIR: d.path });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /is not a SQLite database .* refusing to open or overwrite it.*\[storage_not_sqlite\]/,
    );
    expect(sha(file)).toBe(before);
  });

  it('refuses a SQLite file that belongs to another program', async () => {
    const d = tmp();
    const file = d.file('guildhall.sqlite');
    const foreign = new BetterSqlite3(file);
    foreign.exec("CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('soup');");
    foreign.close();
    const before = sha(file);
    const r = await runCli(['migrate'], { DATA_DIR: d.path });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/SQLite database of another program.*\[storage_foreign_database\]/);
    expect(sha(file)).toBe(before);
  });

  it('refuses a database written by a newer guildhall', async () => {
    const d = tmp();
    expect((await runCli(['migrate'], { DATA_DIR: d.path })).code).toBe(0);
    const file = d.file('guildhall.sqlite');
    const db = new BetterSqlite3(file);
    db.pragma('user_version = 999');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const before = sha(file);
    const r = await runCli(['migrate'], { DATA_DIR: d.path });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /schema version 999, newer than this guildhall supports.*\[storage_schema_newer\]/,
    );
    expect(sha(file)).toBe(before);
  });
});

describe('usage errors', () => {
  it('a bad option value of a subcommand exits 2 with the reason', async () => {
    const r = await runCli(['sim', '--guilds', 'many']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--guilds <n>' argument 'many' is invalid\. expected a whole number/);
  });
});

describe('guildhall token issue', () => {
  it('prints a JWT for a guild and role, and refuses bad arguments with exit 2', async () => {
    const env = { JWT_SECRET: 'k'.repeat(40) };
    const ok = await runCli(
      ['token', 'issue', '--guild', '123456789012345678', '--role', 'admin', '--user', '223456789012345678'],
      env,
    );
    expect(ok.code).toBe(0);
    const [, payload] = ok.stdout.trim().split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { sub: string; aud: string };
    expect(claims.sub).toBe('223456789012345678');
    expect(claims.aud).toBe('admin');
    const bad = await runCli(['token', 'issue', '--guild', '1', '--role', 'king'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/role: Invalid option/);
  });
});

describe('roles that need a cluster', () => {
  it('the controller refuses to start without Redis and a Discord token, naming both', async () => {
    const r = await runCli(['controller'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/REDIS_URL: required for role `controller`/);
    expect(r.stderr).toMatch(/DISCORD_TOKEN: required for role `controller`/);
  });
});
