import type { Clock, TimerHandle } from './clock.js';

/** A signal that never aborts: the context's signal when the caller gave none and no timeout applies. */
export const neverAborted: AbortSignal = new AbortController().signal;

/** What an abort notifies: the same `handleEvent` an `EventTarget` listener object has. */
export interface AbortTarget {
  handleEvent(): void;
}

/**
 * The one `abort` listener weir keeps on a signal, however many calls, sleeps and queue waits share that
 * signal (a request's signal handed to a thousand calls adds one listener, not a thousand, so Node never
 * warns about a leak). It is added with the first target and removed with the last, so nothing stays on
 * the signal once the calls that used it have ended.
 */
export class AbortFanout {
  private readonly targets = new Set<AbortTarget>();
  constructor(readonly signal: AbortSignal) {}

  add(target: AbortTarget): void {
    if (this.targets.size === 0) this.signal.addEventListener('abort', this);
    this.targets.add(target);
  }

  /** Stops notifying `target` (a no-op if it was not watching or was already notified). */
  remove(target: AbortTarget): void {
    if (this.targets.delete(target) && this.targets.size === 0) this.signal.removeEventListener('abort', this);
  }

  /** How many targets are watching (for tests). */
  get size(): number {
    return this.targets.size;
  }

  handleEvent(): void {
    this.signal.removeEventListener('abort', this);
    const targets = [...this.targets];
    this.targets.clear();
    for (const target of targets) {
      try {
        target.handleEvent();
      } catch (error) {
        // As an EventTarget does with a throwing listener: report it, and still notify the others.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

const fanouts = new WeakMap<AbortSignal, AbortFanout>();

/**
 * Notifies `target` once when `signal` aborts, through the signal's one shared listener; returns the fanout
 * to call `remove(target)` on. The caller checks `signal.aborted` first: like `addEventListener`, this never
 * fires for a signal that has already aborted.
 */
export function watchAbort(signal: AbortSignal, target: AbortTarget): AbortFanout {
  let fanout = fanouts.get(signal);
  if (fanout === undefined) {
    fanout = new AbortFanout(signal);
    fanouts.set(signal, fanout);
  }
  fanout.add(target);
  return fanout;
}

/** Stops notifying `target` of `signal`'s abort (a no-op if it was not watching). */
export function unwatchAbort(signal: AbortSignal, target: AbortTarget): void {
  fanouts.get(signal)?.remove(target);
}

/** The fanout of `signal`, if weir ever watched it (for tests). */
export function fanoutOf(signal: AbortSignal): AbortFanout | undefined {
  return fanouts.get(signal);
}

/** Node clamps longer timer delays to 1 ms: longer sleeps are taken in steps of at most this. */
const MAX_TIMER_MS = 2_147_483_647;

class Sleep {
  timer: TimerHandle = undefined;
  resolve!: () => void;
  reject!: (reason: unknown) => void;
  readonly promise: Promise<void>;
  private readonly until: number;
  private fanout: AbortFanout | undefined = undefined;
  constructor(
    private readonly clock: Clock,
    ms: number,
    private readonly signal: AbortSignal,
  ) {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.until = clock.now() + ms;
    // An infinite sleep arms no timer: only the signal ends it.
    if (ms !== Number.POSITIVE_INFINITY) this.timer = clock.setTimer(() => this.done(), Math.min(ms, MAX_TIMER_MS), true);
    if (signal !== neverAborted) this.fanout = watchAbort(signal, this);
  }
  private done(): void {
    const left = this.until - this.clock.now();
    if (left >= 1) {
      this.timer = this.clock.setTimer(() => this.done(), Math.min(left, MAX_TIMER_MS), true);
      return;
    }
    this.fanout?.remove(this);
    this.resolve();
  }
  /** Abort listener: stop at once, clear the timer, reject with the abort reason. */
  handleEvent(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.fanout?.remove(this);
    this.reject(this.signal.reason);
  }
}

/**
 * Waits `ms` on `clock`; a pending call awaits it, so its timer keeps the process alive. Rejects at once with `signal.reason` when the signal aborts (before or during the
 * wait), clearing its timer, so an aborted wait never leaves a timer or a listener behind.
 */
export function sleep(clock: Clock, ms: number, signal: AbortSignal = neverAborted): Promise<void> {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
    return Promise.reject(new RangeError(`sleep: ms must be a number >= 0, got ${String(ms)}`));
  }
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Sleep(clock, ms, signal).promise;
}

/** A rejection handler that absorbs: for promises whose outcome nobody waits for any more. */
export const ignore = (): void => {};

/**
 * `promise`, or a rejection with `signal.reason` as soon as `signal` aborts, whichever comes first; the
 * listener is removed when either happens, and a late rejection of `promise` is absorbed. For waits on
 * something that cannot be cancelled itself (a store's round trip).
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal === neverAborted) return promise;
  promise = Promise.resolve(promise); // a store may answer with a plain value
  if (signal.aborted) {
    promise.then(undefined, ignore);
    return Promise.reject(signal.reason);
  }
  return new UntilAborted(promise, signal).promise;
}

class UntilAborted<T> implements AbortTarget {
  resolve!: (value: T) => void;
  reject!: (reason: unknown) => void;
  readonly promise: Promise<T>;
  private readonly fanout: AbortFanout;
  constructor(
    work: Promise<T>,
    private readonly signal: AbortSignal,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.fanout = watchAbort(signal, this);
    work.then(
      (value) => {
        this.fanout.remove(this);
        this.resolve(value);
      },
      (error: unknown) => {
        this.fanout.remove(this);
        this.reject(error);
      },
    );
  }

  handleEvent(): void {
    this.reject(this.signal.reason);
  }
}
