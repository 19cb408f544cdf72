import type { Clock, TimerHandle } from './clock.js';

/** A signal that never aborts: the context's signal when the caller gave none and no timeout applies. */
export const neverAborted: AbortSignal = new AbortController().signal;

/** Node clamps longer timer delays to 1 ms: longer sleeps are taken in steps of at most this. */
const MAX_TIMER_MS = 2_147_483_647;

class Sleep {
  timer: TimerHandle = undefined;
  resolve!: () => void;
  reject!: (reason: unknown) => void;
  readonly promise: Promise<void>;
  private readonly until: number;
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
    if (signal !== neverAborted) signal.addEventListener('abort', this);
  }
  private done(): void {
    const left = this.until - this.clock.now();
    if (left >= 1) {
      this.timer = this.clock.setTimer(() => this.done(), Math.min(left, MAX_TIMER_MS), true);
      return;
    }
    if (this.signal !== neverAborted) this.signal.removeEventListener('abort', this);
    this.resolve();
  }
  /** Abort listener: stop at once, clear the timer, reject with the abort reason. */
  handleEvent(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.signal.removeEventListener('abort', this);
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
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
