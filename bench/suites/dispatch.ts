/**
 * One call site for several policies, as a framework's dispatch is (a router calling every route's
 * handler, a helper that runs any policy's `execute`): the site sees four policies of four families in
 * turn, so V8 cannot specialise it to one. The floor row calls four floor wrappers (four functions of
 * their own) through such a site; each other row, four policies of the same call form.
 */
import {
  ConsecutiveBreaker,
  bulkhead as cBulkhead,
  circuitBreaker as cCircuitBreaker,
  fallback as cFallback,
  retry as cRetry,
  handleAll,
} from 'cockatiel';
import { type AnyPolicy, bulkhead, circuitBreaker, fallback, retry } from '../../src/index.js';
import { type BenchSuite, callSite, leaf } from '../lib.js';

const floors = [0, 1, 2, 3].map((n) =>
  new Function('fn', `return async (x) => { try { return await fn(x); } finally {} }; // floor ${n}`)(leaf),
) as ((x: number) => Promise<number>)[];

const make = (): AnyPolicy[] => [fallback(0), retry({ maxAttempts: 3 }), circuitBreaker(), bulkhead({ maxConcurrent: 100 })];
const decorated = make().map((p) => p(leaf));
const executors = make();
const withContext = make().map((p) => p.withContext((_context: unknown, x: number) => leaf(x)));
const cockatiel = [
  cFallback(handleAll, () => 0),
  cRetry(handleAll, { maxAttempts: 2 }),
  cCircuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
  cBulkhead(100),
];
const run = () => leaf(1);

/** A row: the site `body` over `list[i]`, with i going round the four. */
function dispatch(name: string, body: string, list: readonly unknown[]): () => unknown {
  const state = { i: 0 };
  return callSite(name, `{ const p = list[state.i++ & 3]; return ${body}; }`, { list, state, run });
}

const suite: BenchSuite = {
  name: 'one call site, four policies: a dispatch',
  description:
    "One call site that calls, in turn, four policies of four families (fallback, retry, circuitBreaker, bulkhead) in one call form, as a framework calls every route through one site; the floor row calls four floor wrappers through such a site. weir keeps each family's call forms in functions of their own, so the site's polymorphism stays at the site. The ratio is to that floor row.",
  cases: [
    {
      name: 'floor: four floor wrappers through one site',
      lib: 'floor',
      path: 'success',
      fn: dispatch('floor', 'p(1)', floors),
      baseline: true,
    },
    {
      name: 'weir, decorated: four policies through one site',
      lib: 'weir',
      path: 'success',
      fn: dispatch('decorated', 'p(1)', decorated),
    },
    {
      name: 'weir, execute: four policies through one site',
      lib: 'weir',
      path: 'success',
      fn: dispatch('execute', 'p.execute(run)', executors),
    },
    {
      name: 'weir, withContext: four policies through one site',
      lib: 'weir',
      path: 'success',
      fn: dispatch('withContext', 'p(1)', withContext),
    },
    {
      name: 'cockatiel execute: four policies through one site',
      lib: 'cockatiel',
      path: 'success',
      fn: dispatch('cockatiel', 'p.execute(run)', cockatiel),
    },
  ],
};

export default suite;
