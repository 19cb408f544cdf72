/**
 * The Lua twins of the pure decision steps (src/rate-limit/algorithms.ts), one Lua function per algorithm,
 * each mirroring its step line by line (same integer arithmetic on doubles, same floorDiv correction steps,
 * same evaluation order). adapters/redis/scripts.ts composes them into scripts and documents the calling
 * convention. Plain strings: nothing here runs unless a Redis store sends it.
 */
/**
 * floorDiv and ceilDiv exactly as algorithms.ts has them (ceilDiv(a, b) is floorDiv(a + b - 1, b) written
 * out: one Lua call less; a direct test holds both to the TypeScript ones), and the library
 * functions the fragments use, as locals. Every script runs its whole text on every call, and each
 * `local function` is a closure Redis's Lua allocates again each time (measured: about 700 instructions
 * each, against 12 000 for a whole no-op EVALSHA), so the scripts define only these two; everything else
 * is inline. Other dear things in Redis's Lua, per call: `tonumber` of a string ≈ 1 600 instructions,
 * `string.format('%.0f')` ≈ 3 200, `'%d'` ≈ 1 700, `struct.pack`/`unpack` of two doubles ≈ 1 400: state is
 * stored as packed doubles, not text (but for GCRA's one integer, see GCRA_FN).
 */
export const LUA_ARITHMETIC = `
local floor, format, spack, sunpack = math.floor, string.format, struct.pack, struct.unpack
local function floorDiv(a, b)
  local q = floor(a / b)
  if q * b > a then return q - 1 end
  if (q + 1) * b <= a then return q + 1 end
  return q
end
local function ceilDiv(a, b)
  a = a + b - 1
  local q = floor(a / b)
  if q * b > a then return q - 1 end
  if (q + 1) * b <= a then return q + 1 end
  return q
end
local ttlMs, ttlText = -1, nil
`;

/** The arithmetic every script starts with (kept under its former name). */
export const LUA_PRELUDE = LUA_ARITHMETIC;

/**
 * Statements that set `now` from `nowArg` and `origin`: -1 reads Redis `TIME` (production), anything else
 * is an explicit time in µs (the test-only path). Returns an error reply when Redis's clock is before the
 * origin. For a script's body (it returns from the script).
 */
export const LUA_NOW = `
local now = nowArg
if now < 0 then
  local t = redis.call('TIME')
  now = (tonumber(t[1]) - origin) * 1000000 + tonumber(t[2])
  if now < 0 then return redis.error_reply('ERR weir: the Redis clock is before timeOriginSeconds') end
end
`;

/**
 * A statement that sets `local ttl` to the PX argument for a state full in `us` µs: ceil(us / 1000) ms as
 * text. `%d` is half the cost of `%.0f` and exact below 2^31 whatever the width of C's long; the last text
 * is kept (`ttlMs`, `ttlText`), so a batch of keys in the same state formats it once.
 */
export function luaTtl(us: string): string {
  return `local ms = ceilDiv(${us}, 1000)
    if ms ~= ttlMs then ttlMs, ttlText = ms, ms < 2147483648 and format('%d', ms) or format('%.0f', ms) end
    local ttl = ttlText`;
}

/** Reads GCRA's tat (decimal text, see GCRA_FN) of `keyA`, or returns an error reply naming the key. */
export function luaReadTat(): string {
  return `local state = redis.call('GET', keyA)
  if state then
    tat = tonumber(state)
    if not tat then return nil, redis.error_reply('ERR weir: ' .. keyA .. ' does not hold a GCRA state; use a new prefix') end
  end`;
}

/**
 * Reads the fixed-size state of `keyA` packed as `format` (a version byte, 1, then doubles: a text state
 * of an older weir starts with a digit) into `vars`, or returns an error reply naming the key.
 */
export function luaReadState(format: string, bytes: number, vars: string): string {
  const bad = `return nil, redis.error_reply('ERR weir: ' .. keyA .. ' does not hold state of this weir version (another program, or an older weir, wrote it); use a new prefix')`;
  return `local state = redis.call('GET', keyA)
  if state then
    if #state ~= ${bytes} then ${bad} end
    local v
    v, ${vars} = sunpack('${format}', state)
    if v ~= 1 then ${bad} end
  end`;
}

/** Token bucket. p1..p4: capacity, unitsPerToken, unitsPerUs, capacityUnits. keyA: deficit and lastUs ('<Bdd'). */
export const TOKEN_BUCKET_FN = `
local function weir_token_bucket(keyA, keyB, now, cost, write, capacity, unitsPerToken, unitsPerUs, capacityUnits)
  local deficit, lastUs = 0, 0
  ${luaReadState('<Bdd', 17, 'deficit, lastUs')}
  local elapsed = now - lastUs
  if elapsed > 0 then
    if elapsed >= ceilDiv(deficit, unitsPerUs) then
      deficit = 0
    else
      deficit = deficit - elapsed * unitsPerUs
    end
  end
  if deficit > capacityUnits then deficit = capacityUnits end
  if cost > capacity then
    return 0, 1, floorDiv(capacityUnits - deficit, unitsPerToken), 0, ceilDiv(deficit, unitsPerUs)
  end
  local after = deficit + cost * unitsPerToken
  if after <= capacityUnits then
    local fullUs = ceilDiv(after, unitsPerUs)
    if write then
      ${luaTtl('fullUs')}
      redis.call('SET', keyA, spack('<Bdd', 1, after, now), 'PX', ttl)
    end
    return 1, 0, floorDiv(capacityUnits - after, unitsPerToken), 0, fullUs
  end
  return 0, 0, floorDiv(capacityUnits - deficit, unitsPerToken), ceilDiv(after - capacityUnits, unitsPerUs), ceilDiv(deficit, unitsPerUs)
end
`;

/**
 * GCRA. p1..p4: burst, ticksPerUs, intervalTicks, toleranceTicks. keyA: tat in ticks, as decimal text: Redis
 * keeps a string that reads as an integer in the object itself (16 bytes per key less than 9 packed bytes).
 */
export const GCRA_FN = `
local function weir_gcra(keyA, keyB, now, cost, write, burst, ticksPerUs, intervalTicks, toleranceTicks)
  local nowTicks = now * ticksPerUs
  if nowTicks > 9007199254740991 then
    return nil, redis.error_reply('ERR weir: GCRA time in ticks exceeds 2^53; use a later timeOriginSeconds')
  end
  local tat = 0
  ${luaReadTat()}
  if tat > nowTicks + toleranceTicks then tat = nowTicks + toleranceTicks end
  local base = math.max(tat, nowTicks)
  if cost > burst then
    return 0, 1, floorDiv(toleranceTicks - (base - nowTicks), intervalTicks), 0, ceilDiv(base - nowTicks, ticksPerUs)
  end
  local nextTat = base + cost * intervalTicks
  local allowAt = nextTat - toleranceTicks
  if nowTicks >= allowAt then
    local fullUs = ceilDiv(nextTat - nowTicks, ticksPerUs)
    if write then
      ${luaTtl('fullUs')}
      redis.call('SET', keyA, format('%.0f', nextTat), 'PX', ttl)
    end
    return 1, 0, floorDiv(toleranceTicks - (nextTat - nowTicks), intervalTicks), 0, fullUs
  end
  return 0, 0, floorDiv(toleranceTicks - (base - nowTicks), intervalTicks), ceilDiv(allowAt - nowTicks, ticksPerUs), ceilDiv(base - nowTicks, ticksPerUs)
end
`;

/** Sliding window counter. p1..p2: limit, windowUs. keyA: window index, previous and current count ('<Bddd'). */
export const SLIDING_COUNTER_FN = `
local function weir_counter_full(prev, cur, start, now, w)
  if cur > 0 then return start + 2 * w - now end
  if prev > 0 then return start + w - now end
  return 0
end
local function weir_sliding_counter(keyA, keyB, now, cost, write, limit, w)
  local index, prevCount, curCount = 0, 0, 0
  ${luaReadState('<Bddd', 25, 'index, prevCount, curCount')}
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
    local fullUs = weir_counter_full(prev, cur + cost, start, now, w)
    if write then
      ${luaTtl('fullUs')}
      redis.call('SET', keyA, spack('<Bddd', 1, nowIndex, prev, cur + cost), 'PX', ttl)
    end
    return 1, 0, floorDiv(budget - weighted, w), 0, fullUs
  end
  local remaining = floorDiv(budget - prev * (w - elapsed) - cur * w, w)
  local fullUs = weir_counter_full(prev, cur, start, now, w)
  if never then
    return 0, 1, remaining, 0, fullUs
  end
  if cur + cost <= limit then
    local at = w - floorDiv((limit - cur - cost) * w, prev)
    if at < w then
      return 0, 0, remaining, start + at - now, fullUs
    end
  end
  local at = 0
  if cur ~= 0 then at = w - floorDiv((limit - cost) * w, cur) end
  if at < w then
    return 0, 0, remaining, start + w + at - now, fullUs
  end
  return 0, 0, remaining, start + 2 * w - now, fullUs
end
`;

/**
 * Sliding window log. p1..p2: limit, windowUs. keyA: ZSET of "timeUs:seq:cost" scored by timeUs (the log,
 * oldest first); keyB: the total cost of the ZSET's entries. Entries at or before now - windowUs have
 * expired; they are removed when the next allowed take writes (the step's `drop`). The total is rebuilt
 * from the ZSET if the two keys ever disagree on existence (e.g. one evicted under maxmemory).
 */
export const SLIDING_LOG_FN = `
local function fmt(n)
  return format('%.0f', n)
end
local function weir_log_cost(member)
  return tonumber(string.match(member, ':(%d+)$'))
end
local function weir_log_total(keyA, keyB)
  local stored = redis.call('GET', keyB)
  if stored and redis.call('EXISTS', keyA) == 1 then return tonumber(stored) end
  local total = 0
  local all = redis.call('ZRANGE', keyA, 0, -1)
  for n = 1, #all do total = total + weir_log_cost(all[n]) end
  return total
end
local function weir_sliding_log(keyA, keyB, now, cost, write, limit, w)
  local total = weir_log_total(keyA, keyB)
  local horizon = now - w
  local live = total
  local expired = redis.call('ZRANGEBYSCORE', keyA, '-inf', fmt(horizon))
  for n = 1, #expired do live = live - weir_log_cost(expired[n]) end
  local newest = redis.call('ZRANGE', keyA, -1, -1, 'WITHSCORES')
  local fullUs = 0
  if newest[2] and tonumber(newest[2]) > horizon then
    fullUs = tonumber(newest[2]) + w - now
  end
  local never = cost > limit
  if (not never) and live + cost <= limit then
    if cost > 0 then fullUs = w end
    if write then
      if #expired > 0 then redis.call('ZREMRANGEBYSCORE', keyA, '-inf', fmt(horizon)) end
      local at = fmt(now)
      local seq = redis.call('ZCOUNT', keyA, at, at)
      ${luaTtl('fullUs')}
      -- After a refund removed a same-time entry, ZCOUNT may name a member that exists: never overwrite one.
      while redis.call('ZADD', keyA, 'NX', at, at .. ':' .. seq .. ':' .. fmt(cost)) == 0 do seq = seq + 1 end
      redis.call('PEXPIRE', keyA, ttl)
      redis.call('SET', keyB, fmt(live + cost), 'PX', ttl)
    end
    return 1, 0, limit - live - cost, 0, fullUs
  end
  if never then
    return 0, 1, limit - live, 0, fullUs
  end
  -- Wait for the oldest live entries to expire until the take fits. Every entry costs >= 1, so at most
  -- (live + cost - limit) entries are needed: the read is bounded by the excess, not by the limit.
  local oldest = redis.call('ZRANGEBYSCORE', keyA, '(' .. fmt(horizon), '+inf', 'WITHSCORES', 'LIMIT', 0, fmt(live + cost - limit))
  local left = live
  local n = -1
  while left + cost > limit do
    n = n + 2
    left = left - weir_log_cost(oldest[n])
  end
  return 0, 0, limit - live, tonumber(oldest[n + 1]) + w - now, fullUs
end
`;
