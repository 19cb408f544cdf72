import type { Attributes, BatchObservableResult, Observable } from '@opentelemetry/api';
import { OTHER_ERROR_TYPE } from './conventions.js';

/** Distinct `error.type` values one policy reports before folding new ones into `_OTHER` (bounds cardinality). */
export const MAX_ERROR_TYPES = 32;

/**
 * Counts by attribute set, kept in plain numbers: listeners only add, and the SDK reads the totals at
 * collection time through observable counters. That keeps the SDK (attribute hashing, aggregation) off the
 * path of every call.
 */
export class Tally {
  private readonly series = new Map<string, { readonly attributes: Attributes; count: number }>();

  constructor(private readonly base: Attributes) {}

  /** Adds `amount` to the series `key`; `extra` (built only for a new series) completes its attributes. */
  add(key: string, extra: () => Attributes, amount = 1): void {
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { attributes: { ...this.base, ...extra() }, count: 0 };
      this.series.set(key, entry);
    }
    entry.count += amount;
  }

  observe(result: BatchObservableResult, instrument: Observable): void {
    for (const entry of this.series.values()) result.observe(instrument, entry.count, entry.attributes);
  }
}

/**
 * `error.type` of a thrown value: its `name` when that says more than `Error` (`TimeoutError`,
 * `AbortError` of a DOMException), else its constructor's name (`class HttpError extends Error {}` keeps the
 * name `Error`), else `_OTHER`.
 */
function nameOf(error: unknown): string {
  if (typeof error !== 'object' || error === null) return OTHER_ERROR_TYPE;
  const name = (error as { name?: unknown }).name;
  if (typeof name === 'string' && name !== '' && name !== 'Error' && name.length <= 64) return name;
  const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof ctor === 'string' && ctor !== '' && ctor !== 'Object' && ctor.length <= 64) return ctor;
  return typeof name === 'string' && name !== '' ? name : OTHER_ERROR_TYPE;
}

/** `errorType`, folding every type past the first `MAX_ERROR_TYPES` of one policy into `_OTHER`. */
export class ErrorTypes {
  private readonly seen = new Set<string>();

  of(error: unknown): string {
    const name = nameOf(error);
    if (this.seen.has(name)) return name;
    if (this.seen.size >= MAX_ERROR_TYPES) return OTHER_ERROR_TYPE;
    this.seen.add(name);
    return name;
  }
}
