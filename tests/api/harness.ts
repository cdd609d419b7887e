import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { type ApiDepsExtras, createApiApp, createApiDeps, type ApiApp } from '../../src/api/app.js';
import { issueAccessToken, issueServiceToken } from '../../src/api/auth/tokens.js';
import type { ApiDeps } from '../../src/api/deps.js';
import type { AnyRoute } from '../../src/api/http/route.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import { staticCogCatalog } from '../../src/domain/cog-catalog.js';
import type { GuildRole } from '../../src/domain/tables.js';
import { createLogger } from '../../src/logging/logger.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { type Storage, eventId, openStorage } from '../../src/storage/index.js';
import { tempDir } from '../helpers/temp.js';

/** Ids used across the API tests. */
export const IDS = {
  guildA: '1100000000000000001',
  guildB: '1100000000000000002',
  guildGone: '1100000000000000003',
  owner: '1200000000000000001',
  admin: '1200000000000000002',
  moderator: '1200000000000000003',
  viewer: '1200000000000000004',
  outsider: '1200000000000000005',
  superadmin: '1200000000000000009',
  channel1: '1300000000000000001',
  channel2: '1300000000000000002',
} as const;

export const JWT_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** A test cog catalog: two cogs with zod config schemas and defaults. */
export const testCogs = staticCogCatalog([
  {
    name: 'leveling',
    description: 'XP and levels',
    configSchema: z.strictObject({
      xpPerMessage: z.number().int().min(1).max(100).default(10),
      announceChannelId: z
        .string()
        .regex(/^\d{17,20}$/)
        .nullable()
        .default(null),
      noXpRoles: z.array(z.string()).max(50).default([]),
    }),
  },
  {
    name: 'tickets',
    description: 'Support tickets',
    defaultEnabled: false,
    configSchema: z.strictObject({ categoryName: z.string().min(1).max(100).default('Tickets') }),
  },
]);

/** Collects pino lines written by the app (for "no secret in logs" assertions). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.lines.push(...chunk.toString().split('\n').filter(Boolean));
    cb();
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

/** A running API on 127.0.0.1:0 over a temp SQLite file, with seed helpers and token minting. */
export interface TestApi {
  readonly url: string;
  readonly deps: ApiDeps;
  readonly api: ApiApp;
  readonly storage: Storage;
  readonly logs: LogCapture;
  readonly config: Config;
  token(
    userId: string,
    o?: { scope?: { guildId: string; role: GuildRole }; ttlSeconds?: number },
  ): Promise<string>;
  serviceToken(name?: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts a test API; `env` overrides config variables. */
export async function startTestApi(
  env: Record<string, string> = {},
  extras: ApiDepsExtras = {},
  opts: { extraRoutes?: readonly AnyRoute[] } = {},
): Promise<TestApi> {
  const tmp = tempDir('guildhall-api-');
  const config = loadConfig(
    {
      JWT_SECRET,
      SUPERADMIN_USER_IDS: IDS.superadmin,
      DATA_DIR: tmp.path,
      LOG_LEVEL: 'debug',
      METRICS_DEFAULT: 'false',
      DISCORD_APPLICATION_ID: '1400000000000000001',
      DISCORD_CLIENT_SECRET: 'discord-client-secret-value-xyz',
      ...env,
    },
    'api',
  );
  const logs = new LogCapture();
  const log = createLogger({ level: 'debug', destination: logs });
  const metrics = createMetricsRegistry({ role: 'api', defaultMetrics: false });
  const storage = openStorage(config.storage, { migrate: true, log });
  const deps = await createApiDeps({ config, log, metrics, storage }, { cogs: testCogs, ...extras });
  const api = createApiApp(deps, opts);
  const server: Server = api.app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deps,
    api,
    storage,
    logs,
    config,
    token: (userId, o = {}) =>
      issueAccessToken(deps.keys, {
        userId,
        ttlSeconds: o.ttlSeconds ?? 600,
        ...(o.scope ? { scope: o.scope } : {}),
      }),
    serviceToken: (name = 'shard-0') => issueServiceToken(deps.keys, { name, ttlSeconds: 600 }),
    async close() {
      api.closeStreams();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await storage.close();
      tmp.cleanup();
    },
  };
}

const DAY = 86_400_000;

/**
 * Seeds guild A (owner/admin/moderator/viewer), guild B (outsider is its admin), a guild the bot left,
 * and `days` of activity in guild A ending now.
 */
export async function seed(t: TestApi, o: { days?: number; perDay?: number } = {}): Promise<void> {
  const ops = t.deps.ops;
  await ops.call(
    'guilds.upsert',
    { id: IDS.guildA, name: 'Guild A', ownerId: IDS.owner, memberCount: 42 },
    { kind: 'write' },
  );
  await ops.call(
    'guilds.upsert',
    { id: IDS.guildB, name: 'Guild B', ownerId: IDS.outsider },
    { kind: 'write' },
  );
  await ops.call('guilds.upsert', { id: IDS.guildGone, name: 'Gone' }, { kind: 'write' });
  await ops.call('guilds.leave', { id: IDS.guildGone }, { kind: 'write' });
  const login = (
    id: string,
    name: string,
    guilds: { guildId: string; role: 'owner' | 'admin' | 'viewer' }[],
  ) =>
    ops.call(
      'auth.syncLogin',
      {
        user: { id, username: name, globalName: null, avatar: null },
        guilds: guilds.map((g) => ({
          ...g,
          owner: g.role === 'owner',
          permissions: g.role === 'admin' ? '8' : '0',
        })),
      },
      { kind: 'write' },
    );
  await login(IDS.owner, 'owner', [{ guildId: IDS.guildA, role: 'owner' }]);
  await login(IDS.admin, 'admin', [
    { guildId: IDS.guildA, role: 'admin' },
    { guildId: IDS.guildGone, role: 'admin' },
  ]);
  await login(IDS.moderator, 'moderator', [{ guildId: IDS.guildA, role: 'viewer' }]);
  await login(IDS.viewer, 'viewer', [{ guildId: IDS.guildA, role: 'viewer' }]);
  await login(IDS.outsider, 'outsider', [{ guildId: IDS.guildB, role: 'owner' }]);
  await ops.call(
    'roles.grant',
    { guildId: IDS.guildA, userId: IDS.moderator, role: 'moderator' },
    { kind: 'write' },
  );

  const days = o.days ?? 10;
  const perDay = o.perDay ?? 20;
  // Each day's events span perDay minutes, and its join/leave/voice events sit an hour, back from the same
  // time of day: in the first hours after midnight UTC they would straddle two calendar days, so then the
  // days are anchored at the end of yesterday.
  const clock = Date.now();
  const sinceMidnight = clock % DAY;
  const spanMs = Math.max((perDay + 1) * 60_000, 3_600_000 + 60_000);
  const now = sinceMidnight > spanMs ? clock : clock - sinceMidnight - 1;
  const batch: unknown[] = [];
  for (let d = 0; d < days; d++) {
    for (let i = 0; i < perDay; i++) {
      const ts = now - d * DAY - i * 60_000 - 1;
      const user = i % 3 === 0 ? IDS.viewer : i % 3 === 1 ? IDS.admin : IDS.owner;
      batch.push({
        id: eventId(ts, `m:${d}:${i}`),
        ts,
        guildId: IDS.guildA,
        channelId: i % 2 === 0 ? IDS.channel1 : IDS.channel2,
        userId: user,
        kind: i % 10 === 9 ? 'command' : 'message',
        ...(i % 10 === 9 ? { attrs: { name: i % 20 === 9 ? 'rank' : 'help' } } : {}),
      });
    }
    const ts = now - d * DAY - 3_600_000;
    batch.push({
      id: eventId(ts, `j:${d}`),
      ts,
      guildId: IDS.guildA,
      userId: `13${String(d).padStart(17, '0')}`,
      kind: 'member_join',
    });
    if (d % 2 === 0)
      batch.push({
        id: eventId(ts + 1, `l:${d}`),
        ts: ts + 1,
        guildId: IDS.guildA,
        userId: IDS.outsider,
        kind: 'member_leave',
      });
    batch.push({
      id: eventId(ts + 2, `v:${d}`),
      ts: ts + 2,
      guildId: IDS.guildA,
      channelId: IDS.channel1,
      userId: IDS.viewer,
      kind: 'voice_join',
    });
  }
  const r = t.storage.events.ingest(batch);
  if (r.rejected.length > 0) throw new Error(`seed rejected: ${JSON.stringify(r.rejected.slice(0, 3))}`);
}

/** fetch with a bearer token; returns status, headers, parsed JSON (or text). */
export async function call(
  t: { url: string },
  method: string,
  path: string,
  o: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests poke at arbitrary JSON
): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.rawBody !== undefined) body = o.rawBody;
  else if (o.body !== undefined) {
    body = JSON.stringify(o.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(t.url + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}
