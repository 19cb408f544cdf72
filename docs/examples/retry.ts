// docs/retry.md, runnable: `node --import tsx docs/examples/retry.ts`.
// A test (test/retry/example.test.ts) runs it on a virtual clock so that it is deterministic.
import {
  CircuitOpenError,
  type Clock,
  circuitBreaker,
  compose,
  exponentialBackoff,
  fallback,
  parseRetryAfter,
  retry,
  retryBudget,
  systemClock,
  timeout,
} from '../../src/index.js';

/** A fake HTTP service: 503 with `Retry-After: 1` twice, then 200. */
function flakyService(clock: Clock) {
  let calls = 0;
  return async (path: string, signal: AbortSignal) => {
    calls++;
    await new Promise<void>((resolve, reject) => {
      const timer = clock.setTimer(resolve, 5); // network time
      signal.addEventListener('abort', () => {
        clock.clearTimer(timer);
        reject(signal.reason);
      });
    });
    if (calls <= 2) return new Response('busy', { status: 503, headers: { 'Retry-After': '1' } });
    return new Response(`hello from ${path}`, { status: 200 });
  };
}

export async function retryExample(clock: Clock = systemClock): Promise<string[]> {
  const log: string[] = [];
  const start = clock.now();
  const at = () => `${Math.round(clock.now() - start)} ms`;

  // 1. One budget guards the whole client: retries stay under 20 % of calls (plus 10 per second).
  const budget = retryBudget({ clock });

  // 2. Retry 5xx/429 responses and errors, up to 4 calls; first wait 200 ms, doubling, capped at 2 s;
  //    a Retry-After header lengthens the wait (up to maxDelayMs). Each attempt gets 1 s; the whole call 10 s.
  const retrying = retry({
    clock,
    budget,
    maxAttempts: 4,
    backoff: exponentialBackoff({ initialMs: 200, factor: 2, maxMs: 2_000, jitter: 'full' }),
    retryOnResult: (response: Response) => response.status >= 500 || response.status === 429,
    maxDelayMs: 5_000,
  });
  const resilient = compose(timeout({ ms: 10_000, clock }), retrying, timeout({ ms: 1_000, clock }));
  retrying.on('retry', ({ attempt, delayMs }) => log.push(`attempt ${attempt} failed at ${at()}, next in ${delayMs} ms`));

  const service = flakyService(clock);
  const get = resilient.withContext((ctx, path: string) => service(path, ctx.signal));
  const response = await get('/greeting');
  log.push(`${response.status} ${await response.text()} at ${at()}`);

  // 3. weir's own rejections are not retried unless you opt in: an open circuit fails fast.
  const plain = retry({ clock, maxAttempts: 3 });
  let calls = 0;
  await plain
    .execute(() => {
      calls++;
      throw new CircuitOpenError(30_000);
    })
    .catch((error: Error) => log.push(`${error.name} after ${calls} call`));

  // 4. Abort: a wait between attempts stops at once, and no further call is made.
  const controller = new AbortController();
  const patient = retry({ clock, maxAttempts: 10, backoff: exponentialBackoff({ initialMs: 1_000, jitter: 'none' }) });
  calls = 0;
  clock.setTimer(() => controller.abort(new Error('user navigated away')), 1_500);
  await patient
    .execute(() => {
      calls++;
      throw new Error('still down');
    }, controller.signal)
    .catch((error: Error) => log.push(`${error.message} after ${calls} calls`));
  return log;
}

/** A stand-in for the global fetch that answers 200 at once, so that the samples below run anywhere. */
async function fetch(url: string, init: { signal: AbortSignal }): Promise<Response> {
  if (init.signal.aborted) throw init.signal.reason;
  return new Response(`hello from ${new URL(url).pathname}`, { status: 200 });
}

/** The samples of docs/retry.md, run against stand-ins (test/retry/example.test.ts). */
export async function retrySamples(clock: Clock = systemClock): Promise<string[]> {
  const log: string[] = [];
  {
    // #region intro
    const budget = retryBudget(); // one per client: retries stay under 20 % of calls + 10/s

    const resilient = compose(
      timeout(10_000), // total deadline
      retry({
        budget,
        maxAttempts: 4, // 4 calls at most: the first and 3 retries
        backoff: exponentialBackoff({ initialMs: 200, factor: 2, maxMs: 2_000 }), // full jitter
        retryOnResult: (r: Response) => r.status >= 500 || r.status === 429,
      }),
      timeout(1_000), // per attempt
    );

    const getJson = resilient.withContext((ctx, url: string) => fetch(url, { signal: ctx.signal }));
    // #endregion intro
    log.push(await (await getJson('https://api.example.com/greeting')).text());
  }
  {
    const response = new Response('busy', { status: 503, headers: { 'Retry-After': '120' } });
    // #region parse-retry-after
    const waitMs = parseRetryAfter(response.headers.get('retry-after'), Date.now()); // ms, or undefined
    // #endregion parse-retry-after
    log.push(`Retry-After: 120 is ${waitMs} ms`);
  }
  {
    // #region budget
    const budget = retryBudget({ ttlMs: 10_000, minRetriesPerSec: 10, percentCanRetry: 0.2 }); // the defaults
    const users = retry({ budget, maxAttempts: 3 });
    const orders = retry({ budget, maxAttempts: 5 });
    // #endregion budget
    await users(async () => 'ann')();
    await orders(async () => 7)();
    log.push(`budget: ${budget.balance} retries available after 2 calls`);
  }
  {
    const policy = retry({ maxAttempts: 2, backoff: 100, clock });
    // #region events
    policy.on('retry', ({ attempt, delayMs }) => log.push(`attempt ${attempt} failed, next in ${delayMs} ms`)); // before the wait
    policy.on('giveUp', ({ attempts, reason }) => log.push(`gave up after ${attempts} (${reason})`)); // 'attempts' | 'elapsed' | 'budget' | 'retryAfter'
    policy.on('success', ({ attempts }) => log.push(`success after ${attempts}`));
    policy.on('failure', (event) => log.push(`failed after ${event.attempts}: ${event.ok ? event.value : event.error}`)); // the call ends in failure
    // #endregion events
    let calls = 0;
    const flaky = policy(async () => {
      if (++calls === 1) throw new Error('first call fails');
      return 'ok';
    });
    await flaky();
    await policy(async () => {
      throw new Error('always down');
    })().catch(() => {});
  }
  {
    const budget = retryBudget({ clock });
    const cached = 'cached answer';
    // #region compose
    const policy = compose(
      fallback(cached), // sees the final outcome, after the retries
      timeout(10_000), // total deadline: aborts a running attempt and a wait, and stops the retries
      retry({ budget }), // retries what the inner layers reject
      circuitBreaker({ minimumCalls: 5 }), // sees every attempt; when open, fails fast and is not retried (unless opted in)
      timeout(1_000), // per attempt, so the breaker and the retry see a slow attempt as a failure
    );
    // #endregion compose
    log.push(await policy(async () => 'fresh answer')());
  }
  return log;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // weir's timers never keep a process alive; hold it open until the demo is done.
  const keepAlive = setInterval(() => {}, 1_000);
  Promise.all([retryExample(), retrySamples()])
    .then((logs) => console.log(logs.flat().join('\n')))
    .finally(() => clearInterval(keepAlive));
}
