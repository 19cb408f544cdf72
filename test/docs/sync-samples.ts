/**
 * Copies each marked sample's region into its Markdown block (keeping the block's leading `weir` import
 * lines): `node --import tsx test/docs/sync-samples.ts README.md docs/retry.md`. Edit the example file, run
 * its test, then run this; test/docs/samples.test.ts checks the result.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeBlocks, extractRegion, fileReader, normalize, PACKAGE_IMPORT } from './samples.js';

const root = join(import.meta.dirname, '..', '..');
const read = fileReader(root);

export function syncPage(markdown: string): string {
  const lines = markdown.split('\n');
  // Replace from the last block up, so that earlier line numbers stay valid.
  for (const block of codeBlocks(markdown).reverse()) {
    if (block.marker === undefined) continue;
    const source = read(block.marker.file);
    const region = source === undefined ? undefined : extractRegion(source, block.marker.region);
    if (typeof region !== 'string') {
      console.error(`line ${block.line}: cannot read ${block.marker.file}#${block.marker.region}`);
      continue;
    }
    const old = normalize(block.text).split('\n');
    let imports = 0;
    while (imports < old.length && PACKAGE_IMPORT.test(old[imports]!)) imports++;
    const head = imports > 0 && !region.startsWith('import ') ? [...old.slice(0, imports), ''] : [];
    const indent = /^\s*/.exec(lines[block.line - 1]!)![0];
    const body = [...head, ...region.split('\n')].map((line) => (line === '' ? '' : indent + line));
    const bodyLength = block.text === '' ? 0 : block.text.split('\n').length;
    lines.splice(block.line, bodyLength, ...body);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const page of process.argv.slice(2)) {
    const path = join(root, page);
    const before = readFileSync(path, 'utf8');
    const after = syncPage(before);
    if (after !== before) {
      writeFileSync(path, after);
      console.log(`updated ${page}`);
    }
  }
}
