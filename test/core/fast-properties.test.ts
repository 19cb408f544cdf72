import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { bundledWeir } from '../helpers/bundled-weir.js';

// A policy is a function with members (`execute`, `on`, `state`...), a limiter an object a policy reads at
// every call. V8 keeps an object's properties in a dictionary once a function's `name` is redefined, or
// when an object literal has an accessor, and a lookup there is a slow path at every call. This asks V8
// itself, in a child process with natives syntax on.

const folder = bundledWeir('weir-fast-');

test('every kind of policy, a limiter and a retry budget keep fast properties', async () => {
  const file = join(folder(), 'fast.mjs');
  writeFileSync(
    file,
    `import * as w from './weir.mjs';
    // Three of each kind: V8 keeps the first object of a shape fast more easily than the ones after it.
    const kinds = {
      retry: () => w.retry({ name: 'r' }), breaker: () => w.circuitBreaker(), bulkhead: () => w.bulkhead(4),
      adaptive: () => w.bulkhead({ maxConcurrent: { algorithm: 'vegas' } }), timeout: () => w.timeout(100),
      fallback: () => w.fallback(0), rateLimit: () => w.rateLimit(w.tokenBucket({ capacity: 1, refillPerSecond: 1 })),
      compose: () => w.compose(w.retry(), w.timeout(100)),
      custom: () => w.definePolicy({ family: 'single-flight', name: 'mine', enter() {} }),
    };
    const out = {};
    for (const [kind, make] of Object.entries(kinds)) {
      const policies = [make(), make(), make()];
      for (const policy of policies) await policy.execute(async () => 1);
      out[kind] = [policies.every((policy) => %HasFastProperties(policy)), policies[2].name];
    }
    out.members = [typeof kinds.breaker().state, kinds.bulkhead().running, kinds.bulkhead().limit, kinds.timeout().pending];
    const limiters = [0, 1, 2].map(() => w.slidingWindow({ limit: 5, windowMs: 1000, tiers: { pro: { limit: 50, windowMs: 1000 } }, tierOf: () => undefined }));
    limiters.push(w.tokenBucket({ capacity: 5, refillPerSecond: 1 }), w.gcra({ ratePerSecond: 5, burst: 5 }));
    const budgets = [w.retryBudget(), w.retryBudget(), w.retryBudget()];
    out.limiter = [limiters.every((l) => %HasFastProperties(l) && Object.isFrozen(l)), limiters[0].limit, limiters[3].limit];
    out.budget = [budgets.every((b) => %HasFastProperties(b) && Object.isFrozen(b)), budgets[2].balance];
    // What users see is unchanged: own enumerable members, spreads, proxies.
    const breaker = kinds.breaker();
    const pool = kinds.bulkhead();
    const limiter = limiters[3];
    const budget = budgets[0];
    out.visible = [
      Object.keys(breaker).includes('state'),
      Object.keys(pool).filter((k) => ['running', 'queued', 'limit'].includes(k)).length,
      { ...limiter }.limit,
      new Proxy(limiter, {}).limit,
      Object.create(limiter).algorithm === limiter.algorithm,
      { ...budget }.balance,
      new Proxy(budget, {}).balance,
      new Proxy(breaker, {}).state,
      w.rateLimit({ ...limiter, name: 'copied' }).name,
    ];
    console.log(JSON.stringify(out));`,
  );
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--allow-natives-syntax', file], { timeout: 30_000 }, (error, out) =>
      error === null ? resolve(out) : reject(error),
    );
  });
  expect(JSON.parse(stdout)).toEqual({
    retry: [true, 'r'],
    adaptive: [true, expect.stringMatching(/^bulkhead-\d+$/)],
    breaker: [true, expect.stringMatching(/^circuit-breaker-\d+$/)],
    bulkhead: [true, expect.stringMatching(/^bulkhead-\d+$/)],
    timeout: [true, expect.stringMatching(/^timeout-\d+$/)],
    fallback: [true, expect.stringMatching(/^fallback-\d+$/)],
    rateLimit: [true, expect.stringMatching(/^token-bucket-\d+$/)],
    compose: [true, expect.stringMatching(/^compose-\d+$/)],
    custom: [true, 'mine'],
    limiter: [true, 5, 5],
    budget: [true, 100],
    members: ['string', 0, 4, 0],
    visible: [true, 3, 5, 5, true, 100, 100, 'closed', 'copied'],
  });
});
