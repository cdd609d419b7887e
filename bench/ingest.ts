/**
 * End to end ingest: a shard's event pipeline appends activity events to the event log (a real
 * redis-server, spawned here), the api pod's event writer drains it with a consumer group into SQLite
 * (validation, fencing check, month partitions, rollups, ack after commit) — against raw better-sqlite3
 * prepared inserts of the same rows in transactions of 1,000, in the same run. Both sides share this
 * process (in a deployment the shard pods and the api pod are separate processes, so this is a lower
 * bound); timed from the first append to the last commit.
 *
 * Last line: `RESULT ingest ratio=<end-to-end/raw> events_per_s=<end-to-end>`.
 */
import { createCoordination } from '../src/coordination/index.js';
import { silentLogger } from '../src/logging/logger.js';
import { EventPipeline, type ShardEvent, checkpointKey } from '../src/shard/event-pipeline.js';
import { type ActivityEvent, openStorage } from '../src/storage/index.js';
import { eventId } from '../src/storage/index.js';
import { EventWriter } from '../src/writer/event-writer.js';
import { RedisServer } from '../tests/helpers/redis-server.js';
import { tempDir } from '../tests/helpers/temp.js';
import { rawInsert } from './_raw-sqlite.js';
import { median, result, timed } from './_util.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const ROUNDS = 3;

function dataset(): ActivityEvent[] {
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const zipf = (n: number) => Math.min(n - 1, Math.floor(Math.exp(rnd() * Math.log(n + 1))) - 1);
  const start = Date.UTC(2026, 10, 1);
  return Array.from({ length: EVENTS }, (_, i) => {
    const ts = start + Math.floor((i / EVENTS) * 3_600_000);
    const g = zipf(2000);
    return {
      id: eventId(ts, `e2e:${i}`),
      ts,
      guildId: String(1_100_000_000_000_000_000n + BigInt(g)),
      channelId: String(1_200_000_000_000_000_000n + BigInt(g * 100 + zipf(50))),
      userId: String(1_300_000_000_000_000_000n + BigInt(g * 10_000 + zipf(5000))),
      kind: 'message' as const,
      attrs: { length: Math.floor(rnd() * 200) },
    };
  });
}

async function endToEnd(
  redisUrl: string,
  dir: string,
  round: number,
  rows: readonly ActivityEvent[],
): Promise<number> {
  const coordination = await createCoordination({
    redisUrl,
    keyPrefix: `bench-${round}:`,
    log: silentLogger(),
  });
  const storage = openStorage(
    { dataDir: dir, databaseFile: `e2e-${round}.sqlite`, busyTimeoutMs: 1000 },
    { migrate: true },
  );
  const lease = (await coordination.leases.acquire(1, 0, 'bench-0', 600_000))!;
  const log = coordination.eventLog<ShardEvent>('events');
  const pipeline = new EventPipeline(log, silentLogger());
  const writer = new EventWriter(log, storage.events, coordination.leases, silentLogger(), {
    consumer: 'api-0',
    blockMs: 20,
    entriesPerRead: 10,
  });
  const key = checkpointKey(1, 0);
  pipeline.track(key, { sessionId: 's', seq: 0 }, () => undefined);
  let stored = 0;
  const seconds = await timed(async () => {
    const draining = (async () => {
      while (stored < rows.length) stored += await writer.step();
    })();
    for (let i = 0; i < rows.length; i++) {
      pipeline.push(key, i + 1, { event: rows[i]!, shardId: 0, generation: 1, epoch: lease.epoch });
      pipeline.processed(key, i + 1);
      if (i % 5000 === 4999) await new Promise((r) => setImmediate(r)); // let appends and the writer run
    }
    await pipeline.flush();
    await draining;
    storage.events.compact();
  });
  if (stored !== rows.length) throw new Error(`stored ${stored} of ${rows.length}`);
  await storage.close();
  await coordination.close();
  return seconds;
}

export async function run(): Promise<void> {
  const rows = dataset();
  const redis = await RedisServer.start();
  const tmp = tempDir('guildhall-bench-ingest-');
  console.log(
    `ingest: ${EVENTS} events, pipeline → Redis event log → writer → SQLite vs raw inserts, ${ROUNDS} rounds`,
  );
  const e2e: number[] = [];
  const base: number[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      base.push(await timed(() => rawInsert(tmp.file(`raw-${r}.sqlite`), rows)));
      e2e.push(await endToEnd(redis.url, tmp.path, r, rows));
      console.log(
        `  round ${r + 1}: raw ${(EVENTS / base[r]!).toFixed(0)} rows/s, end to end ${(EVENTS / e2e[r]!).toFixed(0)} events/s`,
      );
    }
  } finally {
    tmp.cleanup();
    await redis.stop();
  }
  const rawRate = EVENTS / median(base);
  const e2eRate = EVENTS / median(e2e);
  console.log(`  median: raw ${rawRate.toFixed(0)} rows/s, end to end ${e2eRate.toFixed(0)} events/s`);
  result('ingest', { ratio: e2eRate / rawRate, events_per_s: Math.round(e2eRate) });
}
