import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import { isoTime, snowflake } from '../../domain/schemas.js';
import { BUCKET_MS, type Bucket, type Range } from '../analytics-queries.js';

/**
 * `:guildId` path params.
 *
 * @example
 * params: guildParams.extend({ cog: z.string() }),
 */
export const guildParams = z.strictObject({ guildId: snowflake });

/**
 * Optional `from`/`to` query fields (ISO timestamps).
 *
 * @example
 * query: z.strictObject({ ...rangeShape, ...bucketShape }),
 */
export const rangeShape = {
  from: isoTime.optional().meta({ description: 'Start (inclusive, ISO 8601). Default: `to` − 30 days' }),
  to: isoTime.optional().meta({ description: 'End (exclusive, ISO 8601). Default: now' }),
};

/**
 * `bucket=hour|day`.
 *
 * @example
 * query: z.strictObject({ ...rangeShape, ...bucketShape }),
 */
export const bucketShape = {
  bucket: z
    .enum(['hour', 'day'])
    .default('day')
    .meta({ description: 'Bucket width (hour: ranges up to 31 days)' }),
};

const DAY = 86_400_000;

/**
 * Turns optional `from`/`to` into an aligned range: defaults to the last `defaultDays`, `from` rounded down
 * and `to` up to the bucket, `from < to` (else `400 invalid_range`), span at most `maxDays` (else
 * `400 range_too_large`).
 *
 * @example
 * const r = resolveRange(query, Date.now(), { bucket: 'day', maxDays: 400 });
 */
export function resolveRange(
  q: { from?: string; to?: string },
  nowMs: number,
  o: { bucket: Bucket; maxDays: number; defaultDays?: number },
): Range {
  const step = BUCKET_MS[o.bucket];
  const to = q.to !== undefined ? Date.parse(q.to) : nowMs;
  const from = q.from !== undefined ? Date.parse(q.from) : to - (o.defaultDays ?? 30) * DAY;
  if (!(from < to)) throw new AppError(400, 'invalid_range', '`from` must be before `to`');
  const fromMs = Math.floor(from / step) * step;
  const toMs = Math.ceil(to / step) * step;
  if (toMs - fromMs > o.maxDays * DAY + step) {
    throw new AppError(400, 'range_too_large', `The range may span at most ${o.maxDays} days here`, {
      maxDays: o.maxDays,
    });
  }
  if (fromMs < 0) throw new AppError(400, 'invalid_range', '`from` is before 1970');
  return { fromMs, toMs };
}
