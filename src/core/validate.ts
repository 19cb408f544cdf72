/**
 * Construction-time checks. Every message names the policy, the option and the bad value, so a typo or a
 * NaN from a config file fails loudly at start-up instead of turning into silent NaN arithmetic later.
 */
import type { Clock } from './clock.js';

export function show(value: unknown): string {
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

/** Throws a TypeError for a non-object or for an option name not in `known`. */
export function checkOptions(where: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${show(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${where}: unknown option "${key}"; known options: ${known.join(', ')}`);
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
    typeof clock.random !== 'function'
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
