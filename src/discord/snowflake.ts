/** Discord's epoch (2015-01-01T00:00:00Z): snowflakes count milliseconds from it in their top 42 bits. */
export const DISCORD_EPOCH = 1_420_070_400_000;

/**
 * The creation time (ms since the Unix epoch) a Discord snowflake encodes.
 *
 * @example
 * snowflakeTime('175928847299117063'); // 1462015105796
 */
export function snowflakeTime(id: string): number {
  return Number(BigInt(id) >> 22n) + DISCORD_EPOCH;
}

/**
 * Discord's routing rule: `shard_id = (guild_id >> 22) % num_shards` (DMs go to shard 0).
 *
 * @example
 * shardForGuild('81384788765712384', 4); // 2
 */
export function shardForGuild(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(Math.max(1, shardCount)));
}
