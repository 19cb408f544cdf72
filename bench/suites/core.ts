/**
 * The three call forms of every policy (decorated `p(fn)`, `p.execute(fn)`, `p.withContext(fn)`) and of
 * the four- and six-policy compositions, beside cockatiel's `execute` of the same policies, all in one
 * run. The baseline is the floor: the cheapest async wrapper that awaits the function inside a
 * try/finally, which any policy must at least be.
 */
import {
  ConsecutiveBreaker,
  bulkhead as cBulkhead,
  circuitBreaker as cCircuitBreaker,
  fallback as cFallback,
  retry as cRetry,
  timeout as cTimeout,
  handleAll,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import {
  type AnyPolicy,
  bulkhead,
  circuitBreaker,
  compose,
  fallback,
  rateLimit,
  retry,
  timeout,
  tokenBucket,
} from '../../src/index.js';
import { type BenchCase, type BenchSuite, callSite, leaf, MinimalTokenBucket, perf } from '../lib.js';

/** The floor: an async wrapper that awaits the function in a try/finally and does nothing else. */
const floor =
  <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
  async (...args: A): Promise<R> => {
    try {
      return await fn(...args);
    } finally {
    }
  };
const floored = floor(leaf);

/** Where the floor's clock reads go, so that the JIT cannot drop them. */
const sink = { value: 0 };

/**
 * The floor of a time-based policy (a timeout's deadline, a limiter's refill): the floor plus the one clock
 * read such a policy cannot avoid (`performance.now()`, the default clock).
 */
const clockFloor =
  <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
  async (...args: A): Promise<R> => {
    sink.value = perf.now();
    try {
      return await fn(...args);
    } finally {
    }
  };

/**
 * The floor of an aggressive timeout: a clock read, and a promise the deadline could reject before the
 * function settles, raced with the function's own.
 */
const raceFloor = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => {
  const holder: { reject: ((reason: unknown) => void) | undefined } = { reject: undefined };
  return async (...args: A): Promise<R> => {
    sink.value = perf.now();
    try {
      return await new Promise<R>((resolve, reject) => {
        holder.reject = reject;
        fn(...args).then(resolve, reject);
      });
    } finally {
      holder.reject = undefined;
    }
  };
};
/** A deadline in the hand-written minimum below: a doubly linked list node, as any O(1) deadline list needs. */
class MinimalDeadline {
  prev: MinimalDeadline | undefined = undefined;
  next: MinimalDeadline | undefined = undefined;
  at = 0;
  reject: ((reason: unknown) => void) | undefined = undefined;
}

/**
 * The least a fused retry + circuit breaker + bulkhead + aggressive timeout can do, hand-written as one
 * async function for one known stack: a state check, a slot count, a clock read and a deadline appended to
 * and removed from a list, the race, and the outcome counted. No options, events, aborts or retries: a
 * floor for the four-policy composition, not a competitor.
 */
const minimalFour = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => {
  let state = 0;
  let running = 0;
  let successes = 0;
  let failures = 0;
  let head: MinimalDeadline | undefined;
  let tail: MinimalDeadline | undefined;
  return async (...args: A): Promise<R> => {
    if (state !== 0 || running >= 100) throw new Error('refused');
    running++;
    const deadline = new MinimalDeadline();
    deadline.at = perf.now() + 10_000;
    if (tail === undefined) head = tail = deadline;
    else {
      tail.next = deadline;
      deadline.prev = tail;
      tail = deadline;
    }
    try {
      const value = await new Promise<R>((resolve, reject) => {
        deadline.reject = reject;
        fn(...args).then(resolve, reject);
      });
      successes++;
      return value;
    } catch (error) {
      if (++failures > 1e9) state = 1;
      throw error;
    } finally {
      running--;
      if (deadline.prev === undefined) head = deadline.next;
      else deadline.prev.next = deadline.next;
      if (deadline.next === undefined) tail = deadline.prev;
      else deadline.next.prev = deadline.prev;
      sink.value = successes + (head === undefined ? 0 : 1);
    }
  };
};
/**
 * The floor of a keyed rate limit: {@link MinimalTokenBucket}'s decision (clock read, map lookup, refill,
 * take) in front of the floor.
 */
const minimalTokenBucket = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, key: string) => {
  const bucket = new MinimalTokenBucket(1e6, 1e7); // the bench's limiter
  return async (...args: A): Promise<R> => {
    if (!bucket.take(key)) throw new Error('limited');
    try {
      return await fn(...args);
    } finally {
    }
  };
};
const minimalFoured = minimalFour(leaf);
const bucketFloored = minimalTokenBucket(leaf, 'default');
const clockFloored = clockFloor(leaf);
const raceFloored = raceFloor(leaf);

const bucket = () => tokenBucket({ capacity: 1e6, refillPerSecond: 1e7 });

/** Each policy, built once per call form so that no form warms another's state. */
const POLICIES: [string, () => AnyPolicy][] = [
  ['timeout', () => timeout(10_000)],
  ['fallback', () => fallback(0)],
  ['retry', () => retry({ maxAttempts: 3 })],
  ['circuitBreaker', () => circuitBreaker()],
  ['bulkhead', () => bulkhead({ maxConcurrent: 100 })],
  ['rateLimit(tokenBucket)', () => rateLimit(bucket())],
  ['compose of 4', () => compose(retry({ maxAttempts: 3 }), circuitBreaker(), bulkhead({ maxConcurrent: 100 }), timeout(10_000))],
  [
    'compose of 6',
    () =>
      compose(
        fallback(0),
        retry({ maxAttempts: 3 }),
        circuitBreaker(),
        rateLimit(bucket()),
        bulkhead({ maxConcurrent: 100 }),
        timeout(10_000),
      ),
  ],
];

const COCKATIEL: Record<string, { execute(fn: () => Promise<number>): Promise<unknown> }> = {
  timeout: cTimeout(10_000, TimeoutStrategy.Aggressive),
  fallback: cFallback(handleAll, () => 0),
  retry: cRetry(handleAll, { maxAttempts: 2 }),
  circuitBreaker: cCircuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
  bulkhead: cBulkhead(100),
  'compose of 4': wrap(
    cRetry(handleAll, { maxAttempts: 2 }),
    cCircuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
    cBulkhead(100),
    cTimeout(10_000, TimeoutStrategy.Aggressive),
  ),
};

const cases: BenchCase[] = [
  {
    name: 'floor: async wrapper, try/finally around await fn()',
    lib: 'floor',
    path: 'success',
    fn: () => floored(1),
    baseline: true,
  },
  { name: 'bare await leaf()', lib: 'bare', path: 'success', fn: () => leaf(1) },
  { name: 'floor + one clock read (time-based policies)', lib: 'floor', path: 'success', fn: () => clockFloored(1) },
  { name: 'floor + clock read + race (aggressive timeout)', lib: 'floor', path: 'success', fn: () => raceFloored(1) },
  {
    name: 'floor + clock read + keyed token bucket (hand-written minimum)',
    lib: 'floor',
    path: 'success',
    fn: () => bucketFloored(1),
  },
  {
    name: 'hand-written fused minimum of retry + breaker + bulkhead + timeout',
    lib: 'floor',
    path: 'success',
    fn: () => minimalFoured(1),
  },
];
// Each case calls its policy from a call site of its own (see callSite), as each floor row does.
for (const [label, make] of POLICIES) {
  const decorated = make()(leaf);
  const executor = make();
  const run = () => leaf(1);
  const withContext = make().withContext((_context, x: number) => leaf(x));
  const forms: [string, string, Record<string, unknown>][] = [
    ['decorated', 'f(1)', { f: decorated }],
    ['execute', 'p.execute(run)', { p: executor, run }],
    ['withContext', 'f(1)', { f: withContext }],
  ];
  for (const [form, body, values] of forms) {
    const name = `weir ${label}: ${form}`;
    cases.push({ name, lib: 'weir', path: 'success', fn: callSite(name, body, values) });
  }
  const peer = COCKATIEL[label];
  if (peer !== undefined) {
    const name = `cockatiel ${label}: execute`;
    cases.push({ name, lib: 'cockatiel', path: 'success', fn: callSite(name, 'p.execute(run)', { p: peer, run }) });
  }
}

const suite: BenchSuite = {
  name: 'call forms: every policy and composition, decorated / execute / withContext',
  description:
    'Success path of each policy and of compose(retry, circuitBreaker, bulkhead, timeout) and the six-policy stack (fallback, retry, circuitBreaker, rateLimit, bulkhead, timeout), in each call form, beside cockatiel `execute` of the same policy (cockatiel has no rate limiter; its four-policy row is `wrap`). The ratio column is to the floor row. Time-based policies cannot do less than the floor plus a clock read (timeout, rateLimit), a rate limit also looks up its key and takes from its state, and an aggressive timeout also races its own promise against the function: these floors are rows of their own, and so is a hand-written fused minimum of the four-policy composition (one known stack, no options, events or aborts).',
  cases,
};

export default suite;
