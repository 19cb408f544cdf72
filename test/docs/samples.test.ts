/**
 * Every TypeScript/JavaScript sample in README.md and docs/*.md must be a region of a runnable file under
 * docs/examples/ (see test/docs/samples.ts for the rules). The example files themselves are executed by
 * test/docs/examples.test.ts, test/docs.test.ts and the example tests of each family (test/<family>/).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkMarkdown, codeBlocks, extractRegion, fileReader, normalize } from './samples.js';

const root = join(import.meta.dirname, '..', '..');

/** Generated pages: docs/benchmarks.md is written by `npm run bench`, docs/api/ by `npm run docs`. */
const GENERATED = new Set(['docs/benchmarks.md']);

const pages = [
  'README.md',
  'ARCHITECTURE.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`)
    .filter((page) => !GENERATED.has(page)),
];

describe('every code sample in the docs is a region of a tested example file', () => {
  const read = fileReader(root);
  test.each(pages)('%s', (page) => {
    const problems = checkMarkdown(readFileSync(join(root, page), 'utf8'), read);
    if (problems.length > 0) {
      const report = problems.map(({ line, message }) => `${page}:${line}: ${message}`).join('\n\n');
      expect.fail(`${problems.length} sample(s) of ${page} are not verified:\n\n${report}\n`);
    }
  });
});

describe('the sample checker', () => {
  const example = [
    "import { retry, timeout } from '../../src/index.js';",
    '',
    'export function run() {',
    '  // #region guard',
    '  const guard = timeout(100);',
    '  // #region inner',
    '  const again = retry();',
    '  // #endregion inner',
    '  return [guard, again];',
    '  // #endregion guard',
    '}',
  ].join('\n');
  const files: Record<string, string> = { 'docs/examples/x.ts': example };
  const check = (markdown: string) => checkMarkdown(markdown, (path) => files[path]);
  const page = (marker: string, language: string, code: string) => `# Page\n\n${marker}\n\`\`\`${language}\n${code}\n\`\`\`\n`;
  const region = 'const guard = timeout(100);\nconst again = retry();\nreturn [guard, again];';

  test('finds fenced blocks, their language and the marker on the line before', () => {
    const blocks = codeBlocks('text\n<!-- example: docs/examples/x.ts#guard -->\n```ts\na\n```\n\n```sh\nb\n```\n');
    expect(blocks).toEqual([
      { line: 3, language: 'ts', text: 'a', marker: { file: 'docs/examples/x.ts', region: 'guard' } },
      { line: 7, language: 'sh', text: 'b' },
    ]);
  });

  test('extracts a region, dedented, without nested region markers', () => {
    expect(extractRegion(example, 'guard')).toBe(region);
    expect(extractRegion(example, 'inner')).toBe('const again = retry();');
    expect(extractRegion(example, 'missing')).toEqual({ error: 'no "// #region missing" in the file' });
  });

  test('accepts a block equal to its region, and leading package imports that the file really has', () => {
    expect(check(page('<!-- example: docs/examples/x.ts#guard -->', 'ts', region))).toEqual([]);
    expect(check(page('<!-- example: docs/examples/x.ts#guard -->', 'ts', `  ${region.replaceAll('\n', '\n  ')}  \n`))).toEqual(
      [],
    );
    expect(
      check(page('<!-- example: docs/examples/x.ts#guard -->', 'ts', `import { retry, timeout } from 'weir';\n\n${region}`)),
    ).toEqual([]);
  });

  test('fails on a block without a marker, in every checked language, and ignores other languages', () => {
    for (const language of ['ts', 'typescript', 'js', 'javascript']) {
      const problems = check(page('', language, region));
      expect(problems).toHaveLength(1);
      expect(problems[0]!.message).toMatch(/without an example marker/);
    }
    for (const language of ['sh', 'text', 'mermaid', 'json', '']) expect(check(page('', language, 'anything'))).toEqual([]);
  });

  test('fails on a marker that is not on the line just before the block', () => {
    expect(check(`<!-- example: docs/examples/x.ts#guard -->\n\n\`\`\`ts\n${region}\n\`\`\`\n`)).toHaveLength(1);
  });

  test('fails with a diff when the block differs from the region', () => {
    const problems = check(page('<!-- example: docs/examples/x.ts#guard -->', 'ts', region.replace('100', '200')));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toContain('- const guard = timeout(100);\n+ const guard = timeout(200);');
  });

  test('fails on a missing file or region, and on a file outside docs/examples', () => {
    expect(check(page('<!-- example: docs/examples/y.ts#guard -->', 'ts', region))[0]!.message).toMatch(/does not exist/);
    expect(check(page('<!-- example: docs/examples/x.ts#nope -->', 'ts', region))[0]!.message).toMatch(/no "\/\/ #region nope"/);
    expect(check(page('<!-- example: src/index.ts#guard -->', 'ts', region))[0]!.message).toMatch(/under docs\/examples/);
  });

  test('fails on shown imports that the file does not import, or that the region does not use', () => {
    const notImported = check(
      page('<!-- example: docs/examples/x.ts#guard -->', 'ts', `import { bulkhead } from 'weir';\n${region}`),
    );
    expect(notImported.map((p) => p.message)).toEqual([
      "the sample imports bulkhead from 'weir', but docs/examples/x.ts does not import it from '../../src/index.js'",
    ]);
    const unused = check(
      page('<!-- example: docs/examples/x.ts#inner -->', 'ts', "import { timeout } from 'weir';\nconst again = retry();"),
    );
    expect(unused.map((p) => p.message)).toEqual([
      "the sample imports timeout from 'weir', but docs/examples/x.ts#inner does not use it",
    ]);
    const wrongEntry = check(
      page('<!-- example: docs/examples/x.ts#inner -->', 'ts', "import { retry } from 'weir/fetch';\nconst again = retry();"),
    );
    expect(wrongEntry).toHaveLength(1);
  });

  test("checks shown imports from other packages, default imports included, against the file's own", () => {
    files['docs/examples/p.ts'] = [
      "import pRetry, { AbortError } from 'p-retry';",
      "import weir from '../../adapters/fastify/index.js';",
      '// #region r',
      'await pRetry(() => { throw new AbortError(weir.name); });',
      '// #endregion r',
    ].join('\n');
    const code = 'await pRetry(() => { throw new AbortError(weir.name); });';
    const marker = '<!-- example: docs/examples/p.ts#r -->';
    expect(
      check(page(marker, 'ts', `import pRetry, { AbortError } from 'p-retry';\nimport weir from 'weir/fastify';\n\n${code}`)),
    ).toEqual([]);
    expect(check(page(marker, 'ts', `import pRetry from 'p-retry2';\n${code}`)).map((p) => p.message)).toEqual([
      "the sample imports pRetry from 'p-retry2', but docs/examples/p.ts does not import it from 'p-retry2'",
    ]);
    expect(check(page(marker, 'ts', `import weir from 'weir';\n${code}`))).toHaveLength(1);
  });

  test('normalize removes common indentation, trailing spaces and blank edges only', () => {
    expect(normalize('\n\n    a  \n      b\n\n    c\n\n')).toBe('a\n  b\n\nc');
  });
});
