/**
 * The deadline queue: entries ordered by deadline in an intrusive doubly linked list, and at most one
 * clock timer armed, for the earliest deadline. Adding and removing an entry are O(1) when deadlines only
 * grow (one duration on a monotonic clock: a timeout's calls, a queue's waiters, a store's requests), and
 * no timer is set per entry.
 *
 * - Long waits never spin: a deadline beyond the timer range is reached in chunks of at most MAX_TIMER_MS.
 * - The timer keeps the process alive while an entry waits (when `keepAlive`), and never when idle.
 * - Idle policy: `clear` clears the timer as soon as the queue empties; `keep` leaves it armed, no longer
 *   keeping the process alive, and lets it fire early (then re-arms for the new head). `keep` saves a
 *   clear and a set per entry when entries come and go one at a time (a timeout on sequential calls).
 */
import type { Clock, TimerHandle } from './clock.js';
import { nextMacrotask, timersEndWithRequest } from './runtime.js';
import { MAX_TIMER_MS } from './validate.js';

/** A node of a {@link DeadlineQueue}; subclass it to carry what expires. */
export class DeadlineEntry {
  prev: DeadlineEntry | undefined = undefined;
  next: DeadlineEntry | undefined = undefined;
  /** Clock time (ms) at which the entry expires; `Infinity` never expires (the entry is only ordered). */
  at = Number.POSITIVE_INFINITY;
  /** Whether the entry is in a queue now. */
  queued = false;
}

export type IdlePolicy = 'clear' | 'keep';

export class DeadlineQueue<E extends DeadlineEntry> {
  head: E | undefined = undefined;
  tail: E | undefined = undefined;
  size = 0;
  private timer: TimerHandle = undefined;
  private armed = false;
  /** When the armed timer fires (clock time). */
  private armedAt = 0;
  /** Whether the armed timer keeps the process alive now. */
  private holding = false;
  /** The queue emptied while holding: the hold is given up at the next macrotask unless an entry comes first. */
  private releasing = false;
  private releaseScheduled = false;
  private readonly settleRelease = (): void => {
    this.releaseScheduled = false;
    if (this.releasing) {
      this.releasing = false;
      if (this.holding && this.size === 0) this.hold(false);
    }
  };
  private readonly canRef: boolean;
  private readonly fire = (): void => this.onTimer();

  constructor(
    private readonly clock: Clock,
    /** Called for each expired entry, after it left the queue, in deadline order. */
    private readonly expire: (entry: E, now: number) => void,
    private readonly idle: IdlePolicy = 'clear',
    private readonly keepAlive = true,
  ) {
    this.canRef = typeof clock.refTimer === 'function';
  }

  /** Adds `entry` expiring at `at` (clock time); walks back from the tail, so in-order adds are O(1). */
  add(entry: E, at: number): void {
    entry.at = at;
    entry.queued = true;
    // An entry out of a queue has no links (remove clears them), so the common cases only set new ones.
    const tail = this.tail;
    if (tail === undefined) {
      this.head = this.tail = entry;
    } else if (tail.at <= at) {
      entry.prev = tail;
      tail.next = entry;
      this.tail = entry;
    } else {
      this.insertEarlier(entry, at);
    }
    this.size++;
    // The common cases (an armed timer that fires in time, held or about to be released) in few bytes, so
    // that `add` inlines into its callers; the rest out of line.
    if (timersEndWithRequest || !this.armed || at < this.armedAt) this.schedule(entry, at);
    else if (this.releasing) this.releasing = false;
    else if (!this.holding) this.schedule(entry, at);
  }

  private schedule(entry: E, at: number): void {
    // On workerd the shared timer may belong to a request that ends first, and a request with nothing pending
    // is cancelled as hung: each entry (even one that never expires) also gets a timer of its own request.
    if (timersEndWithRequest) this.clock.setTimer(this.fire, Math.min(at - this.clock.now(), MAX_TIMER_MS), true);
    if (this.armed) {
      // An armed timer that fires no later than this deadline will re-arm for it in time.
      if (at < this.armedAt) this.rearm(at);
      else if (this.releasing) this.releasing = false;
      else if (!this.holding && this.keepAlive && this.canRef) this.hold(true);
    } else if (at !== Number.POSITIVE_INFINITY && this.head === entry) {
      this.arm(at);
    }
  }

  /** Links `entry` before the tail, after the last entry that expires no later than `at`. */
  private insertEarlier(entry: E, at: number): void {
    let before = (this.tail as DeadlineEntry).prev;
    while (before !== undefined && before.at > at) before = before.prev;
    const after = (before === undefined ? this.head : before.next) as DeadlineEntry;
    entry.prev = before;
    entry.next = after;
    if (before === undefined) this.head = entry;
    else before.next = entry;
    after.prev = entry;
  }

  /** Takes `entry` out of the queue (a no-op if it is not in it). */
  remove(entry: E): void {
    if (!entry.queued) return;
    entry.queued = false;
    const { prev, next } = entry;
    if (prev === undefined) this.head = next as E | undefined;
    else prev.next = next;
    if (next === undefined) this.tail = prev as E | undefined;
    else next.prev = prev;
    entry.prev = entry.next = undefined;
    if (--this.size === 0 && this.armed) {
      // emptied()'s commonest case, in place: a release is already scheduled (so the queue keeps its timer
      // while held), and the hold is given up at that release unless an entry comes first.
      if (this.releaseScheduled === true && this.holding === true) this.releasing = true;
      else this.emptied();
    }
  }

  /**
   * The last entry left an armed queue (out of line, so that `remove` inlines into its callers). Its flags
   * are tested with `=== true` / `=== false`: V8 tracks no type for a boolean field, so a bare `if (flag)`
   * compiles to the full truthiness check (six compares) where a strict test is one. (In the functions that
   * inline into callers a strict test also spends more of their budget: `add` keeps bare tests, `remove`'s
   * in-place case has strict ones; each was measured both ways.)
   */
  private emptied(): void {
    if (this.idle === 'keep' && this.canRef === true) {
      // Deferred: sequential calls empty and refill the queue within one turn, and each real change of
      // the hold is a native call. The process still exits one turn after the last entry leaves.
      if (this.holding === true && this.releasing === false) {
        this.releasing = true;
        if (this.releaseScheduled === false) {
          this.releaseScheduled = true;
          nextMacrotask().then(this.settleRelease);
        }
      }
    } else {
      this.armed = this.holding = this.releasing = false;
      this.clock.clearTimer(this.timer);
      this.timer = undefined;
    }
  }

  /** Clears the timer and forgets every entry (they do not expire). */
  clear(): void {
    for (let entry = this.head; entry !== undefined; entry = this.head) this.remove(entry);
    if (this.armed) {
      this.armed = this.holding = this.releasing = false;
      this.clock.clearTimer(this.timer);
      this.timer = undefined;
    }
  }

  private hold(on: boolean): void {
    this.holding = on;
    (this.clock.refTimer as (handle: TimerHandle, keepAlive: boolean) => void).call(this.clock, this.timer, on);
  }

  private rearm(at: number): void {
    this.releasing = false;
    this.clock.clearTimer(this.timer);
    this.arm(at);
  }

  private arm(at: number): void {
    const now = this.clock.now();
    const delay = Math.min(Math.max(0, at - now), MAX_TIMER_MS);
    const keep = this.keepAlive && this.size > 0;
    this.armed = true;
    this.armedAt = now + delay;
    this.holding = keep && this.canRef;
    this.timer = this.clock.setTimer(this.fire, delay, keep);
  }

  private onTimer(): void {
    this.armed = this.holding = this.releasing = false;
    this.timer = undefined;
    const now = this.clock.now();
    for (let entry = this.head; entry !== undefined && entry.at <= now; entry = this.head) {
      this.remove(entry);
      this.expire(entry, now);
    }
    // Early (the entry it was armed for left, or a chunk of a long wait ended): re-arm for the head.
    const head = this.head;
    if (head !== undefined && !this.armed && head.at !== Number.POSITIVE_INFINITY) this.arm(head.at);
  }
}
