/**
 * The bulkhead family's options: named defaults and one parser (fixed and adaptive limits), built on the
 * core's validators.
 */
import { type Clock, systemClock } from '../core/clock.js';
import {
  checkClock,
  checkCount,
  checkDuration,
  checkFunction,
  checkNumber,
  checkOneOf,
  checkOptions,
  isUnset,
  show,
} from '../core/validate.js';
import { aimd, type LimitAlgorithm, type SampleKind, vegas } from './limits.js';

export type QueueOrder = 'fifo' | 'lifo';
export const QUEUE_ORDERS: readonly QueueOrder[] = ['fifo', 'lifo'];

/** The defaults of `bulkhead`'s options. */
export const BULKHEAD_DEFAULTS = Object.freeze({
  /** Calls that may wait for a slot: none, a full bulkhead rejects at once. */
  maxQueue: 0,
  /** How long a call may wait in the queue: for ever. */
  maxQueueWaitMs: Number.POSITIVE_INFINITY,
  queueOrder: 'fifo' as QueueOrder,
});

/** The defaults of the adaptive limits (`maxConcurrent: { algorithm, ... }`). */
export const ADAPTIVE_LIMIT_DEFAULTS = Object.freeze({
  /** Starting limit, clamped into [min, max]. */
  initial: 20,
  min: 1,
  aimd: Object.freeze({ max: 200, backoffRatio: 0.9, latencyThresholdMs: Number.POSITIVE_INFINITY }),
  vegas: Object.freeze({ max: 1000, smoothing: 1, probeMultiplier: 30, probeSamples: 5 }),
});

export const BULKHEAD_OPTIONS = ['maxConcurrent', 'maxQueue', 'maxQueueWaitMs', 'queueOrder', 'clock', 'name'] as const;
const AIMD_OPTIONS = ['algorithm', 'initial', 'min', 'max', 'classifyError', 'backoffRatio', 'latencyThresholdMs'];
const VEGAS_OPTIONS = ['algorithm', 'initial', 'min', 'max', 'classifyError', 'smoothing', 'probeMultiplier', 'probeSamples'];

const WHERE = 'bulkhead';
/** The queue wait runs on the deadline queue, which re-arms in chunks: any duration is meaningful. */
const WAIT_RULE = Object.freeze({ never: true, long: true });
/** A latency threshold is compared, never armed: any duration > 0, Infinity for off. */
const THRESHOLD_RULE = Object.freeze({ exclusiveMin: true, never: true, long: true });

export interface ParsedAdaptive {
  algorithm: LimitAlgorithm<any>;
  classifyError: ((error: unknown) => SampleKind) | undefined;
}

export interface BulkheadConfig {
  /** The fixed limit, or 0 with an adaptive one. */
  fixedLimit: number;
  adaptive: ParsedAdaptive | undefined;
  maxQueue: number;
  maxQueueWaitMs: number;
  queueOrder: QueueOrder;
  clock: Clock;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Validates an adaptive-limit option object (the `maxConcurrent` option given as an object). */
export function parseAdaptive(options: object): ParsedAdaptive {
  const record = options as Record<string, unknown>;
  const algorithm = checkOneOf(WHERE, 'maxConcurrent.algorithm', record.algorithm, ['aimd', 'vegas'] as const);
  checkOptions(WHERE, record, algorithm === 'aimd' ? AIMD_OPTIONS : VEGAS_OPTIONS, 'maxConcurrent.');
  const defaults = ADAPTIVE_LIMIT_DEFAULTS;
  const count = (name: string, fallback: number): number =>
    isUnset(WHERE, `maxConcurrent.${name}`, record[name])
      ? fallback
      : checkCount(WHERE, `maxConcurrent.${name}`, record[name], 1);
  const number = (name: string, fallback: number, min: number, max: number, ok: (v: number) => boolean, rule: string): number => {
    const value = record[name];
    if (isUnset(WHERE, `maxConcurrent.${name}`, value)) return fallback;
    checkNumber(WHERE, `maxConcurrent.${name}`, value, min, max);
    if (!ok(value as number))
      throw new RangeError(`${WHERE}: option "maxConcurrent.${name}" must be ${rule}, got ${show(value)}`);
    return value as number;
  };
  const min = count('min', defaults.min);
  const max = count('max', algorithm === 'aimd' ? defaults.aimd.max : defaults.vegas.max);
  if (min > max) {
    throw new RangeError(`${WHERE}: option "maxConcurrent.min" (${min}) must be <= "maxConcurrent.max" (${max})`);
  }
  const initial = count('initial', clamp(defaults.initial, min, max));
  if (initial < min || initial > max) {
    throw new RangeError(
      `${WHERE}: option "maxConcurrent.initial" must be an integer between min (${min}) and max (${max}), got ${show(initial)}`,
    );
  }
  const classifyError = isUnset(WHERE, 'maxConcurrent.classifyError', record.classifyError)
    ? undefined
    : checkFunction<(error: unknown) => SampleKind>(WHERE, 'maxConcurrent.classifyError', record.classifyError);
  if (algorithm === 'aimd') {
    const backoffRatio = number('backoffRatio', defaults.aimd.backoffRatio, 0.5, 1, (v) => v < 1, 'a number in [0.5, 1)');
    const latencyThresholdMs = isUnset(WHERE, 'maxConcurrent.latencyThresholdMs', record.latencyThresholdMs)
      ? defaults.aimd.latencyThresholdMs
      : checkDuration(WHERE, 'maxConcurrent.latencyThresholdMs', record.latencyThresholdMs, THRESHOLD_RULE);
    return { algorithm: aimd({ min, max, initial, backoffRatio, latencyThresholdMs }), classifyError };
  }
  const smoothing = number('smoothing', defaults.vegas.smoothing, 0, 1, (v) => v > 0, 'a number in (0, 1]');
  const probeMultiplier = number('probeMultiplier', defaults.vegas.probeMultiplier, 1, Number.MAX_VALUE, () => true, '');
  const probeSamples = count('probeSamples', defaults.vegas.probeSamples);
  return { algorithm: vegas({ min, max, initial, smoothing, probeMultiplier, probeSamples }), classifyError };
}

/** Validates `bulkhead`'s options (a number is `maxConcurrent`). */
export function parseBulkheadOptions(options: Record<string, unknown>): BulkheadConfig {
  const max = options.maxConcurrent;
  let fixedLimit = 0;
  let adaptive: ParsedAdaptive | undefined;
  if (typeof max === 'object' && max !== null && !Array.isArray(max)) {
    adaptive = parseAdaptive(max);
  } else if (typeof max === 'number' && Number.isInteger(max) && max >= 1 && max <= Number.MAX_SAFE_INTEGER) {
    fixedLimit = max;
  } else {
    throw new RangeError(
      `${WHERE}: option "maxConcurrent" must be an integer >= 1 or an adaptive limit ({ algorithm: "aimd" | "vegas", ... }), got ${show(max)}`,
    );
  }
  return {
    fixedLimit,
    adaptive,
    maxQueue: isUnset(WHERE, 'maxQueue', options.maxQueue)
      ? BULKHEAD_DEFAULTS.maxQueue
      : checkCount(WHERE, 'maxQueue', options.maxQueue, 0, { unbounded: true }),
    maxQueueWaitMs: isUnset(WHERE, 'maxQueueWaitMs', options.maxQueueWaitMs)
      ? BULKHEAD_DEFAULTS.maxQueueWaitMs
      : checkDuration(WHERE, 'maxQueueWaitMs', options.maxQueueWaitMs, WAIT_RULE),
    queueOrder: isUnset(WHERE, 'queueOrder', options.queueOrder)
      ? BULKHEAD_DEFAULTS.queueOrder
      : checkOneOf(WHERE, 'queueOrder', options.queueOrder, QUEUE_ORDERS),
    clock: isUnset(WHERE, 'clock', options.clock) ? systemClock : checkClock(WHERE, options.clock),
  };
}
