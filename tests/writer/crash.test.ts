// The single writer crashing for real: events flow into the event log (a real redis-server) while
// `guildhall api` (a real process, real SQLite file) drains them; it is killed with SIGKILL mid-stream and
// restarted; every event must end up in SQLite exactly once, and the rollups must count each once.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Coordination, createCoordination } from '../../src/coordination/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import type { ShardEvent } from '../../src/shard/event-pipeline.js';
import { EVENT_LOG_NAME } from '../../src/shard/runtime.js';
import { type ActivityEvent, eventId } from '../../src/storage/index.js';
import { spawnCli, waitForLine } from '../helpers/cli.js';
import { RedisServer } from '../helpers/redis-server.js';
import { readEventTables } from '../helpers/sqlite.js';
import { tempDir } from '../helpers/temp.js';

const PREFIX = 'crash-test:';
const TOTAL = 20_000;
const G = '1100000000000000001';
let redis: RedisServer;
let coordination: Coordination;
const dir = tempDir();
const children: ChildProcess[] = [];

function startApi(): ChildProcess {
  const child = spawnCli(['api'], {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: PREFIX,
    DATA_DIR: dir.path,
    API_PORT: '0',
    JWT_SECRET: 's'.repeat(32),
    POD_NAME: 'guildhall-api-0',
    LOG_LEVEL: 'info',
  });
  children.push(child);
  return child;
}

function stored(): { rows: number; distinct: number; rollup: number } {
  return readEventTables(dir.file('guildhall.sqlite'), (db, tables) => {
    if (tables.length === 0) return { rows: 0, distinct: 0, rollup: 0 };
    const union = tables.map((t) => `SELECT id FROM ${t}`).join(' UNION ALL ');
    const r = db
      .prepare(`SELECT COUNT(*) AS rows, COUNT(DISTINCT id) AS distinct_ids FROM (${union})`)
      .get() as { rows: number; distinct_ids: number };
    // Folded rollups plus what the journal still holds (the writer folds every few seconds).
    const folded = (
      db.prepare('SELECT COALESCE(SUM(count), 0) AS n FROM rollup_daily').get() as { n: number }
    ).n;
    return { rows: r.rows, distinct: r.distinct_ids, rollup: folded };
  });
}

beforeAll(async () => {
  redis = await RedisServer.start();
  coordination = await createCoordination({ redisUrl: redis.url, keyPrefix: PREFIX, log: silentLogger() });
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await coordination.close();
  await redis.stop();
  dir.cleanup();
});

describe('event writer crash (real processes)', () => {
  it('kill -9 of the api process mid-stream, restart: every event is in SQLite exactly once', async () => {
    const lease = (await coordination.leases.acquire(1, 0, 'guildhall-shard-0', 120_000))!;
    const log = coordination.eventLog<ShardEvent>(EVENT_LOG_NAME);
    const base = Date.UTC(2026, 10, 25, 10);
    const events: ActivityEvent[] = Array.from({ length: TOTAL }, (_, i) => ({
      id: eventId(base + i * 7, `crash:${i}`),
      ts: base + i * 7,
      guildId: G,
      channelId: '1200000000000000001',
      userId: String(1_300_000_000_000_000_000n + BigInt(i % 300)),
      kind: 'message',
    }));
    const append = async (from: number, to: number) => {
      for (let i = from; i < to; i += 250) {
        await log.append(
          events
            .slice(i, Math.min(to, i + 250))
            .map((event) => ({ event, shardId: 0, generation: 1, epoch: lease.epoch })),
        );
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    const first = startApi();
    await waitForLine(first, /"msg":"api listening"/, 30_000);
    // Events flow the whole time (~12k/s); the writer is killed while it drains them.
    const appending = append(0, TOTAL);
    const progress = await (async () => {
      for (;;) {
        const s = stored();
        if (s.rows > 3_000) return s.rows;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect(progress).toBeLessThan(TOTAL);
    const pendingAtCrash = await log.pending();

    await appending;
    const second = startApi();
    await waitForLine(second, /"msg":"api listening"/, 30_000);
    const start = Date.now();
    while (stored().rows < TOTAL && Date.now() - start < 30_000) await new Promise((r) => setTimeout(r, 100));

    const s = stored();
    expect(s.rows).toBe(TOTAL);
    expect(s.distinct).toBe(TOTAL);
    // Graceful stop folds the rollups; each event is counted once.
    const exited = new Promise<number | null>((r) => second.once('exit', (c) => r(c)));
    second.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stored().rollup).toBe(TOTAL);
    expect((await log.pending()).pending).toBe(0);
    console.log(
      `writer killed after ${progress} of ${TOTAL} events stored (pending at crash: ${pendingAtCrash.pending} entries, lag ${pendingAtCrash.lag}); after restart: ${s.rows} rows, ${s.distinct} distinct`,
    );
  }, 120_000);
});
