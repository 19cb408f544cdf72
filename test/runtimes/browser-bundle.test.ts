/**
 * The portable entry points (weir, weir/fetch, weir/hono) bundle for the browser with no Node built-in, and
 * touch Node's globals only in src/core/runtime.ts, whose helpers degrade where they are missing. Then the
 * bundle of the core runs a call on workerd without Node compatibility (no `process`, no `node:` modules).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, startWorkerd, tempDir } from './harness.js';
import { browserBundle, nodeOnlyUses } from './node-only.js';

const ENTRIES = ['src/index.ts', 'adapters/fetch/index.ts', 'adapters/hono/index.ts'];
/** The one file allowed to touch Node-only globals and modules (each use guarded). */
const RUNTIME = 'src/core/runtime.ts';

describe('the Node-only use finder', () => {
  it('finds globals, globalThis members, node: modules and timer members, but not members or keys of the same names', () => {
    const source = `
      import type { Server } from 'node:http';
      const a: number = process.pid; // process in a comment
      const b = (globalThis as { Buffer?: unknown }).Buffer;
      setTimeout(() => {}, 1).unref();
      const c = { process: 1, global: 2 };
      const d = c.process + c.global + \`\${'x'} process \${c.process}\`;
      const e = 'process' + /process/.source;
      const f = import('node:fs');
    `;
    expect(nodeOnlyUses(source)).toEqual(['process', 'globalThis.Buffer', '.unref()', "'node:fs'"]);
  });
});

describe('browser bundles', () => {
  for (const entry of ENTRIES) {
    it(`${entry}: no Node built-in, and Node globals only in ${RUNTIME}`, async () => {
      const facts = await browserBundle(entry);
      expect(facts.builtins).toEqual([]);
      expect(facts.sources).toContain(entry);
      const uses: Record<string, string[]> = {};
      for (const source of facts.sources) {
        if (source === RUNTIME) continue;
        const found = nodeOnlyUses(readFileSync(join(ROOT, source), 'utf8'));
        if (found.length > 0) uses[source] = found;
      }
      expect(uses).toEqual({});
    });
  }
});

describe('the core, bundled for the browser, on workerd without Node compatibility', () => {
  const work = tempDir('browser-core');
  let stop: (() => Promise<void>) | undefined;

  afterAll(async () => {
    await stop?.();
    work.remove();
  });

  it('loads and runs calls: a retried failure, an open breaker, a timeout, a warning for a throwing listener', async () => {
    await browserBundle('src/index.ts', join(work.dir, 'weir.js'));
    const worker = `import { circuitBreaker, compose, retry, timeout } from './weir.js';
export default {
  async fetch() {
    const facts = { process: typeof process, setImmediate: typeof setImmediate, timer: typeof setTimeout(() => {}, 0) };
    const warnings = [];
    console.warn = (message) => warnings.push(String(message));
    let calls = 0;
    const policy = retry({ maxAttempts: 3, backoff: 0 });
    policy.on('retry', () => { throw new Error('listener bug'); });
    facts.retried = await compose(policy, timeout(1000)).execute(() => { if (++calls < 3) throw new Error('flaky'); return calls; });
    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    await breaker.execute(() => { throw new Error('down'); }).catch(() => {});
    facts.breaker = breaker.state;
    facts.rejected = await breaker.execute(() => 'never').catch((error) => error.name);
    facts.timedOut = await timeout(10).execute(() => new Promise(() => {})).catch((error) => error.name);
    facts.warnings = warnings;
    return Response.json(facts);
  },
};
`;
    writeFileSync(join(work.dir, 'worker.js'), worker);
    // The worker imports the bundle as a second module: list both.
    const server = await startWorkerd(work.dir, { script: 'worker.js', modules: ['weir.js'] });
    stop = server.stop;
    const response = await fetch(server.url);
    const facts = await response.json();
    // No process.emitWarning: the listener's error goes to console.warn, with its code.
    const WARNING = /^\(WEIR_LISTENER_ERROR\) .*listener bug/;
    expect(facts).toEqual({
      process: 'undefined',
      setImmediate: 'undefined',
      timer: 'number',
      retried: 3,
      breaker: 'open',
      rejected: 'CircuitOpenError',
      timedOut: 'TimeoutError',
      warnings: [expect.stringMatching(WARNING), expect.stringMatching(WARNING)],
    });
  });
});
