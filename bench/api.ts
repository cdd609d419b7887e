// The admin API's read path. (1) A cached GET through the whole middleware stack (request id, access
// log, error handling, CORS, JWT auth, rate limit, routing, validation, RBAC lookup, cache, ETag) against
// bare koa + @koa/router returning the same body, same process, same keep-alive load loop, alternating
// rounds. (2) The 30-day analytics overview of a guild with 1M ingested events, served from the cache vs
// computed from the rollups on every request (same app, cache disabled).
import { Agent, type Server, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import { pino } from 'pino';
import { createApiApp, createApiDeps } from '../src/api/app.js';
import { issueAccessToken } from '../src/api/auth/tokens.js';
import { noopApiCache } from '../src/api/ports/cache.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/logging/logger.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import { openStorage } from '../src/storage/index.js';
import { tempDir } from '../tests/helpers/temp.js';
import { guildEvents } from './_guild-events.js';
import { median, result } from './_util.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 8000);
const CONCURRENCY = 8;
const ROUNDS = 5;
const BLOCK = 500;
const GUILD = '1100000000000000001';
const USER = '1200000000000000001';

const agents = new Map<string, Agent>();

/**
 * Keep-alive load loop: `count` GETs over `concurrency` sockets (one persistent agent per URL and
 * concurrency, so blocks of a run reuse their connections); returns requests per second.
 */
async function load(
  url: string,
  headers: Record<string, string>,
  count: number,
  concurrency: number,
): Promise<number> {
  const agentKey = `${concurrency} ${url}`;
  let agent = agents.get(agentKey);
  if (!agent) agents.set(agentKey, (agent = new Agent({ keepAlive: true, maxSockets: concurrency })));
  let issued = 0;
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(url, { agent, headers }, (res) => {
        if (res.statusCode !== 200) failed++;
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < count) {
        issued++;
        await one();
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (failed > 0) throw new Error(`${failed} requests did not answer 200`);
  return count / seconds;
}

/** Sequential latency of `count` GETs (ms per request). */
async function latency(url: string, headers: Record<string, string>, count: number): Promise<number> {
  const rps = await load(url, headers, count, 1);
  return 1000 / rps;
}

function listen(app: Koa): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    );
  });
}

export async function run(): Promise<void> {
  const tmp = tempDir('guildhall-bench-api-');
  const servers: Server[] = [];
  try {
    const config = loadConfig(
      {
        DATA_DIR: tmp.path,
        JWT_SECRET: 'bench-secret-0123456789-0123456789-0123456789',
        API_RATE_LIMIT_PER_MINUTE: '100000000',
        METRICS_DEFAULT: 'false',
        // Headline figure with the setting for a pod behind an ingress that logs access itself: errors,
        // writes and slow requests are logged. `ratio_access_log_all` measures every request logged.
        API_ACCESS_LOG: 'errors',
      },
      'api',
    );
    // Logs are written by pino (buffered, as recommended for throughput) to /dev/null.
    const log = createLogger({
      level: 'info',
      destination: pino.destination({ dest: '/dev/null', minLength: 4096, sync: false }),
    });
    const storage = openStorage(config.storage, { migrate: true });
    const deps = await createApiDeps({
      config,
      log,
      metrics: createMetricsRegistry({ role: 'api', defaultMetrics: false }),
      storage,
    });
    await deps.ops.call(
      'guilds.upsert',
      { id: GUILD, name: 'Bench Guild', memberCount: 8000 },
      { kind: 'write' },
    );
    await deps.ops.call(
      'auth.syncLogin',
      {
        user: { id: USER, username: 'owner', globalName: null, avatar: null },
        guilds: [{ guildId: GUILD, role: 'owner', owner: true, permissions: '8' }],
      },
      { kind: 'write' },
    );

    const now = Date.now();
    console.log(`ingesting ${EVENTS.toLocaleString()} events over 30 days…`);
    const all = guildEvents(EVENTS, now, GUILD);
    const t0 = Date.now();
    for (let i = 0; i < all.length; i += 1000) storage.events.ingest(all.slice(i, i + 1000));
    storage.events.compact();
    console.log(`  ingested in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const cached = createApiApp(deps);
    const uncached = createApiApp({ ...deps, cache: noopApiCache() });
    const loggedAll = createApiApp({
      ...deps,
      config: { ...deps.config, api: { ...deps.config.api, accessLog: 'all' } },
    });
    const a = await listen(cached.app as unknown as Koa);
    const u = await listen(uncached.app as unknown as Koa);
    const l = await listen(loggedAll.app as unknown as Koa);
    servers.push(a.server, u.server, l.server);
    const path = `/api/v1/guilds/${GUILD}/analytics/overview`;
    const token = await issueAccessToken(deps.keys, { userId: USER, ttlSeconds: 3600 });
    const headers = { authorization: `Bearer ${token}` };

    // The same body, served by bare koa + @koa/router.
    const body = await (await fetch(a.url + path, { headers })).text();
    const bare = new Koa();
    const router = new Router();
    router.get('/api/v1/guilds/:guildId/analytics/overview', (ctx) => {
      ctx.type = 'application/json';
      ctx.body = body;
    });
    bare.use(router.routes()).use(router.allowedMethods());
    const b = await listen(bare);
    servers.push(b.server);
    console.log(`overview body: ${body.length} bytes`);

    // (2) uncached vs cached latency of the 30-day overview.
    await latency(u.url + path, headers, 3); // warm-up (statement preparation)
    const uncachedMs = await latency(u.url + path, headers, Number(process.env.BENCH_UNCACHED ?? 40));
    await latency(a.url + path, headers, 200);
    const cachedMs = await latency(a.url + path, headers, 4000);
    console.log(
      `overview uncached: ${uncachedMs.toFixed(2)} ms/request, cached: ${cachedMs.toFixed(3)} ms/request`,
    );

    // (1) cached GET through the full stack vs bare koa. The machine is shared, so the targets are
    // interleaved in small blocks (bare, stack, stack with every request logged, bare, …) and each round
    // compares the time the targets took over the same stretch; the ratio is the median over rounds.
    const targets = [b.url, a.url, l.url].map((u) => u + path);
    for (const t of targets) await load(t, headers, 2000, CONCURRENCY);
    const ratios: number[] = [];
    const ratiosAll: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const seconds = [0, 0, 0];
      for (let k = 0; k < REQUESTS / BLOCK; k++) {
        for (let j = 0; j < targets.length; j++)
          seconds[j]! += BLOCK / (await load(targets[j]!, headers, BLOCK, CONCURRENCY));
      }
      const [bareS, stackS, allS] = seconds as [number, number, number];
      ratios.push(bareS / stackS);
      ratiosAll.push(bareS / allS);
      console.log(
        `round ${r + 1}: bare ${(REQUESTS / bareS).toFixed(0)} req/s, full stack (cached) ${(REQUESTS / stackS).toFixed(0)} req/s (${(bareS / stackS).toFixed(3)}), with every request logged ${(REQUESTS / allS).toFixed(0)} req/s (${(bareS / allS).toFixed(3)})`,
      );
    }
    const ratio = median(ratios);
    const ratioAll = median(ratiosAll);
    const speedup = uncachedMs / cachedMs;
    console.log(
      `cached full stack / bare koa = ${ratio.toFixed(3)} (goal ≥ 0.8; ${ratioAll.toFixed(3)} with every request logged); cache speed-up = ${speedup.toFixed(1)}× (goal ≥ 20×)`,
    );
    result('api', { ratio, cache_speedup: speedup, ratio_access_log_all: ratioAll });
    await storage.close();
  } finally {
    for (const agent of agents.values()) agent.destroy();
    agents.clear();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    tmp.cleanup();
  }
}
