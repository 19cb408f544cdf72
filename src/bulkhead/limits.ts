/**
 * Adaptive concurrency limits (after Netflix concurrency-limits). Each algorithm is a pure function
 * `update(config, state, sample, random) -> state`: the bulkhead is a thin shell that feeds it one sample
 * per settled call and admits up to `state.limit` calls at once. `random` (a number in [0, 1)) is an input,
 * drawn by the shell from the injected clock, so the functions stay deterministic.
 */

/** One observation of a settled call. */
export interface LimitSample {
  /** Clock time at which the call was admitted (after any queue wait). */
  readonly startMs: number;
  /** Milliseconds from admission to settlement. */
  readonly rttMs: number;
  /** Calls running when this one settled, itself included. */
  readonly inflight: number;
  /** A loss signal (a timeout, an overload error): back off whatever the latency. */
  readonly dropped: boolean;
}

/** How a failed call feeds the adaptive limit: a latency `sample`, a `drop` (loss signal), or nothing. */
export type SampleKind = 'sample' | 'drop' | 'ignore';

interface CommonLimitOptions {
  /** Starting limit (default 20, clamped into [min, max]). */
  initial?: number;
  /** Lowest limit (default 1). */
  min?: number;
  /** Highest limit (default 200 for AIMD, 1000 for Vegas). */
  max?: number;
  /**
   * How a failed call counts (successes are always latency samples). Default: abort errors are ignored,
   * every other error (a `TimeoutError` included) is a drop. weir's own rejections (circuit open, rate
   * limited, bulkhead full) are always ignored, before this is asked: they measure nothing.
   */
  classifyError?: (error: unknown) => SampleKind;
}

/** Additive increase, multiplicative decrease: a loss-based limit, best for clients of a dependency. */
export interface AimdLimitOptions extends CommonLimitOptions {
  algorithm: 'aimd';
  /** Factor applied on a drop, in [0.5, 1) (default 0.9). */
  backoffRatio?: number;
  /** A call slower than this counts as a drop (default Infinity: latency alone never backs off). */
  latencyThresholdMs?: number;
}

/** TCP Vegas: a delay-based limit that estimates the queue from the no-load latency, best for servers. */
export interface VegasLimitOptions extends CommonLimitOptions {
  algorithm: 'vegas';
  /** Weight of each new estimate, in (0, 1] (default 1). */
  smoothing?: number;
  /** Re-measure the no-load latency every `U(0.5, 1) × probeMultiplier × limit` samples (default 30). */
  probeMultiplier?: number;
  /** Samples taken at `min` concurrency during a probe (default 5). */
  probeSamples?: number;
}

export type AdaptiveLimitOptions = AimdLimitOptions | VegasLimitOptions;

export interface LimitState {
  /** The concurrency the bulkhead admits now (an integer in [min, max]). */
  readonly limit: number;
  /**
   * When the limit last changed (the settlement time of that sample). As TCP adjusts its window once per
   * round trip, a call admitted before this moment ran under an older limit and says nothing about the
   * current one, so it cannot change the limit again (without this, a burst of completions of calls
   * started before an increase would each increase it again).
   */
  readonly changedAt: number;
}

/** A sample that ran under the current limit (admitted after it was set). */
function current(state: LimitState, sample: LimitSample): boolean {
  return sample.startMs >= state.changedAt;
}

export interface LimitAlgorithm<S extends LimitState = LimitState> {
  readonly name: 'aimd' | 'vegas';
  readonly min: number;
  readonly max: number;
  initial(random: number): S;
  update(state: S, sample: LimitSample, random: number): S;
}

// ---------------------------------------------------------------------------------------------------------
// AIMD

export interface AimdConfig {
  readonly min: number;
  readonly max: number;
  readonly initial: number;
  readonly backoffRatio: number;
  readonly latencyThresholdMs: number;
}

/** Netflix AIMDLimit: a drop (or a call slower than the threshold) multiplies the limit by `backoffRatio`; a success while at least half the limit is in use adds 1. */
export function aimdUpdate(config: AimdConfig, state: LimitState, sample: LimitSample): LimitState {
  if (!current(state, sample)) return state;
  const limit = state.limit;
  let next = limit;
  if (sample.dropped || sample.rttMs > config.latencyThresholdMs) {
    next = Math.max(config.min, Math.floor(limit * config.backoffRatio));
  } else if (sample.inflight * 2 >= limit) {
    next = Math.min(config.max, limit + 1);
  }
  return next === limit ? state : { limit: next, changedAt: sample.startMs + sample.rttMs };
}

export function aimd(config: AimdConfig): LimitAlgorithm {
  return {
    name: 'aimd',
    min: config.min,
    max: config.max,
    initial: () => ({ limit: config.initial, changedAt: Number.NEGATIVE_INFINITY }),
    update: (state, sample) => aimdUpdate(config, state, sample),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Vegas

export interface VegasConfig {
  readonly min: number;
  readonly max: number;
  readonly initial: number;
  readonly smoothing: number;
  readonly probeMultiplier: number;
  readonly probeSamples: number;
}

export interface VegasState extends LimitState {
  /** The smoothed (fractional) limit estimate; `limit` is its floor, or `min` during a probe. */
  readonly estimate: number;
  /** The no-load latency (0 until the first sample). */
  readonly noLoadRtt: number;
  /** Samples since the last probe. */
  readonly count: number;
  /** This period's jitter of the probe interval, in [0.5, 1). */
  readonly jitter: number;
  /** Re-measuring the no-load latency at `min` concurrency. */
  readonly probing: boolean;
  readonly probeMin: number;
  readonly probeSeen: number;
}

function log10Floor(limit: number): number {
  return Math.max(1, Math.floor(Math.log10(limit)));
}

function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, value));
}

/** Builds a state literal of one fixed shape (object spread here cost ~0.5 µs per sample on Node 20). */
function vegasState(
  limit: number,
  changedAt: number,
  estimate: number,
  noLoadRtt: number,
  count: number,
  jitter: number,
  probing: boolean,
  probeMin: number,
  probeSeen: number,
): VegasState {
  return { limit, changedAt, estimate, noLoadRtt, count, jitter, probing, probeMin, probeSeen };
}

const INF = Number.POSITIVE_INFINITY;

export function vegasInitial(config: VegasConfig, random: number): VegasState {
  return vegasState(config.initial, -INF, config.initial, 0, 0, 0.5 + random * 0.5, false, INF, 0);
}

/**
 * Netflix VegasLimit. The queue at the dependency is estimated as `q = ceil(L × (1 − noLoadRtt / rtt))`;
 * with `lg = max(1, floor(log10 L))`: drop → `L − lg`; less than half the limit in use → hold; `q ≤ lg` →
 * `L + 6·lg`; `q < 3·lg` → `L + lg`; `q > 6·lg` → `L − lg`; else hold. So the limit settles where the
 * dependency queues 3 to 6 calls (for L < 100) beyond its best concurrency.
 *
 * One change from Netflix: Netflix's periodic probe resets the no-load latency to the current (loaded)
 * sample, which under sustained saturation ratchets the limit up at every probe. Here, as in Envoy's
 * adaptive concurrency filter, a probe admits only `min` calls at once until `probeSamples` calls
 * complete at that concurrency, and takes their minimum as the no-load latency.
 */
export function vegasUpdate(config: VegasConfig, state: VegasState, sample: LimitSample, random: number): VegasState {
  const { rttMs, dropped } = sample;
  const { limit, changedAt, estimate, noLoadRtt, jitter } = state;
  const end = sample.startMs + rttMs;
  if (state.probing) {
    // Only calls that ran at the probe's concurrency measure the no-load latency.
    if (dropped || !(rttMs > 0) || sample.inflight > config.min) return state;
    const probeMin = Math.min(state.probeMin, rttMs);
    const probeSeen = state.probeSeen + 1;
    if (probeSeen < config.probeSamples) {
      return vegasState(limit, changedAt, estimate, noLoadRtt, state.count, jitter, true, probeMin, probeSeen);
    }
    return vegasState(Math.floor(estimate), end, estimate, probeMin, 0, 0.5 + random * 0.5, false, INF, 0);
  }
  if (!dropped && !(rttMs > 0)) return state; // too fast for the clock to measure
  const count = state.count + 1;
  if (count >= jitter * config.probeMultiplier * estimate && noLoadRtt > 0) {
    return vegasState(config.min, end, estimate, noLoadRtt, count, jitter, true, INF, 0);
  }
  if (!dropped && (noLoadRtt === 0 || rttMs < noLoadRtt)) {
    return vegasState(limit, changedAt, estimate, rttMs, count, jitter, false, INF, 0);
  }
  const hold = vegasState(limit, changedAt, estimate, noLoadRtt, count, jitter, false, INF, 0);
  if (!current(state, sample)) return hold;
  const lg = log10Floor(estimate);
  let target: number;
  if (dropped) {
    target = estimate - lg;
  } else if (sample.inflight * 2 < estimate) {
    return hold; // the application, not the dependency, limits the concurrency
  } else {
    const queue = Math.ceil(estimate * (1 - noLoadRtt / rttMs));
    if (queue <= lg) target = estimate + 6 * lg;
    else if (queue < 3 * lg) target = estimate + lg;
    else if (queue > 6 * lg) target = estimate - lg;
    else return hold;
  }
  target = clamp(target, config.min, config.max);
  let next = clamp((1 - config.smoothing) * estimate + config.smoothing * target, config.min, config.max);
  // Smoothing between two equal values can round up by an ulp: a drop must never raise the estimate.
  if (dropped && next > estimate) next = estimate;
  const nextLimit = Math.floor(next);
  return vegasState(nextLimit, nextLimit === limit ? changedAt : end, next, noLoadRtt, count, jitter, false, INF, 0);
}

export function vegas(config: VegasConfig): LimitAlgorithm<VegasState> {
  return {
    name: 'vegas',
    min: config.min,
    max: config.max,
    initial: (random) => vegasInitial(config, random),
    update: (state, sample, random) => vegasUpdate(config, state, sample, random),
  };
}
