/**
 * Sliding windows of call outcomes for the circuit breaker. Both keep running totals beside a fixed ring,
 * so recording an outcome and reading the totals are O(1) and allocate nothing, whatever the window holds
 * (opossum sorts every latency in its window on each failure; resilience4j allocates a snapshot per call).
 * `clear()` is O(1) too: the breaker clears its window on every state transition.
 *
 * An outcome is a small code: bit 0 = failure, bit 1 = slow (see {@link Outcome}).
 */
export enum Outcome {
  Success = 0,
  Failure = 1,
  Slow = 2,
  /** An outcome the breaker counts neither way (see `isFailure`); never recorded in a window. */
  Ignored = 4,
}

export interface OutcomeWindow {
  /** Calls, failures and slow calls in the window as of the last `advance`/`record`. */
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** Drops what has fallen out of the window by `now` (a no-op for count windows). */
  advance(now: number): void;
  /** Advances to `now`, then adds one outcome. */
  record(now: number, outcome: number): void;
  /** Forgets everything. */
  clear(now: number): void;
}

/** The last `size` recorded calls: a ring of outcome codes, one byte per call. */
export class CountWindow implements OutcomeWindow {
  calls = 0;
  failures = 0;
  slowCalls = 0;
  private readonly ring: Uint8Array;
  private head = 0;

  constructor(readonly size: number) {
    this.ring = new Uint8Array(size);
  }

  advance(_now: number): void {}

  record(_now: number, outcome: number): void {
    const ring = this.ring;
    const head = this.head;
    // A success adds nothing to the totals: counting is out of line, so that the common record (a success
    // over a success) is a few bytes, which the breaker's solo path inlines whole.
    if (this.calls !== this.size) this.calls++;
    else if (ring[head] !== Outcome.Success) this.count(ring[head] as number, -1); // "subtract on evict"
    ring[head] = outcome;
    if (outcome !== Outcome.Success) this.count(outcome, 1);
    this.head = head + 1 === this.size ? 0 : head + 1;
  }

  /** `record(_, Outcome.Success)` in fewer bytes: the breaker's commonest record, which its solo path inlines. */
  recordSuccess(): void {
    const head = this.head;
    if (this.calls !== this.size) {
      this.calls++;
      this.ring[head] = Outcome.Success; // a cleared ring keeps stale outcomes
    } else if (this.ring[head] !== Outcome.Success) {
      this.record(0, Outcome.Success);
      return;
    }
    this.head = head + 1 === this.size ? 0 : head + 1;
  }

  private count(outcome: number, sign: 1 | -1): void {
    this.failures += sign * (outcome & Outcome.Failure);
    this.slowCalls += sign * ((outcome & Outcome.Slow) >> 1);
  }

  clear(_now: number): void {
    // Slots are rewritten before they are ever evicted again, so the ring itself needs no wipe.
    this.calls = this.failures = this.slowCalls = this.head = 0;
  }
}

/**
 * The last `durationMs`, in `buckets` buckets of `durationMs / buckets` each: a call recorded at `t` counts
 * while `floor(t / bucketMs) > floor(now / bucketMs) - buckets`. Each bucket remembers the bucket number
 * (epoch) it holds. Moving to a later epoch evicts every bucket passed over, not just one (cockatiel's
 * SamplingBreaker expires one bucket per call, so an hour-old failure can still count); a gap of a whole
 * window or more empties the window at once.
 */
export class TimeWindow implements OutcomeWindow {
  calls = 0;
  failures = 0;
  slowCalls = 0;
  readonly bucketMs: number;
  private readonly callsAt: Float64Array;
  private readonly failuresAt: Float64Array;
  private readonly slowAt: Float64Array;
  private readonly epochAt: Float64Array;
  /** Epoch of the newest bucket. */
  private headEpoch = Number.NEGATIVE_INFINITY;
  /** Buckets stamped with an earlier epoch were dropped by `clear` (or never written) and hold nothing counted. */
  private validFrom = Number.POSITIVE_INFINITY;

  constructor(
    readonly durationMs: number,
    readonly buckets: number,
  ) {
    this.bucketMs = durationMs / buckets;
    this.callsAt = new Float64Array(buckets);
    this.failuresAt = new Float64Array(buckets);
    this.slowAt = new Float64Array(buckets);
    this.epochAt = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
  }

  /** Bucket index of an epoch (epochs may be negative on a clock that starts below 0). */
  private index(epoch: number): number {
    const i = epoch % this.buckets;
    return i < 0 ? i + this.buckets : i;
  }

  advance(now: number): void {
    const epoch = Math.floor(now / this.bucketMs);
    const head = this.headEpoch;
    if (epoch <= head) return;
    this.headEpoch = epoch;
    if (epoch - head >= this.buckets) {
      // Idle for a whole window or more: everything is stale. Old buckets are excluded by `validFrom` and
      // zeroed lazily when their index is reused.
      this.calls = this.failures = this.slowCalls = 0;
      this.validFrom = epoch;
      this.wipe(epoch);
      return;
    }
    for (let e = head + 1; e <= epoch; e++) this.wipe(e);
  }

  /** Evicts whatever bucket `epoch` reuses and stamps it with `epoch`, empty. */
  private wipe(epoch: number): void {
    const i = this.index(epoch);
    if ((this.epochAt[i] as number) >= this.validFrom) {
      this.calls -= this.callsAt[i] as number;
      this.failures -= this.failuresAt[i] as number;
      this.slowCalls -= this.slowAt[i] as number;
    }
    this.callsAt[i] = this.failuresAt[i] = this.slowAt[i] = 0;
    this.epochAt[i] = epoch;
  }

  record(now: number, outcome: number): void {
    this.advance(now);
    const i = this.index(this.headEpoch);
    const failed = outcome & Outcome.Failure;
    const slow = (outcome & Outcome.Slow) >> 1;
    this.callsAt[i] = (this.callsAt[i] as number) + 1;
    this.failuresAt[i] = (this.failuresAt[i] as number) + failed;
    this.slowAt[i] = (this.slowAt[i] as number) + slow;
    this.calls++;
    this.failures += failed;
    this.slowCalls += slow;
  }

  clear(now: number): void {
    this.advance(now);
    // The current bucket stays in use, so empty it now; older ones are excluded by `validFrom`.
    this.wipe(this.headEpoch);
    this.calls = this.failures = this.slowCalls = 0;
    this.validFrom = this.headEpoch;
  }
}
