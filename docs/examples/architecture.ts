// ARCHITECTURE.md, runnable: `node --import tsx docs/examples/architecture.ts`.
// The `#region`s are the samples of ARCHITECTURE.md (test/docs/samples.test.ts keeps them equal);
// test/docs/architecture.test.ts holds the shell equal to its pure step with a property test.
import { type Clock, definePolicy } from '../../src/index.js';

// #region pure-step
/** The decision core: a pure function of (state, now, input). No clock, no timers, no I/O. */
export interface ShedState {
  readonly failures: number;
  readonly openUntil: number;
}

export const CLOSED: ShedState = { failures: 0, openUntil: 0 };

/** Whether a call may start at `now`. */
export function admits(state: ShedState, now: number): boolean {
  return now >= state.openUntil;
}

/** The state after a call that ended at `now`: `limit` failures in a row pause calls for `pauseMs`. */
export function record(state: ShedState, now: number, ok: boolean, limit: number, pauseMs: number): ShedState {
  if (ok) return CLOSED;
  const failures = state.failures + 1;
  return failures >= limit ? { failures: 0, openUntil: now + pauseMs } : { failures, openUntil: state.openUntil };
}
// #endregion pure-step

// #region thin-shell
export class PausedError extends Error {
  override readonly name = 'PausedError';
}

/** The shell: reads the clock, keeps the state, and asks the pure step. Every decision lives in the step. */
export function pauseAfterFailures(options: { limit: number; pauseMs: number; clock?: Clock }) {
  let state = CLOSED;
  return definePolicy({
    family: 'pause-after-failures',
    stateful: true, // its state is shared by all its calls: it may appear once in a compose
    ...(options.clock ? { clock: options.clock } : {}),
    enter(call) {
      if (!admits(state, call.clock.now())) throw new PausedError(`${call.policy}: paused after ${options.limit} failures`);
    },
    exit(call) {
      state = record(state, call.clock.now(), call.ok, options.limit, options.pauseMs);
    },
  });
}
// #endregion thin-shell

if (import.meta.url === `file://${process.argv[1]}`) {
  const guarded = pauseAfterFailures({ limit: 2, pauseMs: 1_000 })(async (fail: boolean) => {
    if (fail) throw new Error('down');
    return 'up';
  });
  for (const fail of [true, true, false]) {
    console.log(await guarded(fail).catch((error: Error) => error.message));
  }
}
