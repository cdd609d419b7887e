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
