// docs/retry.md, runnable: `node --import tsx docs/examples/retry.ts`.
// A test (test/retry/example.test.ts) runs it on a virtual clock so that it is deterministic.
import {
  CircuitOpenError,
  type Clock,
  compose,
  exponentialBackoff,
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

if (import.meta.url === `file://${process.argv[1]}`) {
  // weir's timers never keep a process alive; hold it open until the demo is done.
  const keepAlive = setInterval(() => {}, 1_000);
  retryExample()
    .then((log) => console.log(log.join('\n')))
    .finally(() => clearInterval(keepAlive));
}
