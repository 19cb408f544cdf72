/**
 * The rate-limit store contract: where limiters keep per-key state. The memory store (memory.ts) and the
 * Redis store (weir/redis) implement it, and anyone may write another.
 *
 * A store is bound once per limiter (`bind(algorithm, clock)`); the binding ({@link BoundRateLimitStore})
 * is what the limiter, the `rateLimit` policy and the HTTP adapters call, all through the same members:
 *
 * - `take(key, cost, consume, limits?)` loads the key's state, runs the algorithm's pure step (see
 *   algorithms.ts) at the store's own time in integer µs, and saves the step's next state only when the
 *   take was allowed, `consume` is true and `cost > 0`: a refused take, a peek and a zero-cost take write
 *   nothing. `limits` are the parameters for this call (a key's tier, or the limiter's current limits
 *   after a reconfiguration); absent, the bound algorithm's. They always have the bound algorithm's kind.
 * - `takeSync` exists only when the answer is available without I/O (the memory store); the policy and the
 *   adapters use it when present and stay on the synchronous path.
 * - `admitSync(key, cost, consume, limits?)`, optional beside `takeSync`, is `takeSync` for a caller that
 *   needs only the verdict: the whole units left when allowed (a number, no decision object built), the
 *   refused decision otherwise. It is called as a method of the binding. The `rateLimit` policy uses it on
 *   every call.
 * - `refund(key, cost, limits?)` gives back up to `cost` units of the key's recent takes, never beyond full,
 *   atomically, and answers like a zero-cost peek after it. Optional: a limiter whose store has none
 *   refuses `refund` with a TypeError.
 * - `timeoutMs`: the store's own deadline for an answer (the Redis store's), after which it decides by its
 *   own failure rule. Callers that put a backstop on a take (the HTTP adapters) make it longer, so the
 *   store's rule decides first. Absent: the store has no deadline of its own.
 * - State semantics every store keeps: fresh state (a key never seen, or forgotten) is all zeros, and
 *   state back to full decides exactly like fresh state, so a store may forget a full key at any time.
 *   A store must never forget a key that still holds usage in a way that gives it back (see memory.ts
 *   for how the memory store keeps that under floods of keys).
 *
 * A Redis twin runs the same steps in Lua: `TIME` (seconds * 1e6 + µs, minus a fixed origin so that
 * GCRA's `nowUs * ticksPerUs` stays below 2^53), the state as a few numbers, and a PEXPIRE of `step.fullUs`
 * (rounded up to ms) so that state back to full disappears.
 */
import type { Clock } from '../core/clock.js';
import type { RateLimitReason } from '../core/errors.js';
import {
  type GcraConfig,
  gcraStep,
  type SlidingCounterConfig,
  type SlidingLogConfig,
  type StepResult,
  slidingCounterStep,
  type TokenBucketConfig,
  tokenBucketStep,
} from './algorithms.js';

export type AlgorithmConfig = TokenBucketConfig | GcraConfig | SlidingCounterConfig | SlidingLogConfig;

/** Why a take was refused: over the limit for now, or a cost above the limit that can never pass. */
export type RateLimitDecisionReason = RateLimitReason;

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** The most a key can take at once: capacity, burst, or limit per window. */
  readonly limit: number;
  /** Whole units left (never negative): after this take when allowed, now when refused or peeked. */
  readonly remaining: number;
  /** Exact wait in ms (rounded up) until the same take would be allowed; 0 when allowed; Infinity when never. */
  readonly retryAfterMs: number;
  /** Time in ms (rounded up) until the key is back to full. */
  readonly resetAfterMs: number;
  /** `undefined` when allowed. */
  readonly reason: RateLimitDecisionReason | undefined;
  /**
   * The limits this decision was made with (the key's tier, the limiter's name, the window an HTTP
   * `RateLimit-Policy` reports). Set by the built-in stores; a custom store may leave it out.
   */
  readonly limits?: RateLimitAlgorithm;
}

/** An algorithm with its validated, integer configuration: what a store needs to run it. */
export interface RateLimitAlgorithm {
  readonly config: AlgorithmConfig;
  /** capacity, burst, or limit. */
  readonly limit: number;
  /** Number of state values per key for fixed-size algorithms; 0 for the sliding log. */
  readonly stateSize: number;
  /** Longest time any state takes to return to full, in µs: a key idle this long holds no information. */
  readonly fullAfterUs: number;
  /** The limiter's name. */
  readonly name: string;
  /** The tier these limits belong to; `undefined` for the limiter's default limits. */
  readonly tier: string | undefined;
}

/** One limiter's binding to a store: the declared contract (see the module comment). */
export interface BoundRateLimitStore {
  /** The store's own deadline for an answer, in ms; absent when it has none. */
  readonly timeoutMs?: number;
  take(key: string, cost: number, consume: boolean, limits?: RateLimitAlgorithm): Promise<RateLimitDecision>;
  /** Optional synchronous fast path (no I/O). */
  readonly takeSync?: (key: string, cost: number, consume: boolean, limits?: RateLimitAlgorithm) => RateLimitDecision;
  /** Optional `takeSync` that answers an allowed take with the units left only; called as a method of the binding. */
  admitSync?(key: string, cost: number, consume: boolean, limits?: RateLimitAlgorithm): number | RateLimitDecision;
  /** Gives back up to `cost` units, never beyond full; answers like a zero-cost peek after it. */
  refund?(key: string, cost: number, limits?: RateLimitAlgorithm): Promise<RateLimitDecision>;
  /** Optional synchronous refund (no I/O). */
  readonly refundSync?: (key: string, cost: number, limits?: RateLimitAlgorithm) => RateLimitDecision;
  reset(key: string): Promise<void>;
}

export interface RateLimitStore {
  bind(algorithm: RateLimitAlgorithm, clock: Clock): BoundRateLimitStore;
}

/** @internal A step's `resetAfterMs`: the time until its key is back to full, rounded up to whole ms. */
export function resetAfterMsOf(step: StepResult): number {
  return Math.ceil(step.fullUs / 1000);
}

/** @internal A step's result as a decision (times rounded up to ms, `remaining` never below 0). */
export function toDecision(algorithm: RateLimitAlgorithm, step: StepResult): RateLimitDecision {
  // Small on purpose, each half in a function of its own: this inlines into the Redis store's path per
  // decision, and the memory store calls the halves directly.
  return step.allowed ? allowedDecision(algorithm, step) : refusedDecision(algorithm, step);
}

/** @internal An allowed step's decision (see {@link toDecision}). */
export function allowedDecision(algorithm: RateLimitAlgorithm, step: StepResult): RateLimitDecision {
  return {
    allowed: true,
    limit: algorithm.limit,
    remaining: Math.max(step.remaining, 0),
    retryAfterMs: 0,
    resetAfterMs: resetAfterMsOf(step),
    reason: undefined,
    limits: algorithm,
  };
}

/** @internal A refused step's decision (see {@link toDecision}). */
export function refusedDecision(algorithm: RateLimitAlgorithm, step: StepResult): RateLimitDecision {
  return {
    allowed: false,
    limit: algorithm.limit,
    remaining: Math.max(step.remaining, 0),
    retryAfterMs: step.never ? Number.POSITIVE_INFINITY : Math.ceil(step.waitUs / 1000),
    resetAfterMs: resetAfterMsOf(step),
    reason: step.never ? 'cost-exceeds-limit' : 'limit',
    limits: algorithm,
  };
}

/** @internal Runs the pure step of a fixed-size algorithm on `state[at..]`. */
export function runFixedStep(
  config: AlgorithmConfig,
  state: ArrayLike<number>,
  at: number,
  nowUs: number,
  cost: number,
  out: StepResult,
): void {
  switch (config.kind) {
    case 'token-bucket':
      tokenBucketStep(state[at] as number, state[at + 1] as number, nowUs, cost, config, out);
      return;
    case 'gcra':
      gcraStep(state[at] as number, nowUs, cost, config, out);
      return;
    case 'sliding-window-counter':
      slidingCounterStep(state[at] as number, state[at + 1] as number, state[at + 2] as number, nowUs, cost, config, out);
      return;
    default:
      noFixedState(config);
  }
}

function noFixedState(config: AlgorithmConfig): never {
  throw new TypeError(`runFixedStep: ${config.kind} has no fixed-size state`);
}
