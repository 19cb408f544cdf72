import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { bundle } from '../runtimes/harness.js';

/**
 * weir's sources bundled once for the test file into a temporary folder (`weir.mjs` there), for scripts
 * run in child processes; removed after the file's tests. Returns a function that gives the folder.
 */
export function bundledWeir(prefix: string): () => string {
  let dir: string | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    await bundle('src/index.ts', join(dir, 'weir.mjs'), 'node');
  }, 60_000);
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (dir === undefined) throw new Error('bundledWeir: the bundle is made in beforeAll');
    return dir;
  };
}
