/**
 * Redis key names: `prefix + '{' + escape(userKey) + '}'` (+ a suffix for the sliding log's second key).
 *
 * Redis Cluster hashes only what lies between the first `{` and the next `}` when that is non-empty, so:
 * - the prefix may not contain `{` or `}` (checked at construction);
 * - the user key is escaped so that it never contains `}` and never is empty, and so that two different
 *   JavaScript strings never become the same Redis key: `%` → `%25`, `{` → `%7B`, `}` → `%7D`, a lone
 *   UTF-16 surrogate (which UTF-8 would turn into U+FFFD, merging keys) → `%uD800`-style, and the empty
 *   key → `%` (which no escaped non-empty key can be: every other `%` is followed by two hex digits or `u`).
 * Every key of one decision thus shares the user key's slot, whatever the key contains.
 *
 * Long keys are bounded before they get here: the call builders (scripts.ts `keysFor`) pass the key's
 * stored form (`storedKey`, the memory store's byte bound).
 */

const NEEDS_ESCAPE = /[%{}]|\p{Surrogate}/u;
const ESCAPED = /[%{}]|\p{Surrogate}/gu;

function escapeChar(ch: string): string {
  if (ch === '%') return '%25';
  if (ch === '{') return '%7B';
  if (ch === '}') return '%7D';
  return `%u${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The hash-tag content for a user key (non-empty, without `}`), injective over JavaScript strings. */
export function escapeKey(key: string): string {
  if (key.length === 0) return '%';
  return NEEDS_ESCAPE.test(key) ? key.replace(ESCAPED, escapeChar) : key;
}

/** The state key of `key` under `prefix`. */
export function stateKey(prefix: string, key: string): string {
  return `${prefix}{${escapeKey(key)}}`;
}

/** Suffix of the sliding log's second key (the total of its entries), in the same slot. */
export const LOG_TOTAL_SUFFIX = ':n';
