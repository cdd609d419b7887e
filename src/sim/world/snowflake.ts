import { DISCORD_EPOCH, shardForGuild, snowflakeTime } from '../../discord/snowflake.js';
/**
 * Discord snowflakes: `(ms since 2015-01-01) << 22 | worker << 17 | process << 12 | increment`.
 * See https://discord.com/developers/docs/reference#snowflakes.
 */

/**
 * Milliseconds of the Discord epoch (2015-01-01T00:00:00Z).
 *
 * @example
 * snowflakeTimestamp(snowflakeFrom(DISCORD_EPOCH, 0, 0, 0)) === DISCORD_EPOCH; // true
 */
export { DISCORD_EPOCH } from '../../discord/snowflake.js';

/**
 * Builds a snowflake from its parts.
 *
 * @example
 * snowflakeFrom(Date.now(), 1, 0, 7); // '1234…'
 */
export function snowflakeFrom(timestampMs: number, worker: number, proc: number, increment: number): string {
  const ms = BigInt(Math.max(0, Math.floor(timestampMs) - DISCORD_EPOCH));
  const id =
    (ms << 22n) | (BigInt(worker & 31) << 17n) | (BigInt(proc & 31) << 12n) | BigInt(increment & 4095);
  return id.toString();
}

/**
 * Unix milliseconds encoded in a snowflake, or NaN when it is not a snowflake.
 *
 * @example
 * snowflakeTimestamp('175928847299117063'); // 1462015105796
 */
export function snowflakeTimestamp(id: string): number {
  if (!isSnowflake(id)) return Number.NaN;
  return snowflakeTime(id);
}

/**
 * True for a decimal string that fits a snowflake (what Discord accepts as an id).
 *
 * @example
 * isSnowflake('123'); // true
 * isSnowflake('abc'); // false
 */
export function isSnowflake(value: unknown): value is string {
  return typeof value === 'string' && /^\d{1,20}$/.test(value) && BigInt(value) < 1n << 64n;
}

/**
 * Shard of a guild: `(guild_id >> 22) % num_shards`.
 *
 * @example
 * shardOf('81384788765712384', 4); // 0..3
 */
export function shardOf(guildId: string, numShards: number): number {
  return shardForGuild(guildId, numShards);
}

/**
 * Issues unique snowflakes for new objects at the current (or a given) time.
 *
 * @example
 * const ids = new SnowflakeGenerator(() => Date.now());
 * ids.next(); // a fresh id
 */
export class SnowflakeGenerator {
  private lastMs = -1;
  private increment = 0;

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly worker = 31,
  ) {}

  /** A new id stamped now (strictly increasing). */
  next(): string {
    let ms = this.clock();
    if (ms <= this.lastMs) {
      if (this.increment >= 4095) {
        ms = this.lastMs + 1;
        this.increment = 0;
      } else {
        ms = this.lastMs;
        this.increment += 1;
      }
    } else {
      this.increment = 0;
    }
    this.lastMs = ms;
    return snowflakeFrom(ms, this.worker, 1, this.increment);
  }

  /** A new id stamped at a given time (for back-dated scenario messages); unique but not ordered. */
  at(timestampMs: number): string {
    this.increment = (this.increment + 1) & 4095;
    return snowflakeFrom(timestampMs, this.worker, 2, this.increment);
  }
}
