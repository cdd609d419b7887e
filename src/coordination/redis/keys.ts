/**
 * Every Redis key and channel name the coordination layer uses, under one prefix. Lua scripts get all
 * keys they touch through KEYS.
 *
 * @example
 * const k = redisKeys('guildhall:');
 * k.leases(3); // 'guildhall:lease:3'
 */
export function redisKeys(prefix: string) {
  return {
    leases: (generation: number) => `${prefix}lease:${generation}`,
    epochs: (generation: number) => `${prefix}lease-epoch:${generation}`,
    identifyBucket: (bucket: number) => `${prefix}identify:bucket:${bucket}`,
    identifyBudget: () => `${prefix}identify:budget`,
    identifyTotal: () => `${prefix}identify:total`,
    session: (shardCount: number, shardId: number) => `${prefix}session:${shardCount}:${shardId}`,
    stream: (name: string) => `${prefix}log:${name}`,
    cacheValue: (key: string) => `${prefix}cache:v:${key}`,
    cacheTag: (tag: string) => `${prefix}cache:tag:${tag}`,
    cacheTagVersion: (tag: string) => `${prefix}cache:tagv:${tag}`,
    channel: (name: string) => `${prefix}ps:${name}`,
    plan: () => `${prefix}plan`,
    rateWindow: (bucket: string) => `${prefix}rl:w:${bucket}`,
    rateState: (bucket: string) => `${prefix}rl:s:${bucket}`,
    invalidSlice: (slice: number) => `${prefix}rl:invalid:${slice}`,
    claim: (key: string) => `${prefix}claim:${key}`,
  };
}

/**
 * The key builder {@link redisKeys} returns.
 *
 * @example
 * const keys: RedisKeys = redisKeys('guildhall:');
 */
export type RedisKeys = ReturnType<typeof redisKeys>;
