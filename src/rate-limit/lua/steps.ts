/**
 * The Lua twins of the pure decision steps (src/rate-limit/algorithms.ts), one Lua function per algorithm,
 * each mirroring its step line by line (same integer arithmetic on doubles, same floorDiv correction steps,
 * same evaluation order). adapters/redis/scripts.ts composes them into scripts and documents the calling
 * convention. Plain strings: nothing here runs unless a Redis store sends it.
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

/**
 * Arithmetic plus `weir_now(nowArg, origin)`: `nowArg` -1 reads Redis `TIME` (production), anything else is
 * an explicit time in µs (the test-only path). Returns nil and an error reply when Redis's clock is before
 * the origin.
 */
export const LUA_PRELUDE = `${LUA_ARITHMETIC}
local function weir_now(nowArg, origin)
  local now = tonumber(nowArg)
  if now < 0 then
    local t = redis.call('TIME')
    now = (tonumber(t[1]) - tonumber(origin)) * 1000000 + tonumber(t[2])
    if now < 0 then
      return nil, redis.error_reply('ERR weir: the Redis clock is before timeOriginSeconds')
    end
  end
  return now
end
`;

/** Token bucket. p1..p4: capacity, unitsPerToken, unitsPerUs, capacityUnits. keyA: "deficit lastUs". */
export const TOKEN_BUCKET_FN = `
local function weir_token_bucket(keyA, keyB, now, cost, write, capacity, unitsPerToken, unitsPerUs, capacityUnits)
  local deficit, lastUs = 0, 0
  local state = redis.call('GET', keyA)
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
  if deficit > capacityUnits then deficit = capacityUnits end
  if cost > capacity then
    return { 0, 1, floorDiv(capacityUnits - deficit, unitsPerToken), 0, ceilDiv(deficit, unitsPerUs) }
  end
  local after = deficit + cost * unitsPerToken
  if after <= capacityUnits then
    local fullUs = ceilDiv(after, unitsPerUs)
    if write then
      redis.call('SET', keyA, fmt(after) .. ' ' .. fmt(now), 'PX', fmt(ceilDiv(fullUs, 1000)))
    end
    return { 1, 0, floorDiv(capacityUnits - after, unitsPerToken), 0, fullUs }
  end
  return { 0, 0, floorDiv(capacityUnits - deficit, unitsPerToken), ceilDiv(after - capacityUnits, unitsPerUs), ceilDiv(deficit, unitsPerUs) }
end
`;

/** GCRA. p1..p4: burst, ticksPerUs, intervalTicks, toleranceTicks. keyA: "tat" in ticks. */
export const GCRA_FN = `
local function weir_gcra(keyA, keyB, now, cost, write, burst, ticksPerUs, intervalTicks, toleranceTicks)
  local nowTicks = now * ticksPerUs
  if nowTicks > 9007199254740991 then
    return redis.error_reply('ERR weir: GCRA time in ticks exceeds 2^53; use a later timeOriginSeconds')
  end
  local tat = tonumber(redis.call('GET', keyA) or '0')
  if tat > nowTicks + toleranceTicks then tat = nowTicks + toleranceTicks end
  local base = math.max(tat, nowTicks)
  if cost > burst then
    return { 0, 1, floorDiv(toleranceTicks - (base - nowTicks), intervalTicks), 0, ceilDiv(base - nowTicks, ticksPerUs) }
  end
  local nextTat = base + cost * intervalTicks
  local allowAt = nextTat - toleranceTicks
  if nowTicks >= allowAt then
    local fullUs = ceilDiv(nextTat - nowTicks, ticksPerUs)
    if write then
      redis.call('SET', keyA, fmt(nextTat), 'PX', fmt(ceilDiv(fullUs, 1000)))
    end
    return { 1, 0, floorDiv(toleranceTicks - (nextTat - nowTicks), intervalTicks), 0, fullUs }
  end
  return { 0, 0, floorDiv(toleranceTicks - (base - nowTicks), intervalTicks), ceilDiv(allowAt - nowTicks, ticksPerUs), ceilDiv(base - nowTicks, ticksPerUs) }
end
`;

/** Sliding window counter. p1..p2: limit, windowUs. keyA: "index prev cur". */
export const SLIDING_COUNTER_FN = `
local function weir_counter_full(prev, cur, start, now, w)
  if cur > 0 then return start + 2 * w - now end
  if prev > 0 then return start + w - now end
  return 0
end
local function weir_sliding_counter(keyA, keyB, now, cost, write, limit, w)
  local index, prevCount, curCount = 0, 0, 0
  local state = redis.call('GET', keyA)
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
    local fullUs = weir_counter_full(prev, cur + cost, start, now, w)
    if write then
      redis.call('SET', keyA, fmt(nowIndex) .. ' ' .. fmt(prev) .. ' ' .. fmt(cur + cost), 'PX', fmt(ceilDiv(fullUs, 1000)))
    end
    return { 1, 0, floorDiv(budget - weighted, w), 0, fullUs }
  end
  local remaining = floorDiv(budget - prev * (w - elapsed) - cur * w, w)
  local fullUs = weir_counter_full(prev, cur, start, now, w)
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
end
`;

/**
 * Sliding window log. p1..p2: limit, windowUs. keyA: ZSET of "timeUs:seq:cost" scored by timeUs (the log,
 * oldest first); keyB: the total cost of the ZSET's entries. Entries at or before now - windowUs have
 * expired; they are removed when the next allowed take writes (the step's `drop`). The total is rebuilt
 * from the ZSET if the two keys ever disagree on existence (e.g. one evicted under maxmemory).
 */
export const SLIDING_LOG_FN = `
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
      local ttl = fmt(ceilDiv(fullUs, 1000))
      -- After a refund removed a same-time entry, ZCOUNT may name a member that exists: never overwrite one.
      while redis.call('ZADD', keyA, 'NX', at, at .. ':' .. seq .. ':' .. fmt(cost)) == 0 do seq = seq + 1 end
      redis.call('PEXPIRE', keyA, ttl)
      redis.call('SET', keyB, fmt(live + cost), 'PX', ttl)
    end
    return { 1, 0, limit - live - cost, 0, fullUs }
  end
  if never then
    return { 0, 1, limit - live, 0, fullUs }
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
  return { 0, 0, limit - live, tonumber(oldest[n + 1]) + w - now, fullUs }
end
`;
