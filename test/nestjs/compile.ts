/**
 * Compiles the Nest test applications (test/nestjs/app) with tsc as Nest projects are compiled:
 * `experimentalDecorators` and `emitDecoratorMetadata` (esbuild, which vitest uses, emits no decorator
 * metadata, so Nest's constructor injection would not work). The output goes under node_modules/.cache, so
 * that its imports of @nestjs/* and the other packages resolve, and the tests import it as plain Node ESM.
 * Type errors in the applications and in weir/nestjs fail the compile.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Directories whose type errors fail the compile (the rest of the sources are other tests' business). */
const EXAMPLE = 'docs/examples/nestjs.ts';
const CHECKED = ['test/nestjs/app/', 'adapters/nestjs/', EXAMPLE];

export interface Compiled {
  /** Imports one compiled application module, by its path under test/nestjs/app (without extension). */
  load<T>(name: string): Promise<T>;
  /** Imports the compiled docs/examples/nestjs.ts. */
  loadExample<T>(): Promise<T>;
}

let compiled: Compiled | undefined;

/** Every source the compile reads, so that an unchanged tree reuses the output of an earlier compile. */
const INPUTS = ['src', 'adapters', 'test/nestjs', 'docs/examples/nestjs.ts'];

function fingerprint(): string {
  const hash = createHash('sha1');
  const visit = (path: string): void => {
    const stat = statSync(path);
    if (stat.isDirectory()) for (const name of readdirSync(path).sort()) visit(join(path, name));
    else if (path.endsWith('.ts')) hash.update(`${path}:${stat.size}:${stat.mtimeMs}\n`);
  };
  for (const input of INPUTS) if (existsSync(join(root, input))) visit(join(root, input));
  return hash.digest('hex').slice(0, 16);
}

function loader(outDir: string): Compiled {
  return {
    load: <T>(name: string) => import(pathToFileURL(join(outDir, 'test/nestjs/app', `${name}.js`)).href) as Promise<T>,
    loadExample: <T>() => import(pathToFileURL(join(outDir, 'docs/examples/nestjs.js')).href) as Promise<T>,
  };
}

export function compileNestApps(): Compiled {
  if (compiled !== undefined) return compiled;
  const cache = join(root, 'node_modules/.cache/weir-nestjs-test');
  const done = join(cache, fingerprint());
  const ready = () => existsSync(join(done, 'package.json'));
  if (ready()) return (compiled = loader(done));
  mkdirSync(cache, { recursive: true });
  const lock = `${done}.lock`;
  if (!claim(lock)) {
    // Another test file compiles the same tree: wait for its output (this worker has nothing to run before).
    const deadline = Date.now() + 240_000;
    while (!ready() && existsSync(lock) && Date.now() < deadline) Atomics.wait(PAUSE, 0, 0, 100);
    if (ready()) return (compiled = loader(done));
  }
  try {
    compiled = compile(cache, done);
  } finally {
    rmSync(lock, { force: true });
  }
  return compiled;
}

/** An Int32Array to block on while another process compiles. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Takes the compile lock (or a stale one, left by a process that died), or returns false. */
function claim(lock: string): boolean {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    const held = statSync(lock, { throwIfNoEntry: false });
    if (held !== undefined && Date.now() - held.mtimeMs < 300_000) return false;
    rmSync(lock, { force: true }); // released meanwhile, or stale
    return claim(lock);
  }
}

function compile(cache: string, done: string): Compiled {
  // Compiled beside, then renamed into place: readers never see half an output.
  const outDir = join(cache, `tmp-${process.pid}`);
  rmSync(outDir, { recursive: true, force: true });
  const appDir = join(root, 'test/nestjs/app');
  const names = [...ts.sys.readDirectory(appDir, ['.ts']), join(root, EXAMPLE)];
  const program = ts.createProgram(names, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    strict: true,
    skipLibCheck: true,
    esModuleInterop: true,
    types: ['node'],
    rootDir: root,
    outDir,
    noEmitOnError: false,
  });
  const result = program.emit();
  // Only the checked files are type-checked (checking every source takes most of the time).
  const checked = program.getSourceFiles().filter((file) => CHECKED.some((dir) => relative(root, file.fileName).startsWith(dir)));
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...checked.flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]),
    ...result.diagnostics,
  ];
  if (diagnostics.length > 0) {
    throw new Error(
      ts.formatDiagnostics(diagnostics, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => root,
        getNewLine: () => '\n',
      }),
    );
  }
  mkdirSync(outDir, { recursive: true });
  // Node looks for "type" no further up than the node_modules folder this output sits in.
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
  try {
    renameSync(outDir, done);
  } catch {
    rmSync(outDir, { recursive: true, force: true }); // another test file put the same output in place first
  }
  // Outputs of earlier trees are never read again.
  for (const name of readdirSync(cache)) {
    if (join(cache, name) !== done && !name.startsWith('tmp-') && !name.endsWith('.lock')) {
      rmSync(join(cache, name), { recursive: true, force: true });
    }
  }
  return loader(done);
}
