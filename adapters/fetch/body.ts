/**
 * What happens to the body of a response that `retry` discards: its connection is freed at once, on the
 * injected clock, and nothing waits for the garbage collector.
 */
import type { Clock } from '../../src/core/clock.js';

/** A retried response's body up to this size is read to its end, so that its connection can be reused. */
export const DRAIN_MAX_BYTES = 64 * 1024;
/** ... unless it takes longer than this: then it is cancelled, like a larger body. */
export const DRAIN_MAX_MS = 1_000;

function ignore(): void {}

/**
 * Frees the connection of a discarded response. A small body (Content-Length up to 64 KiB) is read to its
 * end, which keeps the connection for reuse (cancelling a body still in transit makes undici close it);
 * any other body is cancelled at once, which closes the connection.
 */
export function discardBody(response: unknown, clock: Clock): void {
  const body = (response as Response | undefined)?.body;
  if (body === null || body === undefined || body.locked) return;
  const length = (response as Response).headers.get('content-length');
  if (length === null || !(Number(length) <= DRAIN_MAX_BYTES)) {
    body.cancel().catch(ignore);
    return;
  }
  drain(body.getReader(), clock).catch(ignore);
}

/** Reads to the end, or cancels after DRAIN_MAX_MS (a housekeeping timer: it never holds the process). */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, clock: Clock): Promise<void> {
  const timer = clock.setTimer(() => {
    reader.cancel().catch(ignore);
  }, DRAIN_MAX_MS);
  try {
    while (!(await reader.read()).done) {}
  } finally {
    clock.clearTimer(timer);
  }
}
