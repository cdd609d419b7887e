/** Shared helpers for benchmarks: timing, medians, and the final RESULT line. */

/** Runs `fn` and returns elapsed seconds (high-resolution). */
export async function timed(fn: () => unknown | Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Prints the last line every benchmark ends with: `RESULT <name> k=v …`. */
export function result(name: string, values: Record<string, number | string>): void {
  const kv = Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`)
    .join(' ');
  console.log(`RESULT ${name} ${kv}`);
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3);
}
