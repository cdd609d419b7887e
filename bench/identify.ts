// Identify throughput of the shared identify queue on simulated time.
//
// 1,000 shards, max_concurrency 16, spread over 8 simulated pods (125 contiguous shards each, as a
// StatefulSet with shardsPerPod = 125 would hold them); every pod calls waitForIdentify for all its
// shards at once. All pods share one MemoryHub (the in-process stand-in for Redis, same rules as the
// Redis queue) and one SimulatedClock, so the 5 s windows cost no real time.
//
// Ideal: ceil(1000 / 16) = 63 identifies per bucket, one per 5 s window → 63 × 5 s = 315 s. Actual:
// the start of the last identify plus its window (the moment the last bucket's last window closes).
//
// Baseline, same run: the bare library's behaviour, a per-process throttler (@discordjs/ws
// SimpleIdentifyThrottler keeps its buckets in process memory), i.e. one hub per pod. It finishes
// sooner because the 8 pods ignore each other — and every identify that lands in a bucket another pod
// used less than 5 s earlier is one Discord answers with INVALID_SESSION (op 9).
import { SimulatedClock } from '../src/coordination/clock.js';
import type { Coordination } from '../src/coordination/coordination.js';
import { MemoryHub, createMemoryCoordination } from '../src/coordination/memory/index.js';
import { silentLogger } from '../src/logging/logger.js';

const SHARDS = 1_000;
const MAX_CONCURRENCY = 16;
const PODS = 8;
const WINDOW_MS = 5_000;

interface Outcome {
  readonly seconds: number;
  readonly violations: number;
  readonly identifies: number;
  readonly wallMs: number;
}

async function simulate(shared: boolean): Promise<Outcome> {
  const clock = new SimulatedClock(0);
  const random = mulberry32(42);
  const sharedHub = new MemoryHub(clock);
  const pods: Coordination[] = Array.from({ length: PODS }, () =>
    createMemoryCoordination({
      hub: shared ? sharedHub : new MemoryHub(clock),
      log: silentLogger(),
      identify: { windowMs: WINDOW_MS },
      random,
    }),
  );
  // A large bot's budget (Discord raises session_start_limit.total for big bots).
  const limit = {
    total: 2_000,
    remaining: 2_000,
    reset_after: 24 * 3_600_000,
    max_concurrency: MAX_CONCURRENCY,
  };
  for (const pod of pods) await pod.identify.sync(limit);

  const grants: { shard: number; at: number }[] = [];
  const perPod = Math.ceil(SHARDS / PODS);
  const started = performance.now();
  const all = Promise.all(
    pods.map((pod, p) => {
      const shards = Array.from({ length: perPod }, (_, i) => p * perPod + i).filter((s) => s < SHARDS);
      return Promise.all(
        shards.map((shard) =>
          pod.identify
            .waitForIdentify(shard, new AbortController().signal)
            .then(() => grants.push({ shard, at: clock.now() })),
        ),
      );
    }),
  );
  await clock.run(all);
  const wallMs = performance.now() - started;
  await Promise.all(pods.map((p) => p.close()));

  let violations = 0;
  for (let b = 0; b < MAX_CONCURRENCY; b++) {
    const times = grants
      .filter((g) => g.shard % MAX_CONCURRENCY === b)
      .map((g) => g.at)
      .sort((x, y) => x - y);
    for (let i = 1; i < times.length; i++) if (times[i]! - times[i - 1]! < WINDOW_MS) violations++;
  }
  const last = Math.max(...grants.map((g) => g.at));
  return { seconds: (last + WINDOW_MS) / 1000, violations, identifies: grants.length, wallMs };
}

/** Runs the identify benchmark; the last line is `RESULT identify ratio=<ideal/actual> seconds=<simulated>`. */
export async function run(): Promise<void> {
  const ideal = (Math.ceil(SHARDS / MAX_CONCURRENCY) * WINDOW_MS) / 1000;
  console.log(
    `identify bench: ${SHARDS} shards, max_concurrency ${MAX_CONCURRENCY}, ${PODS} pods, window ${WINDOW_MS / 1000} s, ideal ${ideal} s`,
  );

  const baseline = await simulate(false);
  console.log(
    `baseline (per-process throttler, like @discordjs/ws SimpleIdentifyThrottler): ${baseline.seconds.toFixed(1)} s simulated, ` +
      `${baseline.violations} identifies inside another pod's 5 s bucket window (op 9 INVALID_SESSION each), ` +
      `wall ${baseline.wallMs.toFixed(0)} ms`,
  );

  const shared = await simulate(true);
  if (shared.identifies !== SHARDS)
    throw new Error(`only ${shared.identifies} of ${SHARDS} shards identified`);
  if (shared.violations !== 0)
    throw new Error(`shared queue broke the bucket rule ${shared.violations} times`);
  const ratio = ideal / shared.seconds;
  console.log(
    `shared queue (guildhall IdentifyQueue, memory backend): ${shared.seconds.toFixed(3)} s simulated, ` +
      `${shared.violations} violations, wall ${shared.wallMs.toFixed(0)} ms`,
  );
  console.log(`RESULT identify ratio=${ratio.toFixed(4)} seconds=${shared.seconds.toFixed(3)}`);
}

/** Small seeded PRNG so every run simulates the same jitter. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
