import type { ChainableCommander, Redis } from 'ioredis';

// Lua scripts: every multi-step decision happens atomically inside Redis. Time is Redis server time
// (TIME), so all pods agree on expiry regardless of their own clocks. Numbers are formatted with %d
// (Lua 5.1 numbers are doubles; millisecond timestamps are exact well beyond 2^40).

const NOW = `
local __t = redis.call('TIME')
local now = tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000)
`;

// A lease field value is "epoch|expiresAt|holder".
const PARSE = `
local function parse(v)
  if not v then return nil end
  local e, x, h = string.match(v, '^(%d+)|(%d+)|(.*)$')
  return { e = e, x = tonumber(x), h = h }
end
`;

/**
 * The scripts, by command name: number of KEYS and source.
 *
 * @example
 * redis.defineCommand('leaseFence', { numberOfKeys: SCRIPTS.leaseFence.keys, lua: SCRIPTS.leaseFence.lua });
 */
export const SCRIPTS = {
  // KEYS: leases, epochs. ARGV: shard, holder, ttlMs. → {epoch, expiresAt} | nil
  leaseAcquire: {
    keys: 2,
    lua: `${NOW}${PARSE}
local cur = parse(redis.call('HGET', KEYS[1], ARGV[1]))
if cur and cur.x > now and cur.h ~= ARGV[2] then return nil end
local prev = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local epoch = math.max(prev + 1, now)
local exp = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], string.format('%d', epoch))
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d|%d|%s', epoch, exp, ARGV[2]))
return { epoch, exp }`,
  },
  // KEYS: leases. ARGV: shard, holder, epoch, ttlMs. → 1 | 0
  leaseRenew: {
    keys: 1,
    lua: `${NOW}${PARSE}
local cur = parse(redis.call('HGET', KEYS[1], ARGV[1]))
if not cur or cur.h ~= ARGV[2] or cur.e ~= ARGV[3] or cur.x <= now then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%s|%d|%s', cur.e, now + tonumber(ARGV[4]), cur.h))
return 1`,
  },
  // KEYS: leases. ARGV: shard, holder, epoch. → 1 (released a live lease) | 0
  leaseRelease: {
    keys: 1,
    lua: `${NOW}${PARSE}
local cur = parse(redis.call('HGET', KEYS[1], ARGV[1]))
if not cur or cur.h ~= ARGV[2] or cur.e ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if cur.x > now then return 1 end
return 0`,
  },
  // KEYS: leases. → flat list shard, value, ... of live leases (expired ones are removed)
  leaseHolders: {
    keys: 1,
    lua: `${NOW}${PARSE}
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local l = parse(all[i + 1])
  if l and l.x > now then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return out`,
  },
  // KEYS: leases. ARGV: shard, epoch. → 1 | 0
  leaseFence: {
    keys: 1,
    lua: `${NOW}${PARSE}
local cur = parse(redis.call('HGET', KEYS[1], ARGV[1]))
if cur and cur.e == ARGV[2] and cur.x > now then return 1 end
return 0`,
  },
  // KEYS: session, leases. ARGV: shard, epoch, json ('' deletes), ttlMs. → 1 written | 0 refused
  sessionFencedWrite: {
    keys: 2,
    lua: `${NOW}${PARSE}
local cur = parse(redis.call('HGET', KEYS[2], ARGV[1]))
if not cur or cur.e ~= ARGV[2] or cur.x <= now then return 0 end
if ARGV[3] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4]) end
return 1`,
  },
  // KEYS: bucket, budget, total. ARGV: windowMs, reserve, assumedResetMs.
  // → {0} acquired | {1, waitMs} | {2, remaining, resetAfterMs} refused
  identifyTry: {
    keys: 3,
    lua: `
local pttl = redis.call('PTTL', KEYS[1])
if pttl > 0 then return { 1, pttl } end
local rem = redis.call('HGET', KEYS[2], 'remaining')
if not rem then
  local total = redis.call('GET', KEYS[3])
  if total then
    redis.call('HSET', KEYS[2], 'remaining', total, 'total', total)
    redis.call('PEXPIRE', KEYS[2], ARGV[3])
    rem = total
  end
end
if rem then
  rem = tonumber(rem)
  if rem - 1 < tonumber(ARGV[2]) then return { 2, rem, redis.call('PTTL', KEYS[2]) } end
  redis.call('HINCRBY', KEYS[2], 'remaining', -1)
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return { 0 }`,
  },
  // KEYS: budget, total. ARGV: remaining, total, resetAfterMs.
  identifySync: {
    keys: 2,
    lua: `
local rem = tonumber(ARGV[1])
local cur = redis.call('HGET', KEYS[1], 'remaining')
if cur and tonumber(cur) < rem then rem = tonumber(cur) end
redis.call('HSET', KEYS[1], 'remaining', rem, 'total', ARGV[2])
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(ARGV[3])))
redis.call('SET', KEYS[2], ARGV[2])
return rem`,
  },
  // KEYS: value, tagVersion... → {value|false, version...}
  cacheRead: {
    keys: -1,
    lua: `
local out = { redis.call('GET', KEYS[1]) }
for i = 2, #KEYS do out[i] = redis.call('GET', KEYS[i]) or '0' end
return out`,
  },
  // KEYS: value, tagSet x n, tagVersion x n. ARGV: json, ttlMs, n, stamp ('' = unconditional). → 1 | 0
  cacheWrite: {
    keys: -1,
    lua: `
local n = tonumber(ARGV[3])
if ARGV[4] ~= '' then
  local v = {}
  for i = 1, n do v[i] = redis.call('GET', KEYS[1 + n + i]) or '0' end
  if table.concat(v, ',') ~= ARGV[4] then return 0 end
end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = 1, n do
  redis.call('SADD', KEYS[1 + i], KEYS[1])
  if redis.call('PTTL', KEYS[1 + i]) < ttl then redis.call('PEXPIRE', KEYS[1 + i], ttl) end
end
return 1`,
  },
  // KEYS: tagSet, tagVersion. ARGV: versionTtlMs. → keys removed
  cacheInvalidate: {
    keys: 2,
    lua: `
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
local members = redis.call('SMEMBERS', KEYS[1])
local n = 0
for _, k in ipairs(members) do n = n + redis.call('DEL', k) end
redis.call('DEL', KEYS[1])
return n`,
  },
  // KEYS: plan. ARGV: json, generation, expected ('' = none), channel. → 1 | 0
  planPublish: {
    keys: 1,
    lua: `
local cur = redis.call('HGET', KEYS[1], 'generation')
if ARGV[3] == '' then
  if cur then return 0 end
else
  if not cur or tonumber(cur) ~= tonumber(ARGV[3]) then return 0 end
  if tonumber(ARGV[2]) < tonumber(cur) then return 0 end
end
redis.call('HSET', KEYS[1], 'generation', ARGV[2], 'plan', ARGV[1])
redis.call('PUBLISH', ARGV[4], ARGV[1])
return 1`,
  },
  // KEYS: window zset, header state. ARGV: limit, windowMs, member. → 0 granted | wait ms
  rateAcquire: {
    keys: 2,
    lua: `${NOW}
local rem = redis.call('HGET', KEYS[2], 'remaining')
if rem then
  local pttl = redis.call('PTTL', KEYS[2])
  if pttl > 0 then
    if tonumber(rem) > 0 then
      redis.call('HINCRBY', KEYS[2], 'remaining', -1)
      return 0
    end
    return pttl
  end
end
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)`,
  },
  // KEYS: stream. ARGV: group, id... → acked count. Then trims entries every group has settled.
  logAck: {
    keys: 1,
    lua: `
local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
local minid = nil
local function less(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
for _, g in ipairs(groups) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
    if g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  local p = redis.call('XPENDING', KEYS[1], name)
  local bound
  if p[1] > 0 then
    bound = p[2]
  else
    local ms, seq = string.match(last, '^(%d+)-(%d+)$')
    bound = ms .. '-' .. string.format('%d', tonumber(seq) + 1)
  end
  if not minid or less(bound, minid) then minid = bound end
end
if minid then redis.call('XTRIM', KEYS[1], 'MINID', minid) end
return acked`,
  },
} as const;

/**
 * A script's command name.
 *
 * @example
 * const name: ScriptName = 'leaseAcquire';
 */
export type ScriptName = keyof typeof SCRIPTS;

/**
 * Registers every script as a custom command (EVALSHA with automatic EVAL fallback, also after a
 * Redis restart flushed the script cache).
 *
 * @example
 * defineScripts(redis);
 */
export function defineScripts(redis: Redis): void {
  for (const [name, s] of Object.entries(SCRIPTS)) {
    redis.defineCommand(name, s.keys >= 0 ? { numberOfKeys: s.keys, lua: s.lua } : { lua: s.lua });
  }
}

/**
 * Calls a script on a client or inside a pipeline. Scripts with a variable number of keys
 * (`keys: -1`) get the key count prepended.
 *
 * @example
 * const r = await runScript(redis, 'leaseFence', [k.leases(1)], [3, epoch]);
 */
export function runScript(
  target: Redis | ChainableCommander,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const fn = (target as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[name];
  if (!fn) throw new Error(`script ${name} is not defined on this client (call defineScripts)`);
  const head = SCRIPTS[name].keys >= 0 ? [...keys] : [keys.length, ...keys];
  return fn.call(target, ...head, ...args);
}
