/**
 * Time, timers and randomness, injected into every policy so that tests (weir's and its users') can run
 * deterministically on a {@link VirtualClock}.
 */
import { nextMacrotask, refTimer } from './runtime.js';

export type TimerHandle = unknown;

export interface Clock {
  /** Monotonic time in milliseconds; only differences are meaningful. */
  now(): number;
  /** Wall-clock time in epoch milliseconds, used only to read HTTP dates (e.g. `Retry-After`). */
  wallNow(): number;
  /**
   * Calls `callback` once after `ms` milliseconds. `keepAlive` (default false) says whether the timer keeps
   * the process alive: true for a wait that a pending call awaits (a backoff, a queue wait, a deadline),
   * false for idle housekeeping. Clocks on runtimes without the notion may ignore it.
   */
  setTimer(callback: () => void, ms: number, keepAlive?: boolean): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /**
   * Optional: changes whether an armed timer keeps the process alive, so that a timer shared by many calls
   * holds the process only while one of them is pending. Without it, weir clears such a timer when idle.
   */
  refTimer?(handle: TimerHandle, keepAlive: boolean): void;
  /**
   * Optional: resolves once the event loop has turned (what a zero delay between two attempts waits for).
   * Default: `setImmediate`, or `setTimeout(0)` where it does not exist. A test clock may track these turns.
   */
  turn?(): Promise<void>;
  /** A number in [0, 1), used for jitter. */
  random(): number;
}

const perf = globalThis.performance;

/**
 * The default clock: `performance.now()`, `setTimeout`, `Math.random()`. A timer keeps the process alive
 * only when asked to (`keepAlive`): waits that a pending call awaits do, idle housekeeping never does.
 */
export const systemClock: Clock = Object.freeze({
  now: () => perf.now(),
  wallNow: () => Date.now(),
  setTimer(callback: () => void, ms: number, keepAlive = false): TimerHandle {
    const timer = setTimeout(callback, ms);
    // A new timer is referenced: only an idle one needs a change.
    if (!keepAlive) refTimer(timer, false);
    return timer;
  },
  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
  refTimer(handle: TimerHandle, keepAlive: boolean): void {
    refTimer(handle, keepAlive);
  },
  random: () => Math.random(),
});

interface VirtualTimer {
  due: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
  keepAlive: boolean;
}

export interface VirtualClockOptions {
  /** Initial monotonic time in ms (default 0). */
  start?: number;
  /** Wall-clock epoch ms that corresponds to `start` (default 0, i.e. 1970-01-01). */
  wallStart?: number;
  /** Seed of the deterministic random source (default 1). */
  seed?: number;
}

/**
 * A clock that moves only when told to. `advance(ms)` runs due callbacks in time order (ties in the order
 * they were scheduled); `advanceAsync(ms)` also lets promise continuations run between callbacks, which is
 * what a test of async code wants. `random()` is a seeded generator (mulberry32).
 */
export class VirtualClock implements Clock {
  private time: number;
  private readonly wallOffset: number;
  private seed: number;
  private seq = 0;
  private readonly timers: VirtualTimer[] = [];
  private turns = 0;

  constructor(options: VirtualClockOptions = {}) {
    const start = options.start ?? 0;
    if (!Number.isFinite(start))
      throw new RangeError(`VirtualClock: option "start" must be a finite number, got ${String(start)}`);
    const wallStart = options.wallStart ?? 0;
    if (!Number.isFinite(wallStart))
      throw new RangeError(`VirtualClock: option "wallStart" must be a finite number, got ${String(wallStart)}`);
    const seed = options.seed ?? 1;
    if (!Number.isInteger(seed)) throw new RangeError(`VirtualClock: option "seed" must be an integer, got ${String(seed)}`);
    this.time = start;
    this.wallOffset = wallStart - start;
    this.seed = seed >>> 0;
  }

  now(): number {
    return this.time;
  }

  wallNow(): number {
    return this.time + this.wallOffset;
  }

  setTimer(callback: () => void, ms: number, keepAlive = false): TimerHandle {
    const timer: VirtualTimer = {
      due: this.time + Math.max(0, ms),
      seq: this.seq++,
      callback,
      cancelled: false,
      keepAlive: keepAlive === true,
    };
    this.insert(timer);
    return timer;
  }

  refTimer(handle: TimerHandle, keepAlive: boolean): void {
    const timer = handle as VirtualTimer | undefined;
    if (timer !== undefined && timer !== null) timer.keepAlive = keepAlive;
  }

  clearTimer(handle: TimerHandle): void {
    const timer = handle as VirtualTimer | undefined;
    if (timer === undefined || timer === null || timer.cancelled) return;
    timer.cancelled = true;
    const index = this.timers.indexOf(timer);
    if (index >= 0) this.timers.splice(index, 1);
  }

  /** A real macrotask, counted so that {@link runAllAsync} waits for the work it resumes. */
  turn(): Promise<void> {
    this.turns++;
    return nextMacrotask().then(() => {
      this.turns--;
    });
  }

  random(): number {
    // mulberry32: small, fast, and good enough for jitter.
    this.seed = (this.seed + 0x6d2b79f5) >>> 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Number of scheduled callbacks that have not run or been cleared. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /**
   * Scheduled callbacks that would keep a Node process alive (set or re-referenced with `keepAlive`): a
   * test's view of "the process waits for this".
   */
  get keepAliveTimers(): number {
    let count = 0;
    for (const timer of this.timers) if (timer.keepAlive) count++;
    return count;
  }

  /** Time at which the next callback is due, or `undefined` when none is scheduled. */
  get nextDue(): number | undefined {
    return this.timers[0]?.due;
  }

  /** Moves time forward by `ms`, running every callback that falls due, synchronously and in order. */
  advance(ms: number): void {
    this.checkStep(ms);
    const target = this.time + ms;
    for (let timer = this.popDue(target); timer !== undefined; timer = this.popDue(target)) {
      this.time = timer.due;
      timer.callback();
    }
    this.time = target;
  }

  /**
   * Like {@link advance}, but yields to the event loop before and after each callback so that promise
   * continuations (an awaited sleep resuming, a retry scheduling its next timer) run at the right time.
   */
  async advanceAsync(ms: number): Promise<void> {
    this.checkStep(ms);
    const target = this.time + ms;
    await flush();
    for (let timer = this.popDue(target); timer !== undefined; timer = this.popDue(target)) {
      this.time = timer.due;
      timer.callback();
      await flush();
    }
    this.time = target;
  }

  /** Advances to each next due callback until none is left (at most `limit` callbacks, to stop runaway loops). */
  async runAllAsync(limit = 10_000): Promise<void> {
    await flush();
    for (let i = 0; i < limit; i++) {
      const next = this.timers[0];
      if (next === undefined) {
        // Work resumed by a turn (a zero-delay retry) may still schedule timers.
        if (this.turns === 0) return;
        await flush();
        continue;
      }
      await this.advanceAsync(next.due - this.time);
    }
    throw new Error(`VirtualClock.runAllAsync: more than ${limit} callbacks; a timer keeps rescheduling itself`);
  }

  private checkStep(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms))
      throw new RangeError(`VirtualClock.advance: ms must be a finite number >= 0, got ${String(ms)}`);
  }

  private popDue(target: number): VirtualTimer | undefined {
    const first = this.timers[0];
    if (first === undefined || first.due > target) return undefined;
    this.timers.shift();
    first.cancelled = true;
    return first;
  }

  private insert(timer: VirtualTimer): void {
    // Binary search for the first timer due strictly later: equal due times keep scheduling order.
    const timers = this.timers;
    let lo = 0;
    let hi = timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((timers[mid] as VirtualTimer).due <= timer.due) lo = mid + 1;
      else hi = mid;
    }
    timers.splice(lo, 0, timer);
  }
}

/** Lets every queued promise continuation run (a macrotask boundary drains the microtask queue). */
function flush(): Promise<void> {
  return nextMacrotask();
}

/**
 * Resolves after the event loop has turned once (timers and I/O had their chance), through the clock's
 * `turn` if it has one: what a zero delay between two attempts means, so that a storm of instant
 * failures never starves the process.
 */
export function nextTurn(clock: Clock): Promise<void> {
  return clock.turn === undefined ? nextMacrotask() : clock.turn();
}
