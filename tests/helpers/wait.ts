/**
 * Polls `cond` until it holds; returns the milliseconds it took. Throws, naming `what`, after `timeoutMs`.
 *
 * @example
 * const ms = await waitUntil('12 connected shards', () => connected().length === 12, 60_000);
 */
export async function waitUntil(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<number> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return Date.now() - start;
}

/**
 * Polls `probe` until it returns a value (not undefined) and resolves with it.
 *
 * @example
 * const row = await waitForValue('the message row', () => db.prepare(sql).get(), 10_000);
 */
export async function waitForValue<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  let value: T | undefined;
  await waitUntil(what, async () => (value = await probe()) !== undefined, timeoutMs, intervalMs);
  return value as T;
}
