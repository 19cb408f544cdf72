/**
 * Refunds as pure steps, beside the takes in algorithms.ts: `refund(state, nowUs, cost, config, out)` gives
 * back up to `cost` units of the key's most recent usage, never beyond full, and writes into `out` the
 * decision of a zero-cost peek after it (`allowed` true, `remaining`, `fullUs`) and the state to save. The
 * Lua twins are in lua/refunds.ts. Like the takes, they read state written under other limits (a tier
 * change) clamped to empty.
 */
import {
  ceilDiv,
  floorDiv,
  type GcraConfig,
  refilledDeficit,
  type SlidingCounterConfig,
  type SlidingLogConfig,
  type StepResult,
  type TokenBucketConfig,
} from './algorithms.js';

function peekResult(out: StepResult, remaining: number, fullUs: number): void {
  out.allowed = true;
  out.never = false;
  out.remaining = remaining;
  out.waitUs = 0;
  out.fullUs = fullUs;
  out.drop = 0;
}

export function tokenBucketRefund(
  deficit: number,
  lastUs: number,
  nowUs: number,
  cost: number,
  c: TokenBucketConfig,
  out: StepResult,
): void {
  deficit = Math.max(0, refilledDeficit(deficit, lastUs, nowUs, c) - cost * c.unitsPerToken);
  peekResult(out, floorDiv(c.capacityUnits - deficit, c.unitsPerToken), ceilDiv(deficit, c.unitsPerUs));
  out.s0 = deficit;
  out.s1 = nowUs;
}

export function gcraRefund(tat: number, nowUs: number, cost: number, c: GcraConfig, out: StepResult): void {
  const now = nowUs * c.ticksPerUs;
  if (tat > now + c.toleranceTicks) tat = now + c.toleranceTicks;
  const base = Math.max(now, Math.max(tat, now) - cost * c.intervalTicks);
  peekResult(out, floorDiv(c.toleranceTicks - (base - now), c.intervalTicks), ceilDiv(base - now, c.ticksPerUs));
  out.s0 = base;
}

/** Gives back from the current window first, then from the previous one. */
export function slidingCounterRefund(
  index: number,
  prevCount: number,
  curCount: number,
  nowUs: number,
  cost: number,
  c: SlidingCounterConfig,
  out: StepResult,
): void {
  const w = c.windowUs;
  const nowIndex = floorDiv(nowUs, w);
  let prev = 0;
  let cur = 0;
  if (nowIndex === index) {
    prev = prevCount;
    cur = curCount;
  } else if (nowIndex === index + 1) prev = curCount;
  const fromCur = Math.min(cur, cost);
  cur -= fromCur;
  prev = Math.max(0, prev - (cost - fromCur));
  const start = nowIndex * w;
  const fullUs = cur > 0 ? start + 2 * w - nowUs : prev > 0 ? start + w - nowUs : 0;
  peekResult(out, floorDiv(c.limit * w - prev * (w - (nowUs - start)) - cur * w, w), fullUs);
  out.s0 = nowIndex;
  out.s1 = prev;
  out.s2 = cur;
}

/** A sliding log the refund may shorten (the store's own log, or a model's). */
export interface MutableLog {
  times: number[];
  costs: number[];
  head: number;
  total: number;
}

/** Removes up to `cost` units from the newest live entries (an entry partly refunded keeps its time). */
export function slidingLogRefund(log: MutableLog, nowUs: number, cost: number, c: SlidingLogConfig, out: StepResult): void {
  const horizon = nowUs - c.windowUs;
  const { times, costs } = log;
  let live = log.total;
  for (let i = log.head; i < times.length && (times[i] as number) <= horizon; i++) live -= costs[i] as number;
  let left = cost;
  while (left > 0 && live > 0) {
    const last = costs.length - 1;
    const c0 = costs[last] as number;
    if (c0 > left) {
      costs[last] = c0 - left;
      log.total -= left;
      live -= left;
      left = 0;
    } else {
      costs.pop();
      times.pop();
      log.total -= c0;
      live -= c0;
      left -= c0;
    }
  }
  const end = times.length;
  const newest = end > log.head ? (times[end - 1] as number) : Number.NEGATIVE_INFINITY;
  peekResult(out, c.limit - live, newest > horizon ? newest + c.windowUs - nowUs : 0);
}
