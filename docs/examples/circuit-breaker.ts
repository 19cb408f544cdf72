/**
 * Worked example for docs/circuit-breaker.md: protect a flaky dependency with a breaker and a timeout.
 * It runs on a VirtualClock so that it is deterministic; test/circuit-breaker/docs-example.test.ts runs it.
 * In an application, leave `clock` out (the system clock is the default).
 */
import { circuitBreaker, compose, isCircuitOpenError, sleep, timeout, VirtualClock } from '../../src/index.js';

/** A pretend inventory service that is down for its first 8 requests and then recovers. */
function flakyInventory() {
  let requests = 0;
  return async (sku: string): Promise<{ sku: string; stock: number }> => {
    requests++;
    if (requests <= 8) throw new Error(`inventory unavailable (request ${requests})`);
    return { sku, stock: 42 };
  };
}

export async function example(): Promise<string[]> {
  const log: string[] = [];
  const clock = new VirtualClock();

  // #region worked-example
  const breaker = circuitBreaker({
    window: { type: 'count', size: 20 }, // judge the last 20 calls...
    minimumCalls: 5, // ...once there are at least 5 of them
    failureRateThreshold: 0.5, // open when half of them fail
    slowCallDurationMs: 2_000, // a call over 2 s is slow...
    slowCallRateThreshold: 0.8, // ...and 80 % slow calls open it too
    openDurationMs: { initialMs: 5_000, maxMs: 60_000 }, // 5 s, then 10 s, 20 s... while it keeps failing
    halfOpen: { permits: 2, maxWaitMs: 3_000 }, // two trial calls, which must finish within 3 s
    clock,
  });
  breaker.on('stateChange', ({ from, to, reason }) => log.push(`state ${from} -> ${to} (${reason})`));

  // The breaker outside, the timeout inside: a timed-out call counts as a failure.
  const getStock = compose(breaker, timeout({ ms: 2_500, clock }))(flakyInventory());
  // #endregion worked-example

  const call = async (label: string) => {
    try {
      const item = await getStock('sku-1');
      log.push(`${label}: stock ${item.stock}`);
    } catch (error) {
      if (isCircuitOpenError(error)) log.push(`${label}: rejected fast, retry in ${error.retryAfterMs} ms`);
      else log.push(`${label}: failed (${(error as Error).message})`);
    }
  };

  for (let i = 1; i <= 6; i++) await call(`call ${i}`); // 5 failures open the breaker; call 6 is refused
  clock.advance(5_000); // open for 5 s: then half-open, with no timer involved
  log.push(`after 5 s: ${breaker.state}`);
  await call('trial 1'); // the dependency is still down (requests 6 and 7 fail): open again
  await call('trial 2');
  log.push(`backoff: ${JSON.stringify(breaker.toJSON())}`);
  clock.advance(10_000); // the second open lasts twice as long
  await call('trial 3'); // request 8 fails, request 9 succeeds: 1 of 2 trials failed = 50 %: open again
  await call('trial 4');
  clock.advance(20_000);
  await call('trial 5'); // both trials succeed: closed, with a fresh window
  await call('trial 6');
  await call('after recovery');
  return log;
}

/** A stand-in for an HTTP client, so that the samples below run anywhere. */
const fetchUser = async (id: string) => ({ id, name: `user ${id}` });

/** The other samples of docs/circuit-breaker.md (test/circuit-breaker/docs-example.test.ts runs them). */
export async function samples(): Promise<string[]> {
  const log: string[] = [];
  {
    // #region intro
    const breaker = circuitBreaker({ window: { type: 'count', size: 50 }, failureRateThreshold: 0.5 });
    const getUser = compose(breaker, timeout(2_000))(fetchUser);
    // #endregion intro
    log.push(`${(await getUser('42')).name}, breaker ${breaker.state}`);
  }
  {
    const options = { window: { type: 'count', size: 50 }, failureRateThreshold: 0.5 } as const;
    const breaker = circuitBreaker(options);
    await breaker(async () => 'ok')();
    // #region control
    const state = breaker.state; // 'closed' | 'open' | 'half-open' | 'isolated' | 'disabled'
    const metrics = breaker.metrics; // { state, calls, failures, slowCalls, failureRate, slowCallRate, consecutiveFailures, trialsInFlight, trialsCompleted }
    const hold = breaker.isolate(); // forced open until every isolate() handle is released
    hold.release(); // idempotent; the last release closes the breaker (fresh window)
    breaker.disable(); // let everything through, record nothing; isolation wins over it
    breaker.reset(); // closed, fresh window, no backoff; ends every isolate/disable hold (old handles become inert)
    const saved = breaker.toJSON(); // { state, reopens, halfOpenAt? }
    const restored = circuitBreaker({ ...options, initialState: saved });
    // #endregion control
    log.push(`${state} after ${metrics.calls} call; saved ${JSON.stringify(saved)}; restored ${restored.state}`);
  }
  {
    const clock = new VirtualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, slowCallDurationMs: 100, openDurationMs: 5_000, clock });
    // #region events
    breaker.on('stateChange', ({ from, to, reason }) => log.push(`${from} -> ${to} (${reason})`));
    breaker.on('success', ({ state }) => log.push(`success in ${state}`));
    breaker.on('failure', ({ error, fromResult, state }) => log.push(`failure in ${state}: ${fromResult ? 'a result' : error}`));
    breaker.on('slowCall', ({ durationMs, failed, state }) =>
      log.push(`slow call in ${state}: ${durationMs} ms, failed: ${failed}`),
    );
    breaker.on('rejected', ({ state, retryAfterMs }) => log.push(`rejected in ${state}, retry in ${retryAfterMs} ms`));
    // #endregion events
    const slow = breaker(async () => {
      const done = sleep(clock, 200);
      clock.advance(200);
      await done;
    });
    await slow();
    await breaker(async () => {
      throw new Error('down');
    })().catch(() => {});
    await breaker(async () => 'never runs')().catch(() => {});
  }
  return log;
}
