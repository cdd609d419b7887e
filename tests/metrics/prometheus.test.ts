// The platform's metrics as Prometheus sees them: a real Prometheus (Debian's package) scrapes a running
// `guildhall api`, `guildhall shard` and `guildhall controller` (real processes, the simulator over real
// WebSockets, a real redis-server, a real SQLite file) every second while messages flow, and PromQL over
// what it stored must add up to what really happened — events dispatched, appended, inserted; requests
// served; leader, plan and held shards. `promtool check metrics` must find nothing to fix in any role's
// own metrics.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Coordination, createCoordination } from '../../src/coordination/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import { type SimulatorHandle, createSimulator, startLoad } from '../../src/sim/index.js';
import { spawnCli, waitForUrl } from '../helpers/cli.js';
import { PrometheusServer, promtoolCheckMetrics } from '../helpers/prometheus.js';
import { RedisServer } from '../helpers/redis-server.js';
import { readEventTables } from '../helpers/sqlite.js';
import { tempDir } from '../helpers/temp.js';
import { waitUntil } from '../helpers/wait.js';

const PREFIX = 'metrics-test:';
const SHARDS = 2;
const MESSAGES = 600;
const SECRET = 'metrics-test-secret-0123456789-0123456789';

let redis: RedisServer;
let sim: SimulatorHandle;
let coordination: Coordination;
let prometheus: PrometheusServer | undefined;
const dir = tempDir('guildhall-metrics-');
const children: ChildProcess[] = [];

function start(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawnCli(args, {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: PREFIX,
    DISCORD_TOKEN: sim.token,
    DISCORD_API_URL: sim.restUrl,
    JWT_SECRET: SECRET,
    LOG_LEVEL: 'info',
    ...env,
  });
  children.push(child);
  return child;
}

/** Every activity event row in the api's SQLite file (read-only, beside the running writer). */
function storedRows(): { all: number; messages: number } {
  return readEventTables(dir.file('guildhall.sqlite'), (db, tables) => {
    let all = 0;
    let messages = 0;
    for (const t of tables) {
      const r = db.prepare(`SELECT COUNT(*) AS n, SUM(kind = 'message') AS m FROM ${t}`).get() as {
        n: number;
        m: number | null;
      };
      all += r.n;
      messages += r.m ?? 0;
    }
    return { all, messages };
  });
}

beforeAll(async () => {
  redis = await RedisServer.start();
  sim = await createSimulator({ guilds: 30, membersPerGuild: 4, channelsPerGuild: 2, rolesPerGuild: 2 });
  coordination = await createCoordination({ redisUrl: redis.url, keyPrefix: PREFIX, log: silentLogger() });
  await coordination.plans.publish(
    { generation: 1, totalShards: SHARDS, maxConcurrency: 1, shardsPerPod: SHARDS },
    null,
  );
});

afterAll(async () => {
  await prometheus?.stop();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await coordination?.close();
  await sim?.close();
  await redis?.stop();
  dir.cleanup();
});

describe('metrics through a real Prometheus (real processes, simulator, real Redis)', () => {
  it('writer, gateway, HTTP, controller and shard series add up to what happened; promtool finds no problem', async () => {
    const api = start(['api'], { DATA_DIR: dir.path, API_PORT: '0', POD_NAME: 'guildhall-api-0' });
    const apiUrl = await waitForUrl(api, /api listening/);
    const shard = start(['shard'], {
      POD_NAME: 'guildhall-shard-0',
      SHARDS_PER_POD: String(SHARDS),
      API_INTERNAL_URL: apiUrl,
      SHARD_PORT: '0',
    });
    const shardUrl = await waitForUrl(shard, /shard pod listening/);
    const controller = start(['controller'], {
      POD_NAME: 'guildhall-controller-0',
      CONTROLLER_PORT: '0',
      RECONCILE_INTERVAL_MS: '300',
      LEADER_LEASE_DURATION_MS: '3000',
      LEADER_RENEW_DEADLINE_MS: '2000',
      LEADER_RETRY_PERIOD_MS: '300',
    });
    const controllerUrl = await waitForUrl(controller, /controller started/);
    const targets = { api: apiUrl, shard: shardUrl, controller: controllerUrl };
    prometheus = await PrometheusServer.start({ targets, scrapeIntervalSeconds: 1 });
    const prom = prometheus;

    await waitUntil(
      `${SHARDS} connected shard sessions`,
      () => sim.gateway.sessions().filter((s) => s.connected).length === SHARDS,
      60_000,
    );
    const load = startLoad({
      world: sim.world,
      sink: (e) => sim.gateway.dispatch(e),
      ratePerSecond: 300,
      maxEvents: MESSAGES,
      durationMs: 0,
      mix: { MESSAGE_CREATE: 1 },
    });
    await load.done;
    await waitUntil(`${MESSAGES} message rows`, () => storedRows().messages === MESSAGES, 30_000);
    const rows = storedRows().all;

    // Requests Prometheus must count on the api: 20 answered, 5 refused (no token).
    for (let i = 0; i < 20; i++) expect((await fetch(`${apiUrl}/api/v1`)).status).toBe(200);
    for (let i = 0; i < 5; i++)
      expect((await fetch(`${apiUrl}/api/v1/guilds/1/analytics/overview`)).status).toBe(401);

    // Scrapes every second, each target on its own schedule: wait for a scrape of every role that started
    // after all of the above (the writer's counter moves just after its commit, so it is waited for too).
    const doneAt = Date.now() / 1000;
    const inserted = 'sum(guildhall_writer_events_total{job="api",result="inserted"})';
    const refused =
      'sum(guildhall_http_request_duration_seconds_count{job="api",route="/api/v1/guilds/:guildId/analytics/overview",status="401"})';
    await waitUntil(
      'a scrape of every role after the traffic, showing every insert and request',
      async () => {
        const scrapes = await prom.query('timestamp(up)');
        return (
          scrapes.length === 3 &&
          scrapes.every((x) => x.value > doneAt) &&
          (await prom.value(inserted)) === rows &&
          (await prom.value(refused)) === 5
        );
      },
      30_000,
      250,
    );

    for (const t of await prom.targets()) expect(t, t.job).toMatchObject({ health: 'up', lastError: '' });
    expect((await prom.query('up')).map((s) => [s.metric.job, s.value]).sort()).toEqual([
      ['api', 1],
      ['controller', 1],
      ['shard', 1],
    ]);
    // Every guildhall series carries the role of the process that exported it.
    const roles = await prom.query('count by (job, role) ({__name__=~"guildhall_.+"})');
    expect(roles.map((s) => [s.metric.job, s.metric.role]).sort()).toEqual([
      ['api', 'api'],
      ['controller', 'controller'],
      ['shard', 'shard'],
    ]);

    // The event path, hop by hop: dispatched → appended → inserted, nothing left behind.
    expect(await prom.value('sum(guildhall_gateway_events_total{job="shard",event="MESSAGE_CREATE"})')).toBe(
      MESSAGES,
    );
    expect(await prom.value('sum(guildhall_shard_events_appended_total{job="shard"})')).toBe(rows);
    expect(await prom.value(inserted)).toBe(rows);
    expect(await prom.value('sum(guildhall_writer_events_total{job="api",result!="inserted"})')).toBe(0);
    expect(await prom.value('guildhall_writer_lag_entries{job="api"}')).toBe(0);
    const batchP99 = await prom.value(
      'histogram_quantile(0.99, sum by (le) (rate(guildhall_writer_batch_duration_seconds_bucket{job="api"}[1m])))',
    );
    expect(batchP99).toBeGreaterThan(0);
    expect(batchP99).toBeLessThanOrEqual(1);

    // HTTP: the answered and the refused requests, by route template and status.
    expect(
      await prom.value(
        'sum(guildhall_http_request_duration_seconds_count{job="api",route="/api/v1",status="200"})',
      ),
    ).toBe(20);
    expect(await prom.value(refused)).toBe(5);

    // Controller and shard pod state.
    expect(await prom.value('guildhall_controller_leader{job="controller"}')).toBe(1);
    expect(await prom.value('guildhall_plan_shards{job="controller",plan="active"}')).toBe(SHARDS);
    expect(await prom.value('guildhall_plan_shards{job="controller",plan="next"}')).toBe(0);
    expect(await prom.value('sum(guildhall_shards_held{job="shard"})')).toBe(SHARDS);

    // Each role's exposition passes promtool's lint (naming, units, _total counters, HELP) — except three
    // gauges prom-client's default Node.js metrics name `*_total` upstream (kept as they are: community
    // Node.js dashboards query them by these names). Any problem in a metric of ours fails.
    const upstream = ['active_handles', 'active_requests', 'active_resources'].map(
      (m) => `guildhall_nodejs_${m}_total non-counter metrics should not have "_total" suffix`,
    );
    for (const [job, url] of Object.entries(targets)) {
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text, job).toContain('guildhall_');
      expect(text, job).toContain('guildhall_nodejs_active_handles_total');
      expect(
        promtoolCheckMetrics(text).filter((p) => !upstream.includes(p)),
        job,
      ).toEqual([]);
    }
  });
});
