/**
 * Construction-time checks. Every message names the policy, the option and the bad value, so a typo or a
 * NaN from a config file fails loudly at start-up instead of turning into silent NaN arithmetic later.
 */
import type { Clock } from './clock.js';

/** A value as a message shows it: JSON for data, cut to its start past {@link SHOWN_LENGTH} characters. */
export function show(value: unknown): string {
  const text = render(value);
  if (text.length <= SHOWN_LENGTH) return text;
  // Cut before a UTF-16 pair rather than through it.
  const cut = SHOWN_LENGTH - 1 - (isHighSurrogate(text.charCodeAt(SHOWN_LENGTH - 2)) ? 1 : 0);
  return `${text.slice(0, cut)}…`;
}

/**
 * The longest rendering of a value in a message. A wrong argument can be a whole object graph (a limiter
 * with its tables, a client) or a client's long string: the start names it well enough.
 */
export const SHOWN_LENGTH = 120;

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function render(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}

/**
 * Throws a TypeError for a non-object or for an option name not in `known`. For a nested option object,
 * `prefix` (e.g. `window.`) names its keys as the user wrote them.
 */
export function checkOptions(where: string, options: unknown, known: readonly string[], prefix = ''): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    const what = prefix === '' ? 'options' : `option "${prefix.slice(0, -1)}"`;
    throw new TypeError(`${where}: ${what} must be an object, got ${show(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `${where}: unknown option "${prefix}${key}"; known options: ${known.map((name) => prefix + name).join(', ')}`,
      );
    }
  }
}

/** A finite number of milliseconds >= `min` (default 0). */
export function checkMs(where: string, name: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new RangeError(`${where}: option "${name}" must be a finite number of milliseconds >= ${min}, got ${show(value)}`);
  }
  return value;
}

/** A finite number within [min, max]. */
export function checkNumber(where: string, name: string, value: unknown, min: number, max = Number.POSITIVE_INFINITY): number {
  if (
    typeof value !== 'number' ||
    Number.isNaN(value) ||
    value < min ||
    value > max ||
    (max === Number.POSITIVE_INFINITY && !Number.isFinite(value))
  ) {
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `between ${min} and ${max}`;
    throw new RangeError(`${where}: option "${name}" must be a finite number ${range}, got ${show(value)}`);
  }
  return value;
}

/** A finite number strictly greater than 0. */
export function checkPositive(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${where}: option "${name}" must be a finite number > 0, got ${show(value)}`);
  }
  return value;
}

/** An integer >= `min`. */
export function checkInteger(where: string, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${where}: option "${name}" must be an integer >= ${min}, got ${show(value)}`);
  }
  return value;
}

export function checkFunction<F>(where: string, name: string, value: unknown): F {
  if (typeof value !== 'function') {
    throw new TypeError(`${where}: option "${name}" must be a function, got ${show(value)}`);
  }
  return value as F;
}

export function checkBoolean(where: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${where}: option "${name}" must be a boolean, got ${show(value)}`);
  return value;
}

export function checkOneOf<T extends string>(where: string, name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new TypeError(
      `${where}: option "${name}" must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${show(value)}`,
    );
  }
  return value as T;
}

export function checkClock(where: string, value: unknown): Clock {
  const clock = value as Partial<Clock> | null;
  if (
    typeof clock !== 'object' ||
    clock === null ||
    typeof clock.now !== 'function' ||
    typeof clock.wallNow !== 'function' ||
    typeof clock.setTimer !== 'function' ||
    typeof clock.clearTimer !== 'function' ||
    typeof clock.random !== 'function' ||
    (clock.refTimer !== undefined && typeof clock.refTimer !== 'function')
  ) {
    throw new TypeError(
      `${where}: option "clock" must implement now, wallNow, setTimer, clearTimer and random, got ${show(value)}`,
    );
  }
  return clock as Clock;
}

export function checkSignal(where: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as AbortSignal).aborted !== 'boolean' ||
    typeof (value as AbortSignal).addEventListener !== 'function'
  ) {
    throw new TypeError(`${where}: signal must be an AbortSignal, got ${show(value)}`);
  }
  return value as AbortSignal;
}

// --- One range rule per kind of option -------------------------------------------------------------------
//
// Durations: a number of milliseconds, finite and at most MAX_TIMER_MS (Node fires a longer timer after
// 1 ms, so a longer value would spin), or Infinity where the option documents "never", or any finite value
// where the waiter re-arms its timer in chunks (a longer wait is meaningful there).
// Counts and sizes: integers, at most Number.MAX_SAFE_INTEGER, or a documented smaller bound where the
// value sizes an allocation; Infinity only where the option documents "no bound".
// Ratios: numbers in (0, 1] (or [0, 1]).
// Null: an error everywhere (leave the option out for its default) unless the option documents it.
// A bad number, or a value that is not a number where one is expected, is a RangeError (as the older
// checkers above); a wrong kind of value elsewhere (a function, an object) is a TypeError. Both name the option.

/** The longest delay a timer takes as given (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface DurationRule {
  /** Smallest accepted value (default 0). */
  readonly min?: number;
  /** Whether `min` itself is refused (a duration that must be > min). Default false. */
  readonly exclusiveMin?: boolean;
  /** `Infinity` is accepted and means "never" (default false). */
  readonly never?: boolean;
  /** Finite values beyond MAX_TIMER_MS are accepted: the wait re-arms its timer in chunks (default false). */
  readonly long?: boolean;
}

const NO_RULE: DurationRule = {};

function durationRange(rule: DurationRule): string {
  const min = rule.min ?? 0;
  const low = rule.exclusiveMin === true ? `> ${min}` : `>= ${min}`;
  const range = rule.long === true ? low : `${low} and <= ${MAX_TIMER_MS} (about 24.8 days)`;
  return rule.never === true
    ? `a number of milliseconds ${range}, or Infinity (never)`
    : `a finite number of milliseconds ${range}`;
}

/** A number of milliseconds under the duration rule above. */
export function checkDuration(where: string, name: string, value: unknown, rule: DurationRule = NO_RULE): number {
  if (typeof value !== 'number') {
    throw new RangeError(`${where}: option "${name}" must be ${durationRange(rule)}, got ${show(value)}`);
  }
  const min = rule.min ?? 0;
  const ok =
    value === Number.POSITIVE_INFINITY
      ? rule.never === true
      : (rule.exclusiveMin === true ? value > min : value >= min) &&
        Number.isFinite(value) &&
        (rule.long === true || value <= MAX_TIMER_MS);
  if (!ok) {
    throw new RangeError(`${where}: option "${name}" must be ${durationRange(rule)}, got ${show(value)}`);
  }
  return value;
}

export interface CountRule {
  /** Largest accepted value (default Number.MAX_SAFE_INTEGER). */
  readonly max?: number;
  /** `Infinity` is accepted and means "no bound" (default false). */
  readonly unbounded?: boolean;
}

const NO_COUNT_RULE: CountRule = {};

/** An integer in [min, max] (or Infinity where documented) under the count rule above. */
export function checkCount(where: string, name: string, value: unknown, min: number, rule: CountRule = NO_COUNT_RULE): number {
  const max = rule.max ?? Number.MAX_SAFE_INTEGER;
  const ok =
    typeof value === 'number' &&
    (value === Number.POSITIVE_INFINITY ? rule.unbounded === true : Number.isInteger(value) && value >= min && value <= max);
  if (!ok) {
    const range = `an integer >= ${min} and <= ${max}${rule.unbounded === true ? ', or Infinity (no bound)' : ''}`;
    throw new RangeError(`${where}: option "${name}" must be ${range}, got ${show(value)}`);
  }
  return value as number;
}

/** A ratio in (0, 1], or [0, 1] when `zero` is allowed. */
export function checkRatio(where: string, name: string, value: unknown, zero = false): number {
  if (typeof value !== 'number' || !(zero ? value >= 0 : value > 0) || !(value <= 1)) {
    throw new RangeError(`${where}: option "${name}" must be a number in ${zero ? '[0, 1]' : '(0, 1]'}, got ${show(value)}`);
  }
  return value;
}

/**
 * The null rule: `undefined` means "use the default" and returns true; `null` is a TypeError naming the
 * option, unless the option documents null (`nullAllowed`), in which case it is unset too. Use it instead of
 * `??`, which would quietly turn a null into the default.
 */
export function isUnset(where: string, name: string, value: unknown, nullAllowed = false): value is undefined | null {
  if (value === undefined) return true;
  if (value === null) {
    if (nullAllowed) return true;
    throw new TypeError(`${where}: option "${name}" must not be null (leave it out for the default)`);
  }
  return false;
}
