/**
 * Policy names. A name appears in events, in rejection messages and in metrics, so an operator can tell
 * two breakers apart. A name the caller gives is kept as is; otherwise the default is `<family>-<n>`, where
 * `n` counts the policies of that family created so far in this process, from 1 (`circuit-breaker-1`,
 * `circuit-breaker-2`, `bulkhead-1`, ...). Default names are unique per process but depend on creation
 * order: give a name to anything an alert or a dashboard refers to.
 */
import { show } from './validate.js';

/** Longest accepted name, in UTF-16 code units: long enough for any label, short enough for a metric. */
export const MAX_POLICY_NAME_LENGTH = 256;

/**
 * The counters live on a global symbol so that two copies of weir in one process (an ESM and a CJS load,
 * or two bundles) still hand out distinct default names.
 */
const COUNTERS = Symbol.for('weir.policyNameCounters');

function counters(): Map<string, number> {
  const holder = globalThis as { [COUNTERS]?: Map<string, number> };
  let map = holder[COUNTERS];
  if (map === undefined) {
    map = new Map();
    Object.defineProperty(holder, COUNTERS, { value: map, configurable: true });
  }
  return map;
}

/**
 * Validates the optional `name` option of a `family` factory (`'bulkhead'`, `'retry'`, ...) and returns
 * it, or the next default `<family>-<n>` when `given` is `undefined`. Throws a TypeError naming the option
 * and the value for anything but a non-empty string of at most {@link MAX_POLICY_NAME_LENGTH} characters.
 */
export function policyName(family: string, given: unknown): string {
  if (given === undefined) {
    const map = counters();
    const n = (map.get(family) ?? 0) + 1;
    map.set(family, n);
    return `${family}-${n}`;
  }
  if (typeof given !== 'string' || given.length === 0 || given.length > MAX_POLICY_NAME_LENGTH) {
    throw new TypeError(
      `${family}: option "name" must be a non-empty string of at most ${MAX_POLICY_NAME_LENGTH} characters, got ${show(given)}`,
    );
  }
  return given;
}
