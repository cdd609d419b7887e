/** UTC month partition naming and arithmetic for `events_YYYY_MM` tables. */

const MONTH_RE = /^(\d{4})_(\d{2})$/;

/** `'2026_11'` for a timestamp in November 2026 (UTC). */
export function monthKey(ts: number): string {
  const d = new Date(ts);
  const m = d.getUTCMonth() + 1;
  return `${d.getUTCFullYear()}_${m < 10 ? '0' : ''}${m}`;
}

/** `events_2026_11` for month `2026_11`. */
export function partitionTable(month: string): string {
  if (!MONTH_RE.test(month)) throw new RangeError(`bad month key: ${month}`);
  return `events_${month}`;
}

/** First millisecond of the month and first millisecond of the next one. */
export function monthBounds(month: string): { startMs: number; endMs: number } {
  const m = MONTH_RE.exec(month);
  if (!m) throw new RangeError(`bad month key: ${month}`);
  const y = Number(m[1]);
  const mo = Number(m[2]) - 1;
  return { startMs: Date.UTC(y, mo, 1), endMs: Date.UTC(y, mo + 1, 1) };
}

/** Every month key from the month of `fromMs` to the month of `toMs` (inclusive), in order. */
export function monthsBetween(fromMs: number, toMs: number): string[] {
  if (toMs < fromMs) return [];
  const out: string[] = [];
  const d = new Date(fromMs);
  let y = d.getUTCFullYear();
  let mo = d.getUTCMonth();
  const last = monthKey(toMs);
  for (;;) {
    const key = monthKey(Date.UTC(y, mo, 1));
    out.push(key);
    if (key === last) return out;
    mo += 1;
    if (mo === 12) {
      mo = 0;
      y += 1;
    }
  }
}

/** Start of the UTC hour / day containing `ts`. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const hourStart = (ts: number): number => ts - (ts % HOUR_MS);
export const dayStart = (ts: number): number => ts - (ts % DAY_MS);

/** A time range `[fromMs, toMs)`. */
export interface TimeRange {
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * Splits `[fromMs, toMs)` into the whole UTC days inside it (`days`, answered from daily rollups) and the
 * partial days at its ends (`edges`, at most a day each, answered from finer data: hourly rollups or the
 * raw partitions). A range without a whole day is one edge.
 *
 * @example
 * splitDays({ fromMs: 6 * HOUR_MS, toMs: 2 * DAY_MS + HOUR_MS });
 * // { days: { fromMs: DAY_MS, toMs: 2 * DAY_MS }, edges: [{ fromMs: 6 * HOUR_MS, toMs: DAY_MS }, { fromMs: 2 * DAY_MS, toMs: 2 * DAY_MS + HOUR_MS }] }
 */
export function splitDays(r: TimeRange): { days: TimeRange | null; edges: TimeRange[] } {
  const firstDay = Math.ceil(r.fromMs / DAY_MS) * DAY_MS;
  const lastDay = Math.floor(r.toMs / DAY_MS) * DAY_MS;
  if (firstDay >= lastDay) return { days: null, edges: r.toMs > r.fromMs ? [r] : [] };
  const edges: TimeRange[] = [];
  if (r.fromMs < firstDay) edges.push({ fromMs: r.fromMs, toMs: firstDay });
  if (lastDay < r.toMs) edges.push({ fromMs: lastDay, toMs: r.toMs });
  return { days: { fromMs: firstDay, toMs: lastDay }, edges };
}
