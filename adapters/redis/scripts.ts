/**
 * The Lua twins of the pure steps in src/rate-limit/algorithms.ts. Each script mirrors its step line by
 * line, with the same integer arithmetic on doubles (Lua 5.1 numbers are doubles, like JavaScript's, and
 * every value stays below 2^53 exactly as in the TypeScript), the same `floorDiv` correction steps, and the
 * same evaluation order, so the differential tests can demand identical decisions.
 *
 * Calling convention (all scripts):
 *   ARGV[1] nowUs: -1 to read Redis `TIME` (production), or an explicit time in µs (the test-only path)
 *   ARGV[2] the time origin in epoch seconds: nowUs = (TIME.sec - origin) * 1e6 + TIME.usec
 *   ARGV[3] cost, ARGV[4] '1' when the take writes (allowed, consume and cost > 0 decided by the step)
 *   ARGV[5..] the algorithm's integer configuration
 * Reply: { allowed (0/1), never (0/1), remaining, waitUs, fullUs }: a StepResult's decision fields.
 *
 * State encodings (fresh state = absent key = all zeros, as in the steps):
 *   token bucket: a string "deficit lastUs"; GCRA: a string "tat"; counter: "index prev cur";
 *   sliding log: a ZSET of "timeUs:seq:cost" members scored by timeUs, plus a string key with their total.
 * Every write sets a TTL of ceil(fullUs / 1000) ms (>= 1: an allowed write always leaves fullUs > 0), so a
 * key disappears when its state is back to full. Numbers are written with `%.0f` (exact for integers below
 * 2^53), never with Lua's `tostring`, which keeps only 14 significant digits.
 */

/** floorDiv/ceilDiv/fmt exactly as algorithms.ts has them (exported for a direct test). */
export const LUA_ARITHMETIC = `
local function floorDiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then return q - 1 end
  if (q + 1) * b <= a then return q + 1 end
  return q
end
local function ceilDiv(a, b)
  return floorDiv(a + b - 1, b)
end
local function fmt(n)
  return string.format('%.0f', n)
end
`;

const PRELUDE = `${LUA_ARITHMETIC}
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = (tonumber(t[1]) - tonumber(ARGV[2])) * 1000000 + tonumber(t[2])
  if now < 0 then
    return redis.error_reply('ERR weir: the Redis clock is before timeOriginSeconds')
  end
end
local cost = tonumber(ARGV[3])
local write = ARGV[4] == '1'
`;

/** ARGV[5..8]: capacity, unitsPerToken, unitsPerUs, capacityUnits. KEYS[1]: "deficit lastUs". */
export const TOKEN_BUCKET_LUA = `${PRELUDE}
local capacity = tonumber(ARGV[5])
local unitsPerToken = tonumber(ARGV[6])
local unitsPerUs = tonumber(ARGV[7])
local capacityUnits = tonumber(ARGV[8])
local deficit, lastUs = 0, 0
local state = redis.call('GET', KEYS[1])
if state then
  local a, b = string.match(state, '^(%S+) (%S+)$')
  deficit, lastUs = tonumber(a), tonumber(b)
end
local elapsed = now - lastUs
if elapsed > 0 then
  if elapsed >= ceilDiv(deficit, unitsPerUs) then
    deficit = 0
  else
    deficit = deficit - elapsed * unitsPerUs
  end
end
if cost > capacity then
  return { 0, 1, floorDiv(capacityUnits - deficit, unitsPerToken), 0, ceilDiv(deficit, unitsPerUs) }
end
local after = deficit + cost * unitsPerToken
if after <= capacityUnits then
  local fullUs = ceilDiv(after, unitsPerUs)
  if write then
    redis.call('SET', KEYS[1], fmt(after) .. ' ' .. fmt(now), 'PX', fmt(ceilDiv(fullUs, 1000)))
  end
  return { 1, 0, floorDiv(capacityUnits - after, unitsPerToken), 0, fullUs }
end
return { 0, 0, floorDiv(capacityUnits - deficit, unitsPerToken), ceilDiv(after - capacityUnits, unitsPerUs), ceilDiv(deficit, unitsPerUs) }
`;

/** ARGV[5..8]: burst, ticksPerUs, intervalTicks, toleranceTicks. KEYS[1]: "tat" in ticks. */
export const GCRA_LUA = `${PRELUDE}
local burst = tonumber(ARGV[5])
local ticksPerUs = tonumber(ARGV[6])
local intervalTicks = tonumber(ARGV[7])
local toleranceTicks = tonumber(ARGV[8])
local nowTicks = now * ticksPerUs
if nowTicks > 9007199254740991 then
  return redis.error_reply('ERR weir: GCRA time in ticks exceeds 2^53; use a later timeOriginSeconds')
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local base = math.max(tat, nowTicks)
if cost > burst then
  return { 0, 1, floorDiv(toleranceTicks - (base - nowTicks), intervalTicks), 0, ceilDiv(base - nowTicks, ticksPerUs) }
end
local nextTat = base + cost * intervalTicks
local allowAt = nextTat - toleranceTicks
if nowTicks >= allowAt then
  local fullUs = ceilDiv(nextTat - nowTicks, ticksPerUs)
  if write then
    redis.call('SET', KEYS[1], fmt(nextTat), 'PX', fmt(ceilDiv(fullUs, 1000)))
  end
  return { 1, 0, floorDiv(toleranceTicks - (nextTat - nowTicks), intervalTicks), 0, fullUs }
end
return { 0, 0, floorDiv(toleranceTicks - (base - nowTicks), intervalTicks), ceilDiv(allowAt - nowTicks, ticksPerUs), ceilDiv(base - nowTicks, ticksPerUs) }
`;

/** ARGV[5..6]: limit, windowUs. KEYS[1]: "index prev cur". */
export const SLIDING_COUNTER_LUA = `${PRELUDE}
local limit = tonumber(ARGV[5])
local w = tonumber(ARGV[6])
local function counterFullUs(prev, cur, start)
  if cur > 0 then return start + 2 * w - now end
  if prev > 0 then return start + w - now end
  return 0
end
local index, prevCount, curCount = 0, 0, 0
local state = redis.call('GET', KEYS[1])
if state then
  local a, b, c = string.match(state, '^(%S+) (%S+) (%S+)$')
  index, prevCount, curCount = tonumber(a), tonumber(b), tonumber(c)
end
local nowIndex = floorDiv(now, w)
local prev, cur = 0, 0
if nowIndex == index then
  prev, cur = prevCount, curCount
elseif nowIndex == index + 1 then
  prev = curCount
end
local start = nowIndex * w
local elapsed = now - start
local budget = limit * w
local never = cost > limit
local weighted = prev * (w - elapsed) + (cur + cost) * w
if (not never) and weighted <= budget then
  local fullUs = counterFullUs(prev, cur + cost, start)
  if write then
    redis.call('SET', KEYS[1], fmt(nowIndex) .. ' ' .. fmt(prev) .. ' ' .. fmt(cur + cost), 'PX', fmt(ceilDiv(fullUs, 1000)))
  end
  return { 1, 0, floorDiv(budget - weighted, w), 0, fullUs }
end
local remaining = floorDiv(budget - prev * (w - elapsed) - cur * w, w)
local fullUs = counterFullUs(prev, cur, start)
if never then
  return { 0, 1, remaining, 0, fullUs }
end
if cur + cost <= limit then
  local at = w - floorDiv((limit - cur - cost) * w, prev)
  if at < w then
    return { 0, 0, remaining, start + at - now, fullUs }
  end
end
local at = 0
if cur ~= 0 then at = w - floorDiv((limit - cost) * w, cur) end
if at < w then
  return { 0, 0, remaining, start + w + at - now, fullUs }
end
return { 0, 0, remaining, start + 2 * w - now, fullUs }
`;

/**
 * ARGV[5..6]: limit, windowUs. KEYS[1]: ZSET of "timeUs:seq:cost" scored by timeUs (the log, oldest first);
 * KEYS[2]: the total cost of the ZSET's entries. Entries at or before now - windowUs have expired; they are
 * removed when the next allowed take writes (the step's `drop`). The total is rebuilt from the ZSET if the
 * two keys ever disagree on existence (e.g. one evicted under maxmemory).
 */
export const SLIDING_LOG_LUA = `${PRELUDE}
local limit = tonumber(ARGV[5])
local w = tonumber(ARGV[6])
local function costOf(member)
  return tonumber(string.match(member, ':(%d+)$'))
end
local total = 0
local stored = redis.call('GET', KEYS[2])
if stored and redis.call('EXISTS', KEYS[1]) == 1 then
  total = tonumber(stored)
else
  local all = redis.call('ZRANGE', KEYS[1], 0, -1)
  for n = 1, #all do total = total + costOf(all[n]) end
end
local horizon = now - w
local live = total
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', fmt(horizon))
for n = 1, #expired do live = live - costOf(expired[n]) end
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local fullUs = 0
if newest[2] and tonumber(newest[2]) > horizon then
  fullUs = tonumber(newest[2]) + w - now
end
local never = cost > limit
if (not never) and live + cost <= limit then
  if cost > 0 then fullUs = w end
  if write then
    if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(horizon)) end
    local at = fmt(now)
    local seq = redis.call('ZCOUNT', KEYS[1], at, at)
    local ttl = fmt(ceilDiv(fullUs, 1000))
    redis.call('ZADD', KEYS[1], at, at .. ':' .. seq .. ':' .. fmt(cost))
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('SET', KEYS[2], fmt(live + cost), 'PX', ttl)
  end
  return { 1, 0, limit - live - cost, 0, fullUs }
end
if never then
  return { 0, 1, limit - live, 0, fullUs }
end
-- Wait for the oldest live entries to expire until the take fits. Every entry costs >= 1, so at most
-- (live + cost - limit) entries are needed: the read is bounded by the excess, not by the limit.
local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. fmt(horizon), '+inf', 'WITHSCORES', 'LIMIT', 0, fmt(live + cost - limit))
local left = live
local n = -1
while left + cost > limit do
  n = n + 2
  left = left - costOf(oldest[n])
end
return { 0, 0, limit - live, tonumber(oldest[n + 1]) + w - now, fullUs }
`;

/** A script that does nothing but answer: the floor the benchmarks compare against. */
export const NOOP_LUA = `return 1`;
