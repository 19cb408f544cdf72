/**
 * The Lua twins of the pure refund steps (src/rate-limit/refunds.ts), as fragments for the Redis store's
 * scripts (adapters/redis/scripts.ts composes them after its prelude and decision fragments: they use its
 * floorDiv, ceilDiv, format, spack/sunpack, the log's fmt, weir_counter_full, weir_log_total and weir_log_cost). Plain strings: nothing
 * here runs unless a Redis store sends it.
 */
import { luaReadState, luaReadTat, luaTtl } from './steps.js';

type AlgorithmKind = 'token-bucket' | 'gcra' | 'sliding-window-counter' | 'sliding-window-log';
/**
 * Refunds: give back up to `cost` units of recent takes, never beyond full, and reply like a zero-cost peek
 * after it (1, 0, remaining, 0, fullUs). They mirror the pure refund steps in src/rate-limit/refunds.ts.
 */
export const REFUND_FRAGMENTS: Readonly<Record<AlgorithmKind, string>> = {
  'token-bucket': `
local function weir_token_bucket_refund(keyA, keyB, now, cost, capacity, unitsPerToken, unitsPerUs, capacityUnits)
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
  deficit = math.max(0, deficit - cost * unitsPerToken)
  local fullUs = ceilDiv(deficit, unitsPerUs)
  if deficit == 0 then
    redis.call('DEL', keyA)
  else
    ${luaTtl('fullUs')}
    redis.call('SET', keyA, spack('<Bdd', 1, deficit, now), 'PX', ttl)
  end
  return 1, 0, floorDiv(capacityUnits - deficit, unitsPerToken), 0, fullUs
end
`,
  gcra: `
local function weir_gcra_refund(keyA, keyB, now, cost, burst, ticksPerUs, intervalTicks, toleranceTicks)
  local nowTicks = now * ticksPerUs
  if nowTicks > 9007199254740991 then
    return nil, redis.error_reply('ERR weir: GCRA time in ticks exceeds 2^53; use a later timeOriginSeconds')
  end
  local tat = 0
  ${luaReadTat()}
  if tat > nowTicks + toleranceTicks then tat = nowTicks + toleranceTicks end
  local base = math.max(nowTicks, math.max(tat, nowTicks) - cost * intervalTicks)
  local fullUs = ceilDiv(base - nowTicks, ticksPerUs)
  if base == nowTicks then
    redis.call('DEL', keyA)
  else
    ${luaTtl('fullUs')}
    redis.call('SET', keyA, format('%.0f', base), 'PX', ttl)
  end
  return 1, 0, floorDiv(toleranceTicks - (base - nowTicks), intervalTicks), 0, fullUs
end
`,
  'sliding-window-counter': `
local function weir_sliding_counter_refund(keyA, keyB, now, cost, limit, w)
  local index, prevCount, curCount = 0, 0, 0
  ${luaReadState('<Bddd', 25, 'index, prevCount, curCount')}
  local nowIndex = floorDiv(now, w)
  local prev, cur = 0, 0
  if nowIndex == index then
    prev, cur = prevCount, curCount
  elseif nowIndex == index + 1 then
    prev = curCount
  end
  local fromCur = math.min(cur, cost)
  cur = cur - fromCur
  prev = math.max(0, prev - (cost - fromCur))
  local start = nowIndex * w
  local fullUs = weir_counter_full(prev, cur, start, now, w)
  if fullUs == 0 then
    redis.call('DEL', keyA)
  else
    ${luaTtl('fullUs')}
    redis.call('SET', keyA, spack('<Bddd', 1, nowIndex, prev, cur), 'PX', ttl)
  end
  return 1, 0, floorDiv(limit * w - prev * (w - (now - start)) - cur * w, w), 0, fullUs
end
`,
  'sliding-window-log': `
local function weir_sliding_log_refund(keyA, keyB, now, cost, limit, w)
  local total = weir_log_total(keyA, keyB)
  local horizon = now - w
  local live = total
  local expired = redis.call('ZRANGEBYSCORE', keyA, '-inf', fmt(horizon))
  for n = 1, #expired do live = live - weir_log_cost(expired[n]) end
  local left = cost
  while left > 0 and live > 0 do
    local newest = redis.call('ZRANGE', keyA, -1, -1, 'WITHSCORES')
    local member, at = newest[1], newest[2]
    local c = weir_log_cost(member)
    redis.call('ZREM', keyA, member)
    if c > left then
      redis.call('ZADD', keyA, at, string.match(member, '^(.*:)%d+$') .. fmt(c - left))
      total, live, left = total - left, live - left, 0
    else
      total, live, left = total - c, live - c, left - c
    end
  end
  local newest = redis.call('ZRANGE', keyA, -1, -1, 'WITHSCORES')
  local fullUs = 0
  if newest[2] and tonumber(newest[2]) > horizon then
    fullUs = tonumber(newest[2]) + w - now
  end
  if fullUs == 0 then
    redis.call('DEL', keyA, keyB)
  else
    ${luaTtl('fullUs')}
    redis.call('PEXPIRE', keyA, ttl)
    redis.call('SET', keyB, fmt(total), 'PX', ttl)
  end
  return 1, 0, limit - live, 0, fullUs
end
`,
};
