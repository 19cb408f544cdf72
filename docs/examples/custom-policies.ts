// docs/custom-policies.md, runnable: `node --import tsx docs/examples/custom-policies.ts`.
// Each `#region` is a sample of docs/custom-policies.md (test/docs/samples.test.ts keeps them equal);
// test/core/custom-policies.test.ts runs every function below, and test/pipeline composes `timed` and
// `singleFlight` with the six built-in policies in the fused-vs-nested property test.
import { ConsecutiveBreaker, circuitBreaker as cockatielBreaker, handleAll } from 'cockatiel';
import { type Clock, compose, definePolicy, retry, timeout, VirtualClock } from '../../src/index.js';

// #region timed
/** Reports each call's outcome and duration as a `timed` event. */
export function timed(options: { name?: string; clock?: Clock } = {}) {
  return definePolicy<{ timed: { ok: boolean; ms: number } }, number>({
    family: 'timed',
    events: ['timed'],
    ...options,
    enter(call) {
      call.state = call.clock.now();
    },
    exit(call) {
      // Build the payload only when somebody listens: a policy nobody observes costs nothing extra.
      if (call.listened('timed')) call.emit('timed', { ok: call.ok, ms: call.clock.now() - (call.state as number) });
    },
  });
}
// #endregion timed

// #region single-flight
/**
 * While a call is running, calls that arrive join it instead of starting their own: they all settle with
 * its outcome (a token refresh, a cache fill). Joins are reported as `joined` events.
 */
export function singleFlight(options: { name?: string } = {}) {
  let inFlight: Promise<unknown> | undefined;
  let settle: ((outcome: { ok: boolean; value: unknown }) => void) | undefined;
  return definePolicy<{ joined: { policy: string } }, 'leader'>({
    family: 'single-flight',
    events: ['joined'],
    stateful: true, // one flight per policy: composing it twice would make a call wait for itself
    ...options,
    enter(call) {
      if (inFlight !== undefined) {
        if (call.listened('joined')) call.emit('joined', { policy: call.policy });
        call.resolve(inFlight); // the stages inside and the function do not run for this call
        return;
      }
      const outcome = new Promise<{ ok: boolean; value: unknown }>((resolve) => (settle = resolve));
      inFlight = outcome.then(({ ok, value }) => (ok ? value : Promise.reject(value)));
      inFlight.catch(() => {}); // a leader's failure is reported to each caller, never unhandled
      call.state = 'leader';
    },
    exit(call) {
      if (call.state !== 'leader') return;
      inFlight = undefined;
      settle?.({ ok: call.ok, value: call.value });
    },
  });
}
// #endregion single-flight

/** The samples of the page, run with assertions by the tests. */
export async function refreshOnce(): Promise<{ results: string[]; calls: number; joined: number }> {
  // #region single-flight-use
  let calls = 0;
  const refresh = singleFlight({ name: 'token-refresh' });
  let joined = 0;
  refresh.on('joined', () => joined++);
  const fetchToken = refresh(async () => {
    calls++;
    await new Promise((resolve) => setTimeout(resolve, 10));
    return `token ${calls}`;
  });
  const results = await Promise.all([fetchToken(), fetchToken(), fetchToken()]);
  // results: ['token 1', 'token 1', 'token 1'], calls: 1, joined: 2
  // #endregion single-flight-use
  return { results, calls, joined };
}

export async function timedInAStack(): Promise<{ value: string; events: { ok: boolean; ms: number }[] }> {
  const clock = new VirtualClock();
  // #region compose
  const timing = timed({ name: 'db-timing', clock });
  const events: { ok: boolean; ms: number }[] = [];
  timing.on('timed', (event, info) => {
    // info: { policy: 'db-timing', family: 'timed', event: 'timed' }
    if (info.policy === 'db-timing') events.push(event);
  });
  // Fused with the built-ins: one await of the function per attempt, whatever the stack.
  const guarded = compose(retry({ maxAttempts: 3, backoff: 0 }), timing, timeout(1_000));
  let attempts = 0;
  const value = await guarded.execute(async ({ attempt }) => {
    attempts++;
    if (attempt < 2) throw new Error('flaky');
    return `ok after ${attempts} attempts`;
  });
  // events: [{ ok: false, ms: 0 }, { ok: true, ms: 0 }] (timing sees each attempt: it is inside the retry)
  // #endregion compose
  return { value, events };
}

export async function withCockatiel(): Promise<{ value: string; attempts: number }> {
  // #region cockatiel
  // Any object with execute(fn, signal) joins a composition as one nested stage, around the policies after it.
  const breaker = cockatielBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) });
  const guarded = compose(retry({ maxAttempts: 2, backoff: 0 }), breaker, timeout(1_000));
  let attempts = 0;
  const value = await guarded.execute(async ({ signal }) => {
    attempts++;
    if (attempts === 1) throw new Error('flaky');
    return signal.aborted ? 'aborted' : 'ok';
  });
  // #endregion cockatiel
  return { value, attempts };
}

const isMain = typeof process !== 'undefined' && process.argv[1]?.endsWith('custom-policies.ts');
if (isMain) {
  console.log(await refreshOnce(), await timedInAStack(), await withCockatiel());
}
