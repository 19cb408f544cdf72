/** The timeout's options: named defaults and one parser, built on the core's validators. */
import { type Clock, systemClock } from '../core/clock.js';
import { checkBoolean, checkClock, checkDuration, checkOptions, isUnset } from '../core/validate.js';

/** The defaults of `timeout`'s options. */
export const TIMEOUT_DEFAULTS = Object.freeze({
  /** Aggressive: the call rejects at the deadline without waiting for the function. */
  cooperative: false,
});

export const TIMEOUT_OPTIONS = ['ms', 'cooperative', 'clock', 'name'] as const;

/** A deadline beyond the timer range is reached in chunks, so any finite duration is meaningful. */
const LONG = Object.freeze({ long: true });

export interface TimeoutConfig {
  ms: number;
  cooperative: boolean;
  clock: Clock;
}

/** Validates `timeout`'s options (a number is `ms`). */
export function parseTimeoutOptions(options: unknown): TimeoutConfig {
  const where = 'timeout';
  if (options === undefined)
    throw new TypeError(`${where}: expected a number of milliseconds or an options object, got undefined`);
  checkOptions(where, options, TIMEOUT_OPTIONS);
  const raw = options as Record<string, unknown>;
  return {
    ms: checkDuration(where, 'ms', raw.ms, LONG),
    cooperative: isUnset(where, 'cooperative', raw.cooperative)
      ? TIMEOUT_DEFAULTS.cooperative
      : checkBoolean(where, 'cooperative', raw.cooperative),
    clock: isUnset(where, 'clock', raw.clock) ? systemClock : checkClock(where, raw.clock),
  };
}
