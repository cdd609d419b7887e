// The analytics questions the raw events used to answer — top members, command usage, retention cohorts —
// now answered from the member/command rollups (plus the partial days at a range's ends from the raw
// partitions), against plain better-sqlite3 scanning every event of the range from the month partitions
// (the queries the rollups replaced), on the same file, same run, for a guild with 1M events over 30 days.
// Each answer is checked equal to the raw one before it is timed. These are the uncached costs: what one
// dashboard request holds the api pod's event loop for after its cache entry was invalidated.
//
// Last line: `RESULT analytics ratio=<geometric mean of raw/rollup time> top_members=… commands=… retention=…`.
import { isDeepStrictEqual } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { AnalyticsQueries } from '../src/api/analytics-queries.js';
import { openStorage } from '../src/storage/index.js';
import { DAY_MS, HOUR_MS } from '../src/storage/partitions.js';
import { cohortCounts, cohortsFromRows, rawAnalytics } from '../tests/helpers/analytics-reference.js';
import { tempDir } from '../tests/helpers/temp.js';
import { guildEvents } from './_guild-events.js';
import { median, result, timed } from './_util.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const ROUNDS = 5;
const GUILD = '1100000000000000001';

export async function run(): Promise<void> {
  const tmp = tempDir('guildhall-bench-analytics-');
  try {
    const storage = openStorage(
      { dataDir: tmp.path, databaseFile: 'a.sqlite', busyTimeoutMs: 1000 },
      { migrate: true },
    );
    const now = Date.now();
    console.log(`analytics: ingesting ${EVENTS.toLocaleString()} events of one guild over 30 days…`);
    const all = guildEvents(EVENTS, now, GUILD);
    for (let i = 0; i < all.length; i += 1000) storage.events.ingest(all.slice(i, i + 1000));
    storage.events.compact();
    const q = new AnalyticsQueries(storage.sqlite, storage.events);
    const bare = new BetterSqlite3(storage.file, { readonly: true });
    const raw = rawAnalytics(bare);
    // The API's default range: the last 30 days, to the end of the current hour.
    const toMs = now - (now % HOUR_MS) + HOUR_MS;
    const r = { fromMs: toMs - 30 * DAY_MS, toMs };
    const week = 7 * DAY_MS;
    const cases = {
      top_members: {
        rollup: () => q.topMembers(GUILD, r, 10),
        raw: () => raw.topMembers(GUILD, r, 10),
      },
      commands: {
        rollup: () => q.commands(GUILD, r, 10).commands,
        raw: () => raw.commands(GUILD, r, 10),
      },
      retention: {
        rollup: () => cohortCounts(q.retention(GUILD, r, week, now)),
        raw: () => cohortsFromRows(raw.retentionRows(GUILD, r, now), r, week, now),
      },
    };
    const speedups: Record<string, number> = {};
    for (const [name, c] of Object.entries(cases)) {
      const a = c.rollup();
      const b = c.raw();
      if (!isDeepStrictEqual(a, b))
        throw new Error(
          `${name}: rollup answer differs from the raw scan:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`,
        );
      const rollupMs: number[] = [];
      const rawMs: number[] = [];
      for (let k = 0; k < ROUNDS; k++) {
        rawMs.push((await timed(c.raw)) * 1000);
        rollupMs.push((await timed(c.rollup)) * 1000);
      }
      speedups[name] = median(rawMs) / median(rollupMs);
      console.log(
        `  ${name.padEnd(12)} raw scan ${median(rawMs).toFixed(1)} ms, rollups ${median(rollupMs).toFixed(1)} ms (${speedups[name]!.toFixed(1)}× faster)`,
      );
    }
    bare.close();
    await storage.close();
    const values = Object.values(speedups);
    const geomean = Math.exp(values.reduce((s, v) => s + Math.log(v), 0) / values.length);
    result('analytics', { ratio: geomean, ...speedups });
  } finally {
    tmp.cleanup();
  }
}
