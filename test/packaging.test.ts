import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
const peers = ['ioredis', 'express', 'fastify', 'fastify-plugin', '@types/node', '@types/express'];
let dir: string;

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
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
    run('node', [tsc, '-p', dir], dir);
  });
});
