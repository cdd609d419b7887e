// The shard side of bench/ingest.ts: an EventPipeline appending activity events to the Redis event log,
// as a shard pod does. By default it runs in a worker thread, so that it has a core of its own the way a
// shard pod has a process of its own in a deployment (BENCH_SHARD=inline runs it on the writer's thread).
// It connects with the keyPrefix and log name the writer uses, appends every row once told to start,
// closes the pipeline (flushing everything) and reports what it appended.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createCoordination } from '../src/coordination/index.js';
import { silentLogger } from '../src/logging/logger.js';
import { EventPipeline, type ShardEvent, checkpointKey } from '../src/shard/event-pipeline.js';
import type { ActivityEvent } from '../src/storage/index.js';

/** What the shard side needs: where the log is, the lease epoch its events carry, the rows. */
export interface ShardSideData {
  readonly redisUrl: string;
  readonly keyPrefix: string;
  readonly logName: string;
  readonly epoch: number;
  readonly rows: readonly ActivityEvent[];
}

/** What the shard side reports: events appended and the durable checkpoint seq it reached. */
export interface ShardSideResult {
  readonly appended: number;
  readonly durable: number;
}

/**
 * Connects, then awaits `ready()` (the go signal), appends `rows` (yielding every 5,000 pushes so the
 * appends run), closes the pipeline and returns what landed.
 */
export async function runShardSide(
  data: ShardSideData,
  ready: () => Promise<void>,
): Promise<ShardSideResult> {
  const coordination = await createCoordination({
    redisUrl: data.redisUrl,
    keyPrefix: data.keyPrefix,
    log: silentLogger(),
  });
  try {
    const pipeline = new EventPipeline(coordination.eventLog<ShardEvent>(data.logName), silentLogger());
    const key = checkpointKey(1, 0);
    let durable = 0;
    pipeline.track(key, { sessionId: 's', seq: 0 }, (seq) => (durable = seq));
    await ready();
    const { rows, epoch } = data;
    for (let i = 0; i < rows.length; i++) {
      pipeline.push(key, i + 1, { event: rows[i]!, shardId: 0, generation: 1, epoch });
      pipeline.processed(key, i + 1);
      if (i % 5000 === 4999) await new Promise((r) => setImmediate(r));
    }
    await pipeline.close();
    return { appended: rows.length - pipeline.buffered, durable };
  } finally {
    await coordination.close();
  }
}

/** Messages between bench/ingest.ts and the worker. */
export type ShardWorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'start' }
  | ({ readonly type: 'done' } & ShardSideResult)
  | { readonly type: 'failed'; readonly error: string };

if (!isMainThread && parentPort) {
  const port = parentPort;
  const ready = () =>
    new Promise<void>((resolve) => {
      port.once('message', () => resolve());
      port.postMessage({ type: 'ready' } satisfies ShardWorkerMessage);
    });
  runShardSide(workerData as ShardSideData, ready).then(
    (r) => port.postMessage({ type: 'done', ...r } satisfies ShardWorkerMessage),
    (err: unknown) =>
      port.postMessage({
        type: 'failed',
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      } satisfies ShardWorkerMessage),
  );
}
