/**
 * The four rate-limiting algorithms as pure step functions: `step(state, nowUs, cost, config, out)` reads
 * the key's state (a few numbers; a list for the sliding log), the time and the cost, and writes the
 * decision and the next state into `out`. They read nothing else and change nothing else, so a store (the
 * memory store here, a Redis Lua script elsewhere) is a thin shell that loads the state, calls the step and
 * saves `out`'s state when the take was allowed.
 *
 * Arithmetic is on integers only (every value stays below 2^53, so doubles, and Lua 5.1's numbers, hold it
 * exactly); that is what makes the bucket drift-free and lets a Lua script mirror each line:
 * - Time is an integer number of microseconds since an origin chosen by the store (`nowUs >= 0`). The
 *   memory store's origin is its creation; Redis's `TIME` gives seconds and microseconds directly.
 * - A rate of `r` per second becomes two integers, `unitsPerUs` and `unitsPerToken`, with
 *   `r = unitsPerUs * 1e6 / unitsPerToken` ({@link normalizeRate}). A token is `unitsPerToken` units and
 *   the bucket refills `unitsPerUs` units each microsecond, so refill is an integer product and never
 *   rounds. GCRA uses the same numbers, reading units as ticks of `1 / unitsPerUs` µs.
 * - Fresh state (a key never seen, or forgotten) is all zeros for every fixed-size algorithm, and a state
 *   that is back to full decides exactly like fresh state, so a store may drop it at any time.
 *
 * Only `floorDiv`/`ceilDiv` below need care in Lua: use the same correction steps.
 */

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Largest `unitsPerUs`; it bounds GCRA's tick count (`nowUs * unitsPerUs < 2^53`) to 8.9 years of µs. */
export const MAX_UNITS_PER_US = 32;

/** floor(a / b) for integers a >= 0, b > 0, exact even where a / b rounds to the next integer. */
export function floorDiv(a: number, b: number): number {
  const q = Math.floor(a / b);
  if (q * b > a) return q - 1;
  if ((q + 1) * b <= a) return q + 1;
  return q;
}

/** ceil(a / b) for integers a >= 0, b > 0. */
export function ceilDiv(a: number, b: number): number {
  return floorDiv(a + b - 1, b);
}

/** What a step writes: the decision (in µs) and, when `allowed`, the state to save. */
export class StepResult {
  allowed = false;
  /** The cost exceeds the limit: it can never pass (and waiting does not help). */
  never = false;
  /** Whole units left after this take (when allowed) or now (when rejected). */
  remaining = 0;
  /** Exact wait until the same take is allowed (0 when allowed). */
  waitUs = 0;
  /** Time until the key is back to full (after this take when allowed). */
  fullUs = 0;
  /** The next state (fixed-size algorithms). */
  s0 = 0;
  s1 = 0;
  s2 = 0;
  /** Sliding log: number of expired entries (oldest first) to drop. */
  drop = 0;
}

/**
 * Finds integers with `unitsPerUs * 1e6 / unitsPerToken = perSecond`: exact when such integers exist with
 * `unitsPerUs <= 32` (every rate of n per second where n / gcd(n, 10^6 q) <= 32 for a q-second period:
 * 1, 5, 10, 100/min, 1000/h, 7, 3, 30, ...); otherwise the nearest such rate (relative error below
 * 1 / (2 * unitsPerToken), e.g. under 2e-7 at 100 per second), chosen once and never drifting.
 */
export function normalizeRate(
  where: string,
  name: string,
  perSecond: number,
  depth: number,
  preferUnitsPerUs = 0,
): { unitsPerUs: number; unitsPerToken: number } {
  // Other limits of the same limiter (tiers) keep the default limits' unit when it is exact for them too:
  // state then means the same time until full under every tier.
  if (preferUnitsPerUs > 0) {
    const exact = (preferUnitsPerUs * 1e6) / perSecond;
    const unitsPerToken = Math.round(exact);
    if (unitsPerToken >= 1 && Math.abs(unitsPerToken - exact) / exact <= 1e-12 && depth * unitsPerToken * 2 <= MAX_SAFE) {
      return { unitsPerUs: preferUnitsPerUs, unitsPerToken };
    }
  }
  let best = { unitsPerUs: 0, unitsPerToken: 0 };
  let bestError = Number.POSITIVE_INFINITY;
  for (let unitsPerUs = 1; unitsPerUs <= MAX_UNITS_PER_US; unitsPerUs++) {
    const exact = (unitsPerUs * 1e6) / perSecond;
    const unitsPerToken = Math.round(exact);
    if (unitsPerToken < 1) continue;
    const error = Math.abs(unitsPerToken - exact) / exact;
    if (error <= 1e-12) {
      best = { unitsPerUs, unitsPerToken };
      bestError = 0;
      break;
    }
    if (error < bestError) {
      best = { unitsPerUs, unitsPerToken };
      bestError = error;
    }
  }
  if (best.unitsPerToken === 0) {
    throw new RangeError(`${where}: option "${name}" must be at most ${MAX_UNITS_PER_US * 1e6} per second, got ${perSecond}`);
  }
  if (depth * best.unitsPerToken * 2 > MAX_SAFE) {
    throw new RangeError(
      `${where}: option "${name}" (${perSecond} per second) is too slow for a depth of ${depth}: one refill would take longer than 2^53 fixed-point units`,
    );
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------
// Token bucket. State: [deficit (units missing from a full bucket), lastUs]. Fresh: [0, 0] = full.

export interface TokenBucketConfig {
  readonly kind: 'token-bucket';
  /** Tokens in a full bucket. */
  readonly capacity: number;
  readonly unitsPerToken: number;
  readonly unitsPerUs: number;
  /** capacity * unitsPerToken. */
  readonly capacityUnits: number;
}

/**
 * A token bucket's deficit at `nowUs`: it shrinks by unitsPerUs each µs, down to 0, and is never more than
 * empty (state written under larger limits, a tier change or a reconfiguration, is clamped). The test is
 * `elapsed >= ceilDiv(deficit, unitsPerUs)` (the Lua twin's form) without a division: a product past 2^53
 * rounds to a value still past the deficit, and the subtraction runs only below it, where it is exact.
 */
export function refilledDeficit(deficit: number, lastUs: number, nowUs: number, c: TokenBucketConfig): number {
  const elapsed = nowUs - lastUs;
  if (elapsed > 0) {
    const refill = elapsed * c.unitsPerUs;
    deficit = refill >= deficit ? 0 : deficit - refill;
  }
  return Math.min(deficit, c.capacityUnits);
}

export function tokenBucketStep(
  deficit: number,
  lastUs: number,
  nowUs: number,
  cost: number,
  c: TokenBucketConfig,
  out: StepResult,
): void {
  deficit = refilledDeficit(deficit, lastUs, nowUs, c);
  const after = deficit + cost * c.unitsPerToken;
  if (cost > c.capacity || after > c.capacityUnits) {
    tokenBucketRefused(deficit, after, cost, c, out);
    return;
  }
  out.allowed = true;
  out.never = false;
  out.drop = 0;
  out.remaining = floorDiv(c.capacityUnits - after, c.unitsPerToken);
  out.waitUs = 0;
  out.fullUs = ceilDiv(after, c.unitsPerUs);
  out.s0 = after;
  out.s1 = nowUs;
}

/** The refusals of {@link tokenBucketStep} (out of line: the allowed path is on every call's path). */
function tokenBucketRefused(deficit: number, after: number, cost: number, c: TokenBucketConfig, out: StepResult): void {
  out.allowed = false;
  out.drop = 0;
  out.remaining = floorDiv(c.capacityUnits - deficit, c.unitsPerToken);
  out.fullUs = ceilDiv(deficit, c.unitsPerUs);
  // A cost above the capacity can never pass, and waiting does not help.
  const never = cost > c.capacity;
  out.never = never;
  out.waitUs = never ? 0 : ceilDiv(after - c.capacityUnits, c.unitsPerUs);
}

// ---------------------------------------------------------------------------------------------------------
// GCRA. State: [tat], the theoretical arrival time in ticks (1 tick = 1 / unitsPerUs µs). Fresh: [0].

export interface GcraConfig {
  readonly kind: 'gcra';
  /** Requests that may pass at once (the equivalent token bucket's capacity). */
  readonly burst: number;
  readonly ticksPerUs: number;
  /** Emission interval T in ticks: the time one unit of cost occupies. */
  readonly intervalTicks: number;
  /** Delay variation tolerance τ = burst * T, in ticks. */
  readonly toleranceTicks: number;
}

export function gcraStep(tat: number, nowUs: number, cost: number, c: GcraConfig, out: StepResult): void {
  const now = nowUs * c.ticksPerUs;
  // Never more than empty: state written under other limits (a tier change, a reconfiguration) is clamped.
  if (tat > now + c.toleranceTicks) tat = now + c.toleranceTicks;
  const base = Math.max(tat, now);
  out.drop = 0;
  if (cost > c.burst) {
    out.allowed = false;
    out.never = true;
    out.remaining = floorDiv(c.toleranceTicks - (base - now), c.intervalTicks);
    out.waitUs = 0;
    out.fullUs = ceilDiv(base - now, c.ticksPerUs);
    return;
  }
  out.never = false;
  const next = base + cost * c.intervalTicks;
  const allowAt = next - c.toleranceTicks;
  if (now >= allowAt) {
    out.allowed = true;
    out.remaining = floorDiv(c.toleranceTicks - (next - now), c.intervalTicks);
    out.waitUs = 0;
    out.fullUs = ceilDiv(next - now, c.ticksPerUs);
    out.s0 = next;
  } else {
    out.allowed = false;
    out.remaining = floorDiv(c.toleranceTicks - (base - now), c.intervalTicks);
    out.waitUs = ceilDiv(allowAt - now, c.ticksPerUs);
    out.fullUs = ceilDiv(base - now, c.ticksPerUs);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Sliding window counter (two fixed windows, the previous one weighted by how much of it still overlaps).
// State: [window index, count in the previous window, count in the current one]. Fresh: [0, 0, 0].
// Compared in integers: prev * (W - elapsed) + (cur + cost) * W <= limit * W.

export interface SlidingCounterConfig {
  readonly kind: 'sliding-window-counter';
  readonly limit: number;
  readonly windowUs: number;
}

export function slidingCounterStep(
  index: number,
  prevCount: number,
  curCount: number,
  nowUs: number,
  cost: number,
  c: SlidingCounterConfig,
  out: StepResult,
): void {
  const w = c.windowUs;
  const limit = c.limit;
  const nowIndex = floorDiv(nowUs, w);
  let prev = 0;
  let cur = 0;
  if (nowIndex === index) {
    prev = prevCount;
    cur = curCount;
  } else if (nowIndex === index + 1) {
    prev = curCount;
  }
  const start = nowIndex * w;
  const elapsed = nowUs - start;
  const budget = limit * w;
  out.drop = 0;
  out.never = cost > limit;
  const weighted = prev * (w - elapsed) + (cur + cost) * w;
  if (!out.never && weighted <= budget) {
    out.allowed = true;
    out.remaining = floorDiv(budget - weighted, w);
    out.waitUs = 0;
    out.fullUs = counterFullUs(prev, cur + cost, start, nowUs, w);
    out.s0 = nowIndex;
    out.s1 = prev;
    out.s2 = cur + cost;
    return;
  }
  out.allowed = false;
  out.remaining = floorDiv(budget - prev * (w - elapsed) - cur * w, w);
  out.fullUs = counterFullUs(prev, cur, start, nowUs, w);
  if (out.never) {
    out.waitUs = 0;
    return;
  }
  // The weighted count only falls with time (and is continuous at window edges), so the earliest time the
  // take fits is found in this window, else the next, else the one after (where nothing weighs).
  if (cur + cost <= limit) {
    // prev > 0 here, or the take would have fitted.
    const at = w - floorDiv((limit - cur - cost) * w, prev);
    if (at < w) {
      out.waitUs = start + at - nowUs;
      return;
    }
  }
  const at = cur === 0 ? 0 : w - floorDiv((limit - cost) * w, cur);
  out.waitUs = at < w ? start + w + at - nowUs : start + 2 * w - nowUs;
}

function counterFullUs(prev: number, cur: number, start: number, nowUs: number, w: number): number {
  if (cur > 0) return start + 2 * w - nowUs;
  if (prev > 0) return start + w - nowUs;
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// Sliding window log (exact). State: the admitted takes of the last window, oldest first, as parallel
// lists of times and costs, plus their total. The step reads it and reports how many expired entries to
// drop; the store drops them and appends (nowUs, cost) when allowed. An entry at time t counts in
// (t - W, t]... i.e. it expires at t + W.

export interface SlidingLogConfig {
  readonly kind: 'sliding-window-log';
  readonly limit: number;
  readonly windowUs: number;
}

export interface LogView {
  readonly times: readonly number[];
  readonly costs: readonly number[];
  /** Index of the oldest entry. */
  readonly head: number;
  /** Sum of the costs from `head` on. */
  readonly total: number;
}

export function slidingLogStep(log: LogView, nowUs: number, cost: number, c: SlidingLogConfig, out: StepResult): void {
  const { times, costs } = log;
  const end = times.length;
  const horizon = nowUs - c.windowUs;
  let i = log.head;
  let live = log.total;
  while (i < end && (times[i] as number) <= horizon) live -= costs[i++] as number;
  out.drop = i - log.head;
  out.never = cost > c.limit;
  if (!out.never && live + cost <= c.limit) {
    out.allowed = true;
    out.remaining = c.limit - live - cost;
    out.waitUs = 0;
    out.fullUs = cost > 0 ? c.windowUs : i < end ? (times[end - 1] as number) + c.windowUs - nowUs : 0;
    return;
  }
  out.allowed = false;
  out.remaining = c.limit - live;
  out.fullUs = i < end ? (times[end - 1] as number) + c.windowUs - nowUs : 0;
  if (out.never) {
    out.waitUs = 0;
    return;
  }
  // Wait for the oldest entries to expire until the take fits (O(limit) only on a rejection).
  let j = i;
  while (live + cost > c.limit) live -= costs[j++] as number;
  out.waitUs = (times[j - 1] as number) + c.windowUs - nowUs;
}
