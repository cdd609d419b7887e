// Storage `ingest()` (validation, month routing, duplicate detection, hourly/daily rollups and daily active
// users, all in the batch's transaction) against raw better-sqlite3 prepared inserts of the same rows into
// the same table shape, one transaction per batch, same run. Rounds alternate to spread machine noise.
import { openStorage } from '../src/storage/index.js';
import { EventStore } from '../src/storage/events.js';
import { EVENT_KINDS, eventId, type ActivityEvent } from '../src/storage/index.js';
import { tempDir } from '../tests/helpers/temp.js';
import { rawInsert } from './_raw-sqlite.js';
import { median, result, timed } from './_util.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const BATCH = 1000;
const ROUNDS = 3;

/**
 * Two shapes of the same size. `live`: what the writer sees from a running bot — events in arrival order at
 * ~60 events/s over about an hour, guilds, channels and users Zipf-skewed (a few busy guilds and channels
 * produce most traffic, as in real communities). `uniform`: the worst case for rollups — every event in
 * its own guild/channel/user cell, 20 days of traffic, so almost every row opens new rollup keys.
 */
function dataset(shape: 'live' | 'uniform'): ActivityEvent[] {
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  // Inverse-CDF sampling of a Zipf(s≈1) distribution over n items.
  const zipf = (n: number) => Math.min(n - 1, Math.floor(Math.exp(rnd() * Math.log(n + 1))) - 1);
  const start = Date.UTC(2026, 10, 1);
  const spanMs = shape === 'live' ? Math.round((ROWS / 60) * 1000) : 20 * 86_400_000;
  const out: ActivityEvent[] = [];
  for (let i = 0; i < ROWS; i++) {
    const ts = start + Math.floor((i / ROWS) * spanMs);
    const g = shape === 'live' ? zipf(2000) : Math.floor(rnd() * 50);
    const c = shape === 'live' ? zipf(50) : Math.floor(rnd() * 20);
    const u = shape === 'live' ? zipf(5000) : Math.floor(rnd() * 10_000);
    const kind = rnd() < 0.8 ? 'message' : EVENT_KINDS[Math.floor(rnd() * EVENT_KINDS.length)]!;
    out.push({
      id: eventId(ts, `bench:${i}`),
      ts,
      guildId: String(1_100_000_000_000_000_000n + BigInt(g)),
      channelId: String(1_200_000_000_000_000_000n + BigInt(g * 100 + c)),
      userId: String(1_300_000_000_000_000_000n + BigInt(g * 10_000 + u)),
      kind,
      ...(kind === 'message' ? { attrs: { len: Math.floor(rnd() * 200) } } : {}),
    });
  }
  return out;
}

async function storageRun(dir: string, rows: readonly ActivityEvent[], rollups: boolean): Promise<void> {
  const storage = openStorage(
    { dataDir: dir, databaseFile: `s-${rollups}-${Math.random()}.sqlite`, busyTimeoutMs: 1000 },
    { migrate: true },
  );
  const events = rollups ? storage.events : new EventStore(storage.sqlite, { rollups: false });
  for (let i = 0; i < rows.length; i += BATCH) {
    const r = events.ingest(rows.slice(i, i + BATCH));
    if (r.inserted !== Math.min(BATCH, rows.length - i))
      throw new Error(`lost rows: ${JSON.stringify(r).slice(0, 200)}`);
  }
  events.compact(); // the deferred half of the rollup work is part of the cost
  if (events.pendingRollupBatches !== 0) throw new Error('rollup deltas left behind');
  await storage.close();
}

async function measure(shape: 'live' | 'uniform', tmp: ReturnType<typeof tempDir>) {
  const rows = dataset(shape);
  const raw: number[] = [];
  const full: number[] = [];
  const bare: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    raw.push(await timed(() => rawInsert(tmp.file(`raw-${shape}-${r}.sqlite`), rows)));
    full.push(await timed(() => storageRun(tmp.path, rows, true)));
    bare.push(await timed(() => storageRun(tmp.path, rows, false)));
    console.log(
      `  ${shape} round ${r + 1}: raw ${(ROWS / raw[r]!).toFixed(0)} rows/s, storage ${(ROWS / full[r]!).toFixed(0)} rows/s, w/o rollups ${(ROWS / bare[r]!).toFixed(0)} rows/s`,
    );
  }
  const rawRate = ROWS / median(raw);
  const storageRate = ROWS / median(full);
  const bareRate = ROWS / median(bare);
  console.log(
    `  ${shape} median: raw ${rawRate.toFixed(0)}, storage ${storageRate.toFixed(0)} (ratio ${(storageRate / rawRate).toFixed(3)}), w/o rollups ${bareRate.toFixed(0)} (ratio ${(bareRate / rawRate).toFixed(3)}) rows/s`,
  );
  return { rawRate, storageRate };
}

export async function run(): Promise<void> {
  const tmp = tempDir('guildhall-bench-');
  console.log(
    `ingest-sqlite: ${ROWS} events, batches of ${BATCH}, ${ROUNDS} rounds each of raw, storage, storage without rollups`,
  );
  try {
    const uniform = await measure('uniform', tmp);
    console.log(
      `  uniform (worst case for rollups) ratio=${(uniform.storageRate / uniform.rawRate).toFixed(3)}`,
    );
    const live = await measure('live', tmp);
    result('ingest-sqlite', {
      ratio: live.storageRate / live.rawRate,
      rows_per_s: Math.round(live.storageRate),
    });
  } finally {
    tmp.cleanup();
  }
}
