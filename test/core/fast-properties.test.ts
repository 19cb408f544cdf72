import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bundle } from '../runtimes/harness.js';

// A policy is a function with members (`execute`, `on`, `state`...). V8 keeps an object's properties in a
// dictionary once a function's `name` is redefined, and a lookup there is a slow path at every
// `policy.execute(...)`. This asks V8 itself, in a child process with natives syntax on.

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weir-fast-'));
  await bundle('src/index.ts', join(dir, 'weir.mjs'), 'node');
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('every kind of policy keeps fast properties, with its name', async () => {
  const file = join(dir, 'fast.mjs');
  writeFileSync(
    file,
    `import * as w from './weir.mjs';
    const custom = w.definePolicy({ family: 'single-flight', name: 'mine', enter() {} });
    const policies = {
      retry: w.retry({ name: 'r' }), breaker: w.circuitBreaker(), bulkhead: w.bulkhead(4), timeout: w.timeout(100),
      fallback: w.fallback(0), rateLimit: w.rateLimit(w.tokenBucket({ capacity: 1, refillPerSecond: 1 })),
      compose: w.compose(w.retry(), w.timeout(100)), custom,
    };
    const out = {};
    for (const [kind, policy] of Object.entries(policies)) {
      policy.execute(async () => 1);
      out[kind] = [%HasFastProperties(policy), policy.name];
    }
    console.log(JSON.stringify(out));`,
  );
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--allow-natives-syntax', file], { timeout: 30_000 }, (error, out) =>
      error === null ? resolve(out) : reject(error),
    );
  });
  expect(JSON.parse(stdout)).toEqual({
    retry: [true, 'r'],
    breaker: [true, expect.stringMatching(/^circuit-breaker-\d+$/)],
    bulkhead: [true, expect.stringMatching(/^bulkhead-\d+$/)],
    timeout: [true, expect.stringMatching(/^timeout-\d+$/)],
    fallback: [true, expect.stringMatching(/^fallback-\d+$/)],
    rateLimit: [true, expect.stringMatching(/^token-bucket-\d+$/)],
    compose: [true, expect.stringMatching(/^compose-\d+$/)],
    custom: [true, 'mine'],
  });
});
