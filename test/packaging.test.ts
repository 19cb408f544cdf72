import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

/**
 * Packs the built package, installs the tarball into a fresh project, and loads every subpath through
 * `import` and `require`, then type-checks consumers of both module kinds. Needs `npm run build` first
 * (the README's `npm test` does it).
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const subpaths = [
  'weir',
  'weir/redis',
  'weir/express',
  'weir/fastify',
  'weir/fetch',
  'weir/koa',
  'weir/hono',
  'weir/nestjs',
  'weir/otel',
];
const peers = [
  'ioredis',
  'express',
  'fastify',
  'fastify-plugin',
  'koa',
  'hono',
  '@nestjs/common',
  '@nestjs/core',
  '@opentelemetry/api',
  '@types/node',
  '@types/express',
  '@types/koa',
];
let dir: string;

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/**
 * tsc's errors for the consumer in `cwd`, less those inside @types/koa: linked from this repository, it
 * resolves `content-disposition` to Express 5's copy (v2, which ships other types), a mix no Koa user has.
 */
function typeErrors(tsc: string, cwd: string): string[] {
  try {
    execFileSync('node', [tsc, '-p', cwd], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return [];
  } catch (error) {
    const output = `${(error as { stdout?: string }).stdout ?? ''}`;
    const errors = output.split('\n').filter((line) => /error TS\d+/.test(line));
    if (errors.length === 0) throw error;
    return errors.filter((line) => !line.includes('node_modules/@types/koa/'));
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'weir-pack-'));
  run('npm', ['pack', '--silent', '--pack-destination', dir], root);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (tarball === undefined) throw new Error('npm pack produced no tarball');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  run('npm', ['install', '--silent', '--offline', '--no-audit', '--no-fund', '--legacy-peer-deps', `./${tarball}`], dir);
  // The adapters' optional peers, as a user of each adapter has them: linked from this repo's node_modules.
  for (const peer of peers) {
    const target = join(dir, 'node_modules', peer);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(join(root, 'node_modules', peer), target, 'dir');
  }
}, 120_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  test('ships only the build and the README, with no runtime dependencies', () => {
    const manifest = JSON.parse(run('node', ['-p', 'JSON.stringify(require("weir/package.json"))'], dir)) as Record<
      string,
      unknown
    >;
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.sideEffects).toBe(false);
    const files = run('npm', ['pack', '--dry-run', '--json'], root);
    const paths = (JSON.parse(files) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path) ?? [];
    expect(paths.every((p) => p.startsWith('dist/') || p === 'README.md' || p === 'package.json' || p === 'LICENSE')).toBe(true);
  });

  test('the executor and stages read their enums as literals: no enum object is left in the build', () => {
    // A bundled module-level constant is a variable V8 loads at every use; an enum member is written in as a
    // literal (ARCHITECTURE.md, rule 7). An enum object in the build would mean its members are read at run time.
    const built = readdirSync(join(root, 'dist')).filter((f) => f.endsWith('.js') || f.endsWith('.cjs'));
    const code = built.map((f) => readFileSync(join(root, 'dist', f), 'utf8'));
    for (const text of code) {
      expect(text).not.toMatch(/\(\((StageKind|Directive|Mode|From|StateCode|Outcome|Kind)\d*\) =>/);
    }
    // The dispatch on the stage kind, in both module formats.
    expect(code.filter((text) => text.includes('case 1 /* Timeout */:')).length).toBe(2);
  });

  test('every subpath loads through import (ESM)', () => {
    const script = `for (const p of ${JSON.stringify(subpaths)}) { const m = await import(p); console.log(p, Object.keys(m).length > 0); }`;
    const out = run('node', ['--input-type=module', '-e', script], dir);
    for (const p of subpaths) expect(out).toContain(`${p} true`);
    const core = run(
      'node',
      ['--input-type=module', '-e', `import { compose, timeout } from 'weir'; console.log(typeof compose, typeof timeout)`],
      dir,
    );
    expect(core.trim()).toBe('function function');
  });

  test('every subpath loads through require (CommonJS)', () => {
    const script = `for (const p of ${JSON.stringify(subpaths)}) { const m = require(p); console.log(p, Object.keys(m).length > 0); }`;
    const out = run('node', ['-e', script], dir);
    for (const p of subpaths) expect(out).toContain(`${p} true`);
    const core = run(
      'node',
      ['-e', `const { compose, timeout } = require('weir'); console.log(typeof compose, typeof timeout)`],
      dir,
    );
    expect(core.trim()).toBe('function function');
  });

  test('types resolve for ESM and CommonJS consumers', () => {
    const imports = subpaths.map((p, i) => `import * as m${i} from '${p}';\nvoid m${i};`).join('\n');
    const body = `
import { compose, fallback, timeout, type Policy } from 'weir';
const guarded = compose(fallback(null), timeout(100))(async (id: string) => id.length);
const check: (id: string) => Promise<number | null> = guarded;
const p: Policy<{}> = compose();
void check; void p;
`;
    writeFileSync(join(dir, 'esm.mts'), `${imports}\n${body}`);
    writeFileSync(join(dir, 'cjs.cts'), `${imports}\n${body}`);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files: ['esm.mts', 'cjs.cts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    expect(typeErrors(tsc, dir)).toEqual([]);
  });

  test('every policy is a method decorator under both decorator standards: types check and calls run', () => {
    const source = `
import { bulkhead, circuitBreaker, compose, definePolicy, fallback, rateLimit, retry, timeout, tokenBucket } from 'weir';

class Service {
  calls = 0;
  @retry({ maxAttempts: 2, backoff: 0 })
  async flaky(x: number): Promise<number> {
    this.calls++;
    if (this.calls < 2) throw new Error('first call fails');
    return x * 2;
  }
  @timeout(1_000)
  async quick(): Promise<string> {
    return 'quick';
  }
  @fallback('substitute')
  async broken(): Promise<string> {
    throw new Error('broken');
  }
  @circuitBreaker({ consecutiveFailures: 5 })
  async guarded(): Promise<string> {
    return 'guarded';
  }
  @bulkhead({ maxConcurrent: 1 })
  async pooled(): Promise<string> {
    return 'pooled';
  }
  @rateLimit(tokenBucket({ capacity: 5, refillPerSecond: 1 }))
  async limited(): Promise<string> {
    return 'limited';
  }
  @compose(retry({ maxAttempts: 2, backoff: 0 }), timeout(1_000))
  async composed(this: Service): Promise<number> {
    return this.calls;
  }
  @definePolicy({ family: 'noop' })
  async custom(): Promise<string> {
    return 'custom';
  }
}

const s = new Service();
const results = [await s.flaky(21), await s.quick(), await s.broken(), await s.guarded(), await s.pooled(), await s.limited(), await s.composed(), await s.custom()];
console.log(JSON.stringify(results));
`;
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const legacy of [true, false]) {
      const mode = legacy ? 'legacy' : 'tc39';
      writeFileSync(join(dir, `decorators-${mode}.mts`), source);
      const options: Record<string, unknown> = {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        strict: true,
        skipLibCheck: false,
        types: [],
        outDir: `out-${mode}`,
      };
      if (legacy) options.experimentalDecorators = true;
      writeFileSync(
        join(dir, `tsconfig.${mode}.json`),
        JSON.stringify({ compilerOptions: options, files: [`decorators-${mode}.mts`] }),
      );
      run('node', [tsc, '-p', `tsconfig.${mode}.json`], dir);
      const out = run('node', [join(dir, `out-${mode}`, `decorators-${mode}.mjs`)], dir);
      expect(JSON.parse(out), mode).toEqual([42, 'quick', 'substitute', 'guarded', 'pooled', 'limited', 2, 'custom']);
    }
  }, 240_000);
});
