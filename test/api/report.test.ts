/**
 * The public surface of every subpath must match the committed API reports (api/*.api.md): a change of
 * the surface is deliberate when `npm run api` rewrote the reports in the same change. Runs on dist/,
 * which `npm test` builds first.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

test('the public surface matches api/*.api.md', () => {
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'api-report.mjs')], { cwd: root, encoding: 'utf8' });
  expect(result.stderr + result.stdout).toContain('the public surface matches api/');
  expect(result.status).toBe(0);
}, 120_000);
