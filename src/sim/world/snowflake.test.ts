import { describe, expect, it } from 'vitest';
import {
  DISCORD_EPOCH,
  isSnowflake,
  shardOf,
  snowflakeFrom,
  SnowflakeGenerator,
  snowflakeTimestamp,
} from './snowflake.js';

describe('snowflakes', () => {
  it('round-trips the timestamp and matches Discord’s documented example', () => {
    expect(snowflakeTimestamp('175928847299117063')).toBe(1462015105796);
    const id = snowflakeFrom(Date.UTC(2024, 5, 1), 3, 1, 7);
    expect(snowflakeTimestamp(id)).toBe(Date.UTC(2024, 5, 1));
    expect(snowflakeTimestamp(snowflakeFrom(DISCORD_EPOCH, 0, 0, 0))).toBe(DISCORD_EPOCH);
  });

  it('validates ids and routes guilds to shards', () => {
    expect(isSnowflake('123')).toBe(true);
    expect(isSnowflake('12a')).toBe(false);
    expect(isSnowflake('99999999999999999999')).toBe(false);
    expect(shardOf('175928847299117063', 4)).toBe(Number((175928847299117063n >> 22n) % 4n));
  });

  it('the generator issues strictly increasing ids, also within one millisecond', () => {
    const gen = new SnowflakeGenerator(() => 1_700_000_000_000);
    const ids = Array.from({ length: 5000 }, () => BigInt(gen.next()));
    for (let i = 1; i < ids.length; i++) expect(ids[i] as bigint).toBeGreaterThan(ids[i - 1] as bigint);
  });
});
