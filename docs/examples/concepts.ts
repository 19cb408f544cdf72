// docs/concepts.md, runnable: `node --import tsx docs/examples/concepts.ts`.
// Each `#region` is a sample of docs/concepts.md (test/docs/samples.test.ts keeps them equal), and
// test/docs/examples.test.ts runs every function below, on a virtual clock where time matters.
import type { ExpectStatic } from 'vitest';
import {
  bulkhead,
  circuitBreaker,
  compose,
  fallback,
  markNonRetryable,
  rateLimit,
  retry,
  sleep,
  systemClock,
  type TimerHandle,
  timeout,
  tokenBucket,
  VirtualClock,
  type Clock as WeirClock,
} from '../../src/index.js';

/** Stand-ins for an application's database and HTTP client, so that the samples run anywhere. */
interface User {
  id: string;
  name: string;
}
const db = { users: { find: async (id: string): Promise<User> => ({ id, name: `user ${id}` }) } };
const fetchUser = async (id: string, init: { signal: AbortSignal }): Promise<User> => {
  if (init.signal.aborted) throw init.signal.reason;
  return { id, name: `user ${id}` };
};

/** A policy used three ways. */
export async function threeWays(id = '7', req = { signal: new AbortController().signal }): Promise<string[]> {
  // #region policy
  const guard = timeout(2_000);

  // 1. Function decorator: same parameters (and `this`), async result.
  const getUser = guard(async (id: string) => db.users.find(id)); // (id: string) => Promise<User>

  // 2. TC39 method decorator (TypeScript 5, no `experimentalDecorators`).
  class Users {
    @guard
    async load(id: string) {
      return db.users.find(id);
    }
  }

  // 3. Executor: one call, with a context and an optional caller signal.
  const user = await guard.execute(({ signal }) => fetchUser(id, { signal }), req.signal);
  // #endregion policy
  return [(await getUser('42')).name, (await new Users().load('43')).name, user.name];
}

/** The recommended order of a composition; returns what two calls give. */
export async function recommendedOrder(): Promise<string[]> {
  const defaultValue = 'default';
  const limiter = tokenBucket({ capacity: 100, refillPerSecond: 100 });
  // #region order
  const policy = compose(
    fallback(defaultValue), // 1. sees the final outcome, after every retry has failed
    retry({ maxAttempts: 3 }), // 2. retries what the inner layers reject (including timeouts)
    circuitBreaker({ failureRateThreshold: 0.5 }), // 3. counts each attempt, and fails fast so retries do not hammer a dead dependency
    rateLimit(limiter), // 4. spends a token only for attempts the breaker lets through
    bulkhead({ maxConcurrent: 10 }), // 5. bounds what actually runs
    timeout(2_000), // 6. per attempt, innermost, so the breaker and the retry see timeouts as failures
  );
  // #endregion order
  const ok = await policy(async () => 'fresh')();
  // A failure that no retry can fix goes straight to the fallback (and never waits for a backoff).
  const failed = await policy(async (): Promise<string> => {
    throw markNonRetryable(new Error('bad request'));
  })();
  return [ok, failed];
}

// #region clock-interface
interface Clock {
  now(): number; // monotonic ms (performance.now())
  wallNow(): number; // epoch ms (Date.now()), only to read HTTP dates such as Retry-After
  // keepAlive: whether the timer holds the process open (true for a wait a pending call awaits)
  setTimer(callback: () => void, ms: number, keepAlive?: boolean): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  refTimer?(handle: TimerHandle, keepAlive: boolean): void; // optional: change keepAlive of an armed timer
  turn?(): Promise<void>; // optional: one turn of the event loop (a zero delay between retries)
  random(): number; // [0, 1), for jitter
}
// #endregion clock-interface

/** The interface shown in the docs is weir's `Clock`: each is assignable to the other (checked by tsc). */
export const sameClock: [(clock: Clock) => WeirClock, (clock: WeirClock) => Clock] = [(clock) => clock, (clock) => clock];

/** The VirtualClock sample is a test: it takes vitest's `expect`. */
export async function testWithVirtualClock(expect: ExpectStatic): Promise<void> {
  const slowThing = () => new Promise<string>(() => {}); // never settles
  // #region virtual-clock
  const clock = new VirtualClock({ seed: 42 }); // seeded random()
  const guarded = timeout({ ms: 100, clock })(slowThing);
  const rejected = expect(guarded()).rejects.toThrow('timed out'); // subscribe before the rejection happens
  await clock.advanceAsync(100); // runs due timers in order, letting promise continuations run in between
  await rejected;
  expect(clock.pendingTimers).toBe(0);
  // #endregion virtual-clock
}

/** Subscribes to a policy's events, then unsubscribes; returns what the metrics saw. */
export async function events(clock: Clock = systemClock): Promise<string[]> {
  const counted: string[] = [];
  const metrics = { increment: (name: string, tags: object) => counted.push(`${name} ${JSON.stringify(tags)}`) };
  const policy = timeout({ ms: 50, clock });
  const slow = policy(() => sleep(clock, 100));
  // #region events
  const off = policy.on('timeout', ({ timeoutMs }) => metrics.increment('timeouts', { timeoutMs }));
  await slow().catch(() => {}); // times out: counted
  off(); // unsubscribe
  await slow().catch(() => {}); // times out: not counted
  // #endregion events
  return counted;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const keepAlive = setInterval(() => {}, 1_000); // weir's timers never keep a process alive
  Promise.all([threeWays(), recommendedOrder(), events()])
    .then((logs) => console.log(logs.flat().join('\n')))
    .finally(() => clearInterval(keepAlive));
}
