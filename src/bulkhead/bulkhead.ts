/**
 * `bulkhead(options)`: at most `maxConcurrent` calls run at once; up to `maxQueue` more wait for a slot, in
 * FIFO or LIFO order, for at most `maxQueueWaitMs`; beyond that a call is rejected at once with
 * `BulkheadFullError`. `maxConcurrent` may be an adaptive limit (AIMD or Vegas) learned from each call.
 *
 * One policy instance is one pool: every function it guards, and every permit taken with
 * `tryAcquire`/`acquire` (load shedding without wrapping a function), shares the same slots and queue.
 *
 * Lean paths: a free slot is taken synchronously (a counter and a compare); a full queue rejects with a
 * stackless error; only a queued call listens to its signal, and the queue keeps at most one clock timer
 * armed, for the oldest waiter's deadline (waiters are kept in arrival order, so deadlines only grow).
 */
import type { Clock } from '../core/clock.js';
import { DeadlineEntry, DeadlineQueue } from '../core/deadlines.js';
import { BulkheadFullError, isAbortError, isTimeoutError, isWeirError } from '../core/errors.js';
import { Emitter, type EventProbe } from '../core/events.js';
import { policyName } from '../core/names.js';
import {
  type Call,
  Directive,
  rejectNextTurn,
  runInPipeline,
  type SoloInvoke,
  type Stage,
  StageKind,
  type StageList,
} from '../core/pipeline.js';
import { createPolicy, type Policy } from '../core/policy.js';
import { neverAborted, unwatchAbort, watchAbort } from '../core/signal.js';
import { checkOptions, checkSignal, show } from '../core/validate.js';
import type { AdaptiveLimitOptions, LimitAlgorithm, LimitSample, LimitState, SampleKind } from './limits.js';
import { BULKHEAD_OPTIONS, parseBulkheadOptions, type QueueOrder } from './options.js';

export type { QueueOrder };

export interface BulkheadOptions {
  /** Calls that may run at once: an integer >= 1, or an adaptive limit (`{ algorithm: 'aimd' | 'vegas', ... }`). */
  maxConcurrent: number | AdaptiveLimitOptions;
  /** Calls that may wait for a slot (default 0: reject at once when full). `Infinity` for no bound. */
  maxQueue?: number;
  /** Longest wait in the queue before rejecting with `BulkheadFullError` (reason `queue-timeout`); default Infinity. */
  maxQueueWaitMs?: number;
  /** Which waiter gets a freed slot: the oldest (`fifo`, default) or the newest (`lifo`). */
  queueOrder?: QueueOrder;
  clock?: Clock;
  /** Names the policy in its events and messages (default `bulkhead-<n>`). */
  name?: string;
}

/** Why a call did not get a slot: the queue was full, its wait ran out, or its signal aborted while queued. */
export type BulkheadEventReason = 'full' | 'queue-timeout' | 'aborted';

export interface BulkheadEvents {
  /** A call (or permit) got a slot; `waitedMs` is its time in the queue (0 when a slot was free). */
  acquired: { running: number; queued: number; waitedMs: number };
  /** A call had to wait for a slot. */
  queued: { running: number; queued: number };
  /** A call did not get a slot (for `aborted`, it rejects with its signal's reason, not a `BulkheadFullError`). */
  rejected: { reason: BulkheadEventReason; running: number; queued: number };
  /** A slot was freed (before it is handed to the next waiter, if any). */
  released: { running: number; queued: number };
  /** The adaptive limit changed. */
  limit: { limit: number; previous: number };
}

/** How a permit's work ended, for the adaptive limit: a latency sample, a drop (loss signal), or neither. */
export type PermitOutcome = 'success' | 'drop' | 'ignore';

/** A slot taken with `tryAcquire` or `acquire`. */
export interface BulkheadPermit {
  /**
   * Frees the slot (handing it to the next waiter). `outcome` feeds an adaptive limit (default `success`:
   * the time since the slot was granted is a latency sample). Only the first call does anything; it
   * returns `true`, later calls `false`.
   */
  release(outcome?: PermitOutcome): boolean;
}

export interface BulkheadPolicy extends Policy<BulkheadEvents> {
  /** Calls (and permits) holding a slot now. */
  readonly running: number;
  /** Calls (and `acquire`s) waiting for a slot now. */
  readonly queued: number;
  /** The current concurrency limit (fixed, or the adaptive limit's current value). */
  readonly limit: number;
  readonly maxQueue: number;
  readonly maxQueueWaitMs: number;
  readonly queueOrder: QueueOrder;
  /** `aimd` or `vegas` for an adaptive limit, else `undefined`. */
  readonly algorithm: 'aimd' | 'vegas' | undefined;
  /** Takes a slot now if one is free and nobody is queued (never waits); `undefined` when there is none. */
  tryAcquire(): BulkheadPermit | undefined;
  /**
   * Takes a slot, waiting in the queue like a guarded call. Rejects with `BulkheadFullError` (queue full or
   * wait timed out) or with the signal's reason when `signal` aborts (before or during the wait).
   */
  acquire(signal?: AbortSignal): Promise<BulkheadPermit>;
}

/** What an adaptive limit does with a call's outcome. */
enum Kind {
  Sample = 0,
  Drop = 1,
  Ignore = 2,
}

/** A call (or an `acquire`) waiting for a slot; a node of the pool's arrival-ordered queue. */
class Waiter extends DeadlineEntry {
  resolve!: (value: unknown) => void;
  reject!: (reason: unknown) => void;
  readonly promise: Promise<unknown>;
  constructor(
    private readonly pool: Pool,
    /** The guarded call, or undefined for an `acquire` (which resolves to a permit). */
    readonly call: Call | undefined,
    readonly slot: number,
    readonly signal: AbortSignal,
    readonly enqueuedAt: number,
  ) {
    super();
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** The waiter's signal aborted: leave the queue at once. */
  handleEvent(): void {
    this.pool.abortWaiter(this);
  }
}

class Permit implements BulkheadPermit {
  private held = true;
  constructor(
    private readonly pool: Pool,
    private readonly start: number,
  ) {}

  release(outcome: PermitOutcome = 'success'): boolean {
    const kind = outcome === 'success' ? Kind.Sample : outcome === 'drop' ? Kind.Drop : outcome === 'ignore' ? Kind.Ignore : -1;
    if (kind === -1) {
      throw new TypeError(`bulkhead permit.release: outcome must be "success", "drop" or "ignore", got ${show(outcome)}`);
    }
    if (!this.held) return false;
    this.held = false;
    this.pool.record(this.start, kind as Kind);
    this.pool.release();
    return true;
  }
}

function classifyKind(kind: SampleKind): Kind {
  if (kind === 'sample') return Kind.Sample;
  if (kind === 'drop') return Kind.Drop;
  if (kind === 'ignore') return Kind.Ignore;
  throw new TypeError(`bulkhead: classifyError must return "sample", "drop" or "ignore", got ${show(kind)}`);
}

/** The shared state of one bulkhead: slots, queue, timer, adaptive limit. It is also the pipeline stage. */
class Pool implements Stage {
  readonly kind = StageKind.Bulkhead;
  running = 0;
  limit: number;
  /** Waiters in arrival order, which is also deadline order (one wait bound on a monotonic clock). */
  private readonly queue: DeadlineQueue<Waiter>;
  private state: LimitState | undefined;
  private readonly lifo: boolean;
  /** `events.has('acquired' | 'released')` without a lookup by name: asked on every call. */
  private readonly acquiredProbe: EventProbe<BulkheadEvents['acquired']>;
  private readonly releasedProbe: EventProbe<BulkheadEvents['released']>;

  /** Waiters now. */
  get size(): number {
    return this.queue.size;
  }

  constructor(
    fixedLimit: number,
    readonly maxQueue: number,
    readonly maxQueueWaitMs: number,
    readonly order: QueueOrder,
    private readonly clock: Clock,
    private readonly events: Emitter<BulkheadEvents>,
    readonly algorithm: LimitAlgorithm<any> | undefined,
    private readonly classifyError: ((error: unknown) => SampleKind) | undefined,
    readonly name: string,
  ) {
    this.lifo = order === 'lifo';
    this.acquiredProbe = events.probe('acquired', true);
    this.releasedProbe = events.probe('released');
    this.queue = new DeadlineQueue<Waiter>(clock, (waiter) => this.timedOut(waiter));
    this.state = algorithm?.initial(clock.random());
    this.limit = this.state === undefined ? fixedLimit : this.state.limit;
  }

  // --- Stage ---------------------------------------------------------------------------------------------

  enter(call: Call, slot: number): unknown {
    // `size === 0` keeps a call made from a `released` listener from jumping the queue.
    if (this.running < this.limit && this.queue.size === 0) {
      this.running++;
      if (this.algorithm !== undefined) call.slots[slot] = this.clock.now();
      this.acquired(0);
      return undefined;
    }
    if (call.aborted) return call.abortReason;
    return this.enqueue(call, slot, call.signal);
  }

  /**
   * The pipeline's solo path: a static bulkhead with a free slot runs the call in place, as `enter`/`exit`
   * would. Not async itself, and the other cases out of line: the executor inlines this into the caller,
   * and V8's inlining budget is better spent on the call's own path.
   */
  solo(
    stages: StageList,
    fn: Function,
    thisArg: unknown,
    args: readonly unknown[] | undefined,
    invoke: SoloInvoke,
  ): Promise<unknown> {
    if (this.algorithm === undefined && this.running < this.limit && this.queue.size === 0) {
      return this.runHere(fn, thisArg, args, invoke);
    }
    return this.soloElsewhere(stages, fn, thisArg, args, invoke);
  }

  private soloElsewhere(
    stages: StageList,
    fn: Function,
    thisArg: unknown,
    args: readonly unknown[] | undefined,
    invoke: SoloInvoke,
  ): Promise<unknown> {
    if (this.algorithm !== undefined || this.size < this.maxQueue) return runInPipeline(stages, fn, thisArg, args, invoke);
    // No slot and no room to wait: refused here, as `enter` would, without the pipeline's call record.
    return rejectNextTurn(this.full());
  }

  private async runHere(
    fn: Function,
    thisArg: unknown,
    args: readonly unknown[] | undefined,
    invoke: SoloInvoke,
  ): Promise<unknown> {
    this.running++;
    this.acquired(0);
    try {
      return await invoke(fn, thisArg, args);
    } finally {
      this.release();
    }
  }

  exit(call: Call, slot: number): Directive {
    // Small on purpose (see the breaker's enter): the adaptive bookkeeping is out of line.
    if (this.algorithm !== undefined) return this.exitAdaptive(call, slot);
    this.release();
    return Directive.Continue;
  }

  private exitAdaptive(call: Call, slot: number): Directive {
    const start = call.slots[slot] as number;
    call.slots[slot] = undefined;
    let kind: Kind;
    try {
      // A call its caller cancelled says nothing about the dependency (a deadline that expired does).
      const cancelled = call.outer?.aborted === true && call.value === call.outer.reason && !isTimeoutError(call.value);
      kind = call.ok ? Kind.Sample : cancelled ? Kind.Ignore : this.classify(call.value);
    } catch (error) {
      // A throwing classifier becomes the outcome (as any throwing exit does); the slot is still freed.
      this.release();
      throw error;
    }
    this.record(start, kind);
    this.release();
    return Directive.Continue;
  }

  // --- Permits -------------------------------------------------------------------------------------------

  tryAcquire(): BulkheadPermit | undefined {
    if (this.running < this.limit && this.size === 0) {
      this.running++;
      this.acquired(0);
      return new Permit(this, this.algorithm === undefined ? 0 : this.clock.now());
    }
    if (this.events.has('rejected')) this.emitRejected('full');
    return undefined;
  }

  acquire(signal: AbortSignal | undefined): Promise<BulkheadPermit> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.limit && this.size === 0) {
      this.running++;
      this.acquired(0);
      return Promise.resolve(new Permit(this, this.algorithm === undefined ? 0 : this.clock.now()));
    }
    const queued = this.enqueue(undefined, 0, signal ?? neverAborted);
    return (queued instanceof Promise ? queued : Promise.reject(queued)) as Promise<BulkheadPermit>;
  }

  // --- Slots and queue -----------------------------------------------------------------------------------

  /** Frees one slot and hands free slots to waiters. */
  release(): void {
    this.running--;
    if (this.releasedProbe.active) this.emitReleased();
    if (this.queue.size !== 0) this.drain();
  }

  private emitReleased(): void {
    this.releasedProbe.emit({ running: this.running, queued: this.size });
  }

  private drain(): void {
    const queue = this.queue;
    while (this.running < this.limit && queue.size !== 0) {
      this.grant((this.lifo ? queue.tail : queue.head) as Waiter);
    }
  }

  private grant(waiter: Waiter): void {
    this.remove(waiter);
    this.running++;
    const probe = this.acquiredProbe;
    const now = this.algorithm !== undefined || probe.tallying !== 0 || probe.active ? this.clock.now() : 0;
    const call = waiter.call;
    if (call === undefined) {
      waiter.resolve(new Permit(this, now));
    } else {
      if (this.algorithm !== undefined) call.slots[waiter.slot] = now;
      waiter.resolve(undefined);
    }
    this.acquired(now - waiter.enqueuedAt);
  }

  /** The refusal of a call that finds no slot and no room in the queue. */
  private full(): BulkheadFullError {
    if (this.events.has('rejected')) this.emitRejected('full');
    return BulkheadFullError.fast('full', this.limit, this.name);
  }

  private enqueue(call: Call | undefined, slot: number, signal: AbortSignal): Promise<unknown> | BulkheadFullError {
    if (this.size >= this.maxQueue) return this.full();
    const now = this.clock.now();
    const waiter = new Waiter(this, call, slot, signal, now);
    this.queue.add(waiter, now + this.maxQueueWaitMs);
    if (signal !== neverAborted) watchAbort(signal, waiter);
    if (this.events.has('queued')) this.events.emit('queued', { running: this.running, queued: this.size });
    return waiter.promise;
  }

  /** Takes a waiter out of the queue and stops listening to its signal. */
  private remove(waiter: Waiter): void {
    this.queue.remove(waiter);
    if (waiter.signal !== neverAborted) unwatchAbort(waiter.signal, waiter);
  }

  abortWaiter(waiter: Waiter): void {
    if (!waiter.queued) return;
    this.remove(waiter);
    waiter.reject(waiter.signal.reason);
    if (this.events.has('rejected')) this.emitRejected('aborted');
  }

  /** The deadline queue took `waiter` out: its wait ran out. */
  private timedOut(waiter: Waiter): void {
    if (waiter.signal !== neverAborted) unwatchAbort(waiter.signal, waiter);
    waiter.reject(BulkheadFullError.fast('queue-timeout', this.limit, this.name));
    if (this.events.has('rejected')) this.emitRejected('queue-timeout');
  }

  // --- Adaptive limit ------------------------------------------------------------------------------------

  private classify(error: unknown): Kind {
    // weir's own rejections measure nothing about the dependency.
    if (isWeirError(error) && !isTimeoutError(error)) return Kind.Ignore;
    if (this.classifyError !== undefined) return classifyKind(this.classifyError(error));
    return isAbortError(error) ? Kind.Ignore : Kind.Drop;
  }

  /** Feeds one settled call (still counted in `running`) to the adaptive limit. */
  record(start: number, kind: Kind): void {
    const algorithm = this.algorithm;
    if (algorithm === undefined || kind === Kind.Ignore) return;
    const sample: LimitSample = {
      startMs: start,
      rttMs: this.clock.now() - start,
      inflight: this.running,
      dropped: kind === Kind.Drop,
    };
    const state = algorithm.update(this.state, sample, this.clock.random());
    this.state = state;
    const previous = this.limit;
    if (state.limit !== previous) {
      this.limit = state.limit;
      if (this.events.has('limit')) this.events.emit('limit', { limit: state.limit, previous });
    }
  }

  // --- Events --------------------------------------------------------------------------------------------

  /** A slot was taken after `waitedMs` in the queue: tallied (weight: the wait) and emitted, each when due. */
  private acquired(waitedMs: number): void {
    const probe = this.acquiredProbe;
    if (probe.tallying !== 0) probe.tally(waitedMs);
    if (probe.active) this.emitAcquired(waitedMs);
  }

  private emitAcquired(waitedMs: number): void {
    this.acquiredProbe.emit({ running: this.running, queued: this.size, waitedMs });
  }

  private emitRejected(reason: BulkheadEventReason): void {
    this.events.emit('rejected', { reason, running: this.running, queued: this.size });
  }
}

/** Limits how many calls run at once, with a bounded, abortable queue; see {@link BulkheadOptions}. */
export function bulkhead(maxConcurrentOrOptions: number | BulkheadOptions): BulkheadPolicy {
  const options: BulkheadOptions =
    typeof maxConcurrentOrOptions === 'number' ? { maxConcurrent: maxConcurrentOrOptions } : maxConcurrentOrOptions;
  if (options === undefined) throw new TypeError('bulkhead: expected maxConcurrent or an options object, got undefined');
  checkOptions('bulkhead', options, BULKHEAD_OPTIONS);
  const name = policyName('bulkhead', options.name);
  const {
    fixedLimit,
    adaptive,
    maxQueue,
    maxQueueWaitMs,
    queueOrder: order,
    clock,
  } = parseBulkheadOptions(options as unknown as Record<string, unknown>);
  const events = new Emitter<BulkheadEvents>(new Set(['acquired', 'queued', 'rejected', 'released', 'limit']));
  const pool = new Pool(
    fixedLimit,
    maxQueue,
    maxQueueWaitMs,
    order,
    clock,
    events,
    adaptive?.algorithm,
    adaptive?.classifyError,
    name,
  );
  return createPolicy<BulkheadEvents, never, Omit<BulkheadPolicy, keyof Policy<BulkheadEvents>> & { readonly name: string }>(
    [pool],
    events,
    {
      name,
      get running() {
        return pool.running;
      },
      get queued() {
        return pool.size;
      },
      get limit() {
        return pool.limit;
      },
      maxQueue,
      maxQueueWaitMs,
      queueOrder: order,
      algorithm: adaptive?.algorithm.name,
      tryAcquire: () => pool.tryAcquire(),
      acquire: (signal?: AbortSignal) => {
        try {
          return pool.acquire(checkSignal('bulkhead.acquire', signal));
        } catch (error) {
          return Promise.reject(error);
        }
      },
    },
  );
}
