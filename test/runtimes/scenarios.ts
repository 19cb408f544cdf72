/**
 * The runtime scenario suite: one module, bundled by esbuild for the browser platform and run as is on Node
 * (in the test process), Bun, Deno and workerd. Each scenario returns plain facts (attempt counts, states,
 * statuses, error names) that the tests compare with what the policies promise, and across runtimes.
 *
 * It imports only the public entry points, as an application would.
 */
import { Hono } from 'hono';
import { resilientFetch } from '../../adapters/fetch/index.js';
import { rateLimit as honoRateLimit, loadShedding } from '../../adapters/hono/index.js';
import {
  bulkhead,
  circuitBreaker,
  compose,
  fallback,
  type RateLimiter,
  rateLimit,
  retry,
  sleep,
  timeout,
  tokenBucket,
  VirtualClock,
} from '../../src/index.js';

export interface Outcome {
  ok: boolean;
  value?: unknown;
  error?: string;
  code?: string;
  cause?: string;
}

async function settle(promise: Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    const e = error as { name?: string; code?: string; cause?: { message?: string } } | undefined;
    const outcome: Outcome = { ok: false, error: e?.name ?? String(error) };
    if (typeof e?.code === 'string') outcome.code = e.code;
    if (typeof e?.cause?.message === 'string') outcome.cause = e.cause.message;
    return outcome;
  }
}

/**
 * Created once, when the module loads (on workerd: at global scope, outside any request), and used by the
 * first call the module makes: the shape of the stack whose first call failed without retrying on workerd.
 */
const firstCallStack = compose(
  retry({ maxAttempts: 2, backoff: 0 }),
  circuitBreaker({}),
  rateLimit(tokenBucket({ capacity: 100, refillPerSecond: 100 })),
  timeout(100),
);

/** Shared by every run of the suite: on workerd each run is a request, so its timer may outlive one. */
const sharedTimeout = timeout(40);

/** The composed stack's very first call: a function that fails once, then succeeds. */
export async function firstCall(): Promise<{ calls: number; outcome: Outcome }> {
  let calls = 0;
  const outcome = await settle(
    firstCallStack.execute(() => {
      calls++;
      if (calls === 1) throw new Error('first attempt fails');
      return 'second attempt';
    }),
  );
  return { calls, outcome };
}

/** A call that ends only when its signal aborts, or by itself after `ms` (so that no run can hang). */
function untilAbortedOr(signal: AbortSignal, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve('ran to the end: no timeout fired'), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new Error('stopped by the signal'));
    });
  });
}

async function retryScenario() {
  let calls = 0;
  // A real (system clock) backoff of 2 ms, so the sleep between attempts runs on the runtime's timers.
  const outcome = await settle(
    retry({ maxAttempts: 3, backoff: 2 }).execute(({ attempt }) => {
      calls++;
      if (attempt < 3) throw new Error(`attempt ${attempt} fails`);
      return `attempt ${attempt}`;
    }),
  );
  return { calls, outcome };
}

async function circuitBreakerScenario() {
  const clock = new VirtualClock();
  const breaker = circuitBreaker({ consecutiveFailures: 2, openDurationMs: 1000, clock });
  let calls = 0;
  const failing = breaker(async () => {
    calls++;
    throw new Error('down');
  });
  const first = await settle(failing());
  const second = await settle(failing());
  const afterTwo = breaker.state;
  const rejected = await settle(failing());
  const callsWhileOpen = calls;
  clock.advance(1000);
  const afterCooldown = breaker.state;
  const probe = await settle(breaker.execute(() => 'recovered'));
  return { first, second, afterTwo, rejected, callsWhileOpen, afterCooldown, probe, end: breaker.state };
}

async function bulkheadScenario() {
  const limit = bulkhead({ maxConcurrent: 1 });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const running = limit.execute(async () => {
    await gate;
    return 'first';
  });
  const refused = await settle(limit.execute(() => 'second'));
  release();
  const first = await settle(running);
  const third = await settle(limit.execute(() => 'third'));
  return { refused, first, third };
}

async function rateLimitScenario() {
  const clock = new VirtualClock();
  const limiter: RateLimiter = tokenBucket({ capacity: 2, refillPerSecond: 1, clock });
  const limited = rateLimit(limiter);
  const outcomes: Outcome[] = [];
  let retryAfterMs: number | undefined;
  for (let i = 0; i < 3; i++) {
    try {
      outcomes.push({ ok: true, value: await limited.execute(() => i) });
    } catch (error) {
      retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
      outcomes.push(await settle(Promise.reject(error)));
    }
  }
  clock.advance(1000);
  const afterRefill = await settle(limited.execute(() => 'refilled'));
  return { outcomes, retryAfterMs, afterRefill };
}

async function timeoutScenario() {
  let signalAborted: boolean | undefined;
  const aggressive = await settle(
    timeout(20).execute(({ signal }) => {
      const ended = untilAbortedOr(signal, 2000);
      ended.catch(() => {
        signalAborted = signal.aborted;
      });
      return ended;
    }),
  );
  const cooperative = await settle(timeout({ ms: 20, cooperative: true }).execute(({ signal }) => untilAbortedOr(signal, 2000)));
  const inTime = await settle(timeout(1000).execute(() => 'in time'));
  return { aggressive, signalAborted, cooperative, inTime };
}

async function fallbackScenario() {
  const value = await settle(
    fallback('fallback value').execute(() => {
      throw new Error('broken');
    }),
  );
  const computed = await settle(
    fallback((error: unknown) => `recovered from ${(error as Error).message}`).execute(() => {
      throw new Error('broken');
    }),
  );
  return { value, computed };
}

async function composeScenario() {
  const build = () =>
    compose(
      fallback('fallback value'),
      retry({ maxAttempts: 3, backoff: 0 }),
      circuitBreaker({ consecutiveFailures: 5 }),
      bulkhead(2),
      rateLimit(tokenBucket({ capacity: 10, refillPerSecond: 10 })),
      timeout(1000),
    );
  let flakyCalls = 0;
  const flaky = await settle(
    build().execute(() => {
      flakyCalls++;
      if (flakyCalls < 3) throw new Error('flaky');
      return 'third time';
    }),
  );
  let brokenCalls = 0;
  const broken = await settle(
    build().execute(() => {
      brokenCalls++;
      throw new Error('broken');
    }),
  );
  return { flakyCalls, flaky, brokenCalls, broken };
}

/** A listener that throws: the call's outcome is unchanged, and the warning goes where the runtime allows. */
async function listenerErrorScenario() {
  const channels: string[] = [];
  const process = (globalThis as { process?: { emitWarning?: unknown } }).process;
  const original = process?.emitWarning;
  const originalWarn = console.warn;
  if (typeof original === 'function' && process !== undefined) {
    process.emitWarning = () => channels.push('process.emitWarning');
  }
  console.warn = () => channels.push('console.warn');
  try {
    const policy = retry({ maxAttempts: 2, backoff: 0 });
    policy.on('retry', () => {
      throw new Error('listener bug');
    });
    let calls = 0;
    const outcome = await settle(
      policy.execute(() => {
        calls++;
        if (calls === 1) throw new Error('once');
        return 'ok';
      }),
    );
    return { calls, outcome, channels };
  } finally {
    if (process !== undefined && typeof original === 'function') process.emitWarning = original;
    console.warn = originalWarn;
  }
}

async function virtualClockScenario() {
  const clock = new VirtualClock();
  let slept = false;
  const done = sleep(clock, 500).then(() => {
    slept = true;
  });
  await clock.advanceAsync(499);
  const before = slept;
  await clock.advanceAsync(1);
  await done;
  return { before, after: slept };
}

/** A module-scope timeout: the slow call here may rely on a timer armed by the previous run's quick call. */
async function sharedTimeoutScenario() {
  const slow = await settle(sharedTimeout.execute(({ signal }) => untilAbortedOr(signal, 1000)));
  // Leaves this policy's timer armed (for 40 ms from now) when the run ends.
  const quick = await settle(sharedTimeout.execute(() => 'quick'));
  return { slow, quick };
}

/**
 * A Hono app with weir/hono: a rate limit per client (keyed on a header: `app.fetch` has no connection) and
 * load shedding at one request in flight. `gate`, when given, holds /slow until it resolves.
 */
export function honoApp(limiter: RateLimiter, gate?: Promise<void>) {
  const app = new Hono();
  app.use(loadShedding({ bulkhead: bulkhead({ maxConcurrent: 1 }) }));
  app.use(honoRateLimit({ limiter, key: (c) => c.req.header('x-client') ?? 'anonymous' }));
  app.get('/hello', (c) => c.text('hello'));
  app.get('/slow', async (c) => {
    await gate;
    return c.text('slow');
  });
  return app;
}

/** What a test checks of a response. */
export interface HttpFacts {
  status: number;
  retryAfter: string | null;
  contentType: string | null;
  rateLimit: string | null;
  body: string;
}

export async function httpFacts(response: Response): Promise<HttpFacts> {
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    contentType: response.headers.get('content-type'),
    rateLimit: response.headers.get('ratelimit'),
    body: await response.text(),
  };
}

async function honoScenario() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const app = honoApp(tokenBucket({ capacity: 2, refillPerSecond: 1, clock: new VirtualClock() }), gate);
  const request = (path: string, client: string) =>
    app.fetch(new Request(`http://app.test${path}`, { headers: { 'x-client': client } }));
  const limited: HttpFacts[] = [];
  for (const client of ['a', 'a', 'a', 'b']) limited.push(await httpFacts(await request('/hello', client)));
  // One request in flight holds the only slot: the next is shed at once.
  const slow = request('/slow', 'c');
  const shed = await httpFacts(await request('/hello', 'd'));
  open();
  const held = await httpFacts(await slow);
  return {
    limited,
    shed: { status: shed.status, contentType: shed.contentType },
    held: { status: held.status, body: held.body },
  };
}

/** weir/fetch against a real HTTP server run by the test (`upstream` answers 503 once per path, then 200). */
async function fetchScenario(upstream: string | undefined) {
  if (upstream === undefined) return undefined;
  const fetchWithRetry = resilientFetch({ retry: { maxAttempts: 3, backoff: 0 }, timeoutMs: 5000 });
  const path = `${upstream}/flaky/${Math.random().toString(36).slice(2)}`;
  const response = await fetchWithRetry(path);
  return { status: response.status, body: await response.text(), attempts: response.headers.get('x-attempt') };
}

export interface SuiteOptions {
  /** Base URL of the test's HTTP server, for weir/fetch (omitted where the runtime cannot reach it). */
  upstream?: string | undefined;
}

/** A scenario that threw instead of reporting: the tests show the stack in place of the facts. */
interface Crashed {
  crashed: string;
}

async function guard<T>(scenario: () => Promise<T>): Promise<T | Crashed> {
  try {
    return await scenario();
  } catch (error) {
    return { crashed: String((error as Error)?.stack ?? error) };
  }
}

/**
 * Runs every scenario in order, each on its own (a scenario that throws reports its stack instead: see
 * {@link SuiteResult}); `firstCall` first, so that it is the module's first call. */
export async function runSuite(options: SuiteOptions = {}): Promise<SuiteResult> {
  return (await runScenarios(options)) as SuiteResult;
}

async function runScenarios(options: SuiteOptions) {
  return {
    firstCall: await guard(firstCall),
    retry: await guard(retryScenario),
    circuitBreaker: await guard(circuitBreakerScenario),
    bulkhead: await guard(bulkheadScenario),
    rateLimit: await guard(rateLimitScenario),
    timeout: await guard(timeoutScenario),
    fallback: await guard(fallbackScenario),
    compose: await guard(composeScenario),
    listenerError: await guard(listenerErrorScenario),
    virtualClock: await guard(virtualClockScenario),
    sharedTimeout: await guard(sharedTimeoutScenario),
    hono: await guard(honoScenario),
    fetch: await guard(() => fetchScenario(options.upstream)),
  };
}

/** The facts each scenario reports (a crash fails the test that reads them). */
type Facts<T> = { [K in keyof T]: Exclude<Awaited<T[K]>, Crashed> };
export type SuiteResult = Facts<Awaited<ReturnType<typeof runScenarios>>>;
