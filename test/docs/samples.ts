/**
 * Keeps the code samples of the Markdown docs true: every TypeScript/JavaScript block must be a verbatim copy
 * of a region of a runnable file under docs/examples/ (which a test executes), named by a marker on the line
 * just before the block:
 *
 *     <!-- example: docs/examples/retry.ts#budget -->
 *     ```ts
 *     ...the text between `// #region budget` and `// #endregion budget` in docs/examples/retry.ts...
 *     ```
 *
 * The block and the region are compared after removing their common indentation and their leading and
 * trailing blank lines (trailing spaces are ignored). `#region`/`#endregion` lines of regions nested inside
 * the region are left out. One allowance keeps samples copyable: a block may *start* with import lines from
 * packages (`import { retry } from 'weir';`, `'weir/fetch'`, `'cockatiel'`...) that the region does not
 * contain; each name they import must then be imported under that name by the example file, from the same
 * package or, for weir, from the matching source entry point (`weir` = `../../src/index.js`, `weir/<entry>` =
 * `../../adapters/<entry>/index.js`), and be used in the region.
 *
 * Blocks in other languages (sh, text, mermaid, json...) and blocks without a language are not checked.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Languages whose blocks must come from an example file. */
export const CHECKED_LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript', 'tsx', 'jsx', 'mts', 'cts', 'mjs', 'cjs']);

const MARKER = /^<!--\s*example:\s*(\S+?)#([\w.-]+)\s*-->$/;

export interface CodeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  language: string;
  text: string;
  /** The marker on the line before the fence, if any. */
  marker?: { file: string; region: string };
}

/** The fenced code blocks of a Markdown text, with the example marker just before each (if any). */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]!);
    if (open === null) continue;
    const fence = open[2]!;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !(lines[j]!.trim().startsWith(fence) && lines[j]!.trim().replace(/[`~]/g, '') === '')) {
      body.push(lines[j]!);
      j++;
    }
    // The marker must be the line just before the fence.
    const marker = i > 0 ? MARKER.exec(lines[i - 1]!.trim()) : null;
    const block: CodeBlock = { line: i + 1, language: open[3]!.toLowerCase(), text: body.join('\n') };
    if (marker !== null) block.marker = { file: marker[1]!, region: marker[2]! };
    blocks.push(block);
    i = j;
  }
  return blocks;
}

/** Removes the common indentation, trailing spaces, and leading and trailing blank lines. */
export function normalize(text: string): string {
  const lines = text.split('\n').map((line) => line.replace(/\s+$/, ''));
  while (lines.length > 0 && lines[0] === '') lines.shift();
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const indents = lines.filter((line) => line !== '').map((line) => /^ */.exec(line)![0].length);
  const common = indents.length === 0 ? 0 : Math.min(...indents);
  return lines.map((line) => line.slice(common)).join('\n');
}

const REGION_LINE = /^\s*\/\/\s*#(region|endregion)\b\s*([\w.-]*)/;

/** The text of `// #region name` ... `// #endregion name` in a source file, or an error message. */
export function extractRegion(source: string, region: string): string | { error: string } {
  const lines = source.split('\n');
  const starts: number[] = [];
  const ends: number[] = [];
  lines.forEach((line, index) => {
    const match = REGION_LINE.exec(line);
    if (match === null || match[2] !== region) return;
    (match[1] === 'region' ? starts : ends).push(index);
  });
  if (starts.length === 0) return { error: `no "// #region ${region}" in the file` };
  if (starts.length > 1 || ends.length > 1) return { error: `region "${region}" is defined more than once` };
  if (ends.length === 0 || ends[0]! < starts[0]!) return { error: `no "// #endregion ${region}" after its "// #region"` };
  return normalize(
    lines
      .slice(starts[0]! + 1, ends[0]!)
      .filter((line) => !REGION_LINE.test(line))
      .join('\n'),
  );
}

/** Where an example imports a package from: `weir` → `../../src/index.js`, `weir/x` → `../../adapters/x/index.js`, others as is. */
export function sourceOf(specifier: string): string {
  if (specifier === 'weir') return '../../src/index.js';
  const entry = /^weir\/([\w-]+)$/.exec(specifier);
  return entry === null ? specifier : `../../adapters/${entry[1]}/index.js`;
}

/** A leading import line of a block: an import from a package (not a relative path). */
export const PACKAGE_IMPORT = /^import\s.*\sfrom\s+['"][^'"./][^'"]*['"];?$/;

/** Imported names of a source text (default and named), as `name → module specifier` (`type` modifiers dropped). */
export function namedImports(source: string): Map<string, string> {
  const names = new Map<string, string>();
  const pattern = /^import\s+(?:type\s+)?(?:([\w$]+)\s*,?\s*)?(?:\{([^}]*)\})?\s*from\s*['"]([^'"]+)['"];?/gm;
  for (const match of source.matchAll(pattern)) {
    if (match[1] !== undefined) names.set(match[1], match[3]!);
    for (const part of (match[2] ?? '').split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop()!
        .trim();
      if (name !== '') names.set(name, match[3]!);
    }
  }
  return names;
}

export interface SampleProblem {
  line: number;
  message: string;
}

function diff(expected: string, actual: string): string {
  // A line diff good enough for short samples: common prefix and suffix, then the differing middle.
  const a = expected.split('\n');
  const b = actual.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const out = [`@@ from line ${start + 1} of the sample @@`];
  for (const line of a.slice(Math.max(0, start - 2), start)) out.push(`  ${line}`);
  for (const line of a.slice(start, endA)) out.push(`- ${line}`);
  for (const line of b.slice(start, endB)) out.push(`+ ${line}`);
  for (const line of a.slice(endA, endA + 2)) out.push(`  ${line}`);
  return out.join('\n');
}

/**
 * Checks one Markdown text. `readSource(path)` returns a file of the repository (path relative to its root)
 * or undefined when it does not exist.
 */
export function checkMarkdown(markdown: string, readSource: (path: string) => string | undefined): SampleProblem[] {
  const problems: SampleProblem[] = [];
  for (const block of codeBlocks(markdown)) {
    if (!CHECKED_LANGUAGES.has(block.language)) continue;
    const { marker, line } = block;
    if (marker === undefined) {
      problems.push({
        line,
        message:
          `a \`${block.language}\` block without an example marker. Put the code in a region of a file under ` +
          'docs/examples/ that a test runs (`// #region name` ... `// #endregion name`), and write ' +
          '`<!-- example: docs/examples/<file>.ts#<name> -->` on the line before the block.',
      });
      continue;
    }
    if (!/^docs\/examples\/[\w./-]+\.(ts|js|mts|mjs)$/.test(marker.file) || marker.file.includes('..')) {
      problems.push({ line, message: `the marker must name a file under docs/examples/, got "${marker.file}"` });
      continue;
    }
    const source = readSource(marker.file);
    if (source === undefined) {
      problems.push({ line, message: `the marker names ${marker.file}, which does not exist` });
      continue;
    }
    const region = extractRegion(source, marker.region);
    if (typeof region !== 'string') {
      problems.push({ line, message: `${marker.file}#${marker.region}: ${region.error}` });
      continue;
    }
    // Leading package imports of the block: shown for copying, checked against the file's own imports.
    const blockLines = normalize(block.text).split('\n');
    let importEnd = 0;
    while (importEnd < blockLines.length && PACKAGE_IMPORT.test(blockLines[importEnd]!)) importEnd++;
    const shownImports = blockLines.slice(0, importEnd).join('\n');
    const code = normalize(region.startsWith('import ') ? blockLines.join('\n') : blockLines.slice(importEnd).join('\n'));
    if (!region.startsWith('import ')) {
      const fileImports = namedImports(source);
      for (const [name, specifier] of namedImports(shownImports)) {
        const expectedSource = sourceOf(specifier);
        if (fileImports.get(name) !== expectedSource) {
          problems.push({
            line,
            message: `the sample imports ${name} from '${specifier}', but ${marker.file} does not import it from '${expectedSource}'`,
          });
        } else if (!new RegExp(`\\b${name}\\b`).test(region)) {
          problems.push({
            line,
            message: `the sample imports ${name} from '${specifier}', but ${marker.file}#${marker.region} does not use it`,
          });
        }
      }
    }
    if (code !== region) {
      problems.push({
        line,
        message:
          `the block differs from ${marker.file}#${marker.region} (- region, + block). Make the change in the ` +
          'example file, run its test, then copy the region into the block ' +
          '(`node --import tsx test/docs/sync-samples.ts <page>` does it):\n' +
          diff(region, code),
      });
    }
  }
  return problems;
}

/** Reads a repository file relative to `root`, or undefined. */
export function fileReader(root: string): (path: string) => string | undefined {
  return (path) => {
    try {
      return readFileSync(join(root, path), 'utf8');
    } catch {
      return undefined;
    }
  };
}
