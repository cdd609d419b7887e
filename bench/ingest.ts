/**
 * End to end ingest: a shard's event pipeline appends activity events to the event log (a real
 * redis-server, spawned here), the api pod's event writer (default options) drains it with a consumer
 * group into SQLite (validation, fencing check, month partitions, rollups, ack after commit) — against
 * raw better-sqlite3 prepared inserts of the same rows, with the same pragmas, in transactions as large
 * as the writer's largest batch, in the same run. The shard side runs in a worker thread (a core of its
 * own, as a shard pod has a process of its own in a deployment; BENCH_SHARD=inline puts it on the
 * writer's thread); timed from the first append to the last commit.
 *
 * Last line: `RESULT ingest ratio=<end-to-end/raw> events_per_s=<end-to-end>`.
 */
import { Worker } from 'node:worker_threads';
import { EVENT_LOG_DEFAULTS, createCoordination } from '../src/coordination/index.js';
import { silentLogger } from '../src/logging/logger.js';
import type { ShardEvent } from '../src/shard/event-pipeline.js';
import { type ActivityEvent, openStorage } from '../src/storage/index.js';
import { eventId } from '../src/storage/index.js';
import { EVENT_WRITER_DEFAULTS, EventWriter } from '../src/writer/event-writer.js';
import { RedisServer } from '../tests/helpers/redis-server.js';
import { tempDir } from '../tests/helpers/temp.js';
import {
  type ShardSideData,
  type ShardSideResult,
  type ShardWorkerMessage,
  runShardSide,
} from './_ingest-shard.js';
import { rawInsert } from './_raw-sqlite.js';
import { median, result, timed } from './_util.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const ROUNDS = 3;
const INLINE_SHARD = process.env.BENCH_SHARD === 'inline';
const LOG_NAME = 'events';
/** The most events the writer ingests in one transaction: log entries per read × events per entry. */
const WRITER_BATCH = EVENT_WRITER_DEFAULTS.entriesPerRead * EVENT_LOG_DEFAULTS.packSize;

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

/** Runs the shard side in a worker thread (default) or on this thread; resolves once it is ready. */
async function shardSide(
  data: ShardSideData,
): Promise<{ start: () => void; done: Promise<ShardSideResult>; stop: () => Promise<void> }> {
  if (INLINE_SHARD) {
    let go!: () => void;
    const started = new Promise<void>((r) => (go = r));
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const done = runShardSide(data, () => {
      ready();
      return started;
    });
    await Promise.race([isReady, done]);
    return { start: go, done, stop: async () => undefined };
  }
  // A worker does not inherit tsx's loader hooks in time for its entry module: register them first.
  const entry = new URL('./_ingest-shard.ts', import.meta.url).href;
  const worker = new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true, workerData: data },
  );
  let ready!: () => void;
  let fail!: (err: Error) => void;
  const isReady = new Promise<void>((resolve, reject) => ((ready = resolve), (fail = reject)));
  const done = new Promise<ShardSideResult>((resolve, reject) => {
    worker.on('message', (m: ShardWorkerMessage) => {
      if (m.type === 'ready') ready();
      else if (m.type === 'done') resolve(m);
      else if (m.type === 'failed') reject(new Error(`shard side failed: ${m.error}`));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`shard worker exited (${code}) before it was done`)));
  });
  done.catch(fail);
  await isReady;
  return {
    start: () => worker.postMessage({ type: 'start' } satisfies ShardWorkerMessage),
    done,
    stop: async () => void (await worker.terminate()),
  };
}

async function endToEnd(
  redisUrl: string,
  dir: string,
  round: number,
  rows: readonly ActivityEvent[],
): Promise<number> {
  const keyPrefix = `bench-${round}:`;
  const coordination = await createCoordination({ redisUrl, keyPrefix, log: silentLogger() });
  const storage = openStorage(
    { dataDir: dir, databaseFile: `e2e-${round}.sqlite`, busyTimeoutMs: 1000 },
    { migrate: true },
  );
  const lease = (await coordination.leases.acquire(1, 0, 'bench-0', 600_000))!;
  const log = coordination.eventLog<ShardEvent>(LOG_NAME);
  const writer = new EventWriter(log, storage.events, coordination.leases, silentLogger(), {
    consumer: 'api-0',
  });
  const shard = await shardSide({ redisUrl, keyPrefix, logName: LOG_NAME, epoch: lease.epoch, rows });
  let stored = 0;
  try {
    const seconds = await timed(async () => {
      shard.start();
      // The writer drains until every row is stored. A failed shard side, or no progress for 30 s (say the
      // shard side appended to another log), ends the run with an error instead of waiting forever.
      let failed: unknown;
      shard.done.catch((err: unknown) => (failed = err));
      let progressAt = Date.now();
      while (stored < rows.length && failed === undefined) {
        const n = await writer.step();
        stored += n;
        if (n > 0) progressAt = Date.now();
        else if (Date.now() - progressAt > 30_000)
          throw new Error(`writer stalled at ${stored} of ${rows.length} events`);
      }
      if (failed !== undefined) throw failed;
      const appended = await shard.done;
      if (appended.appended !== rows.length || appended.durable !== rows.length)
        throw new Error(`shard side appended ${appended.appended}, durable ${appended.durable}`);
      storage.events.compact();
    });
    if (stored !== rows.length) throw new Error(`stored ${stored} of ${rows.length}`);
    return seconds;
  } finally {
    await shard.stop();
    await storage.close();
    await coordination.close();
  }
}

export async function run(): Promise<void> {
  const rows = dataset();
  const redis = await RedisServer.start();
  const tmp = tempDir('guildhall-bench-ingest-');
  console.log(
    `ingest: ${EVENTS} events, pipeline (${INLINE_SHARD ? 'same thread' : 'worker thread'}) → Redis event log → writer → SQLite vs raw inserts (${WRITER_BATCH} per transaction), ${ROUNDS} rounds`,
  );
  const e2e: number[] = [];
  const base: number[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      base.push(await timed(() => rawInsert(tmp.file(`raw-${r}.sqlite`), rows, WRITER_BATCH)));
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
