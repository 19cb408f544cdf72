/**
 * The portable entry points (weir, weir/fetch, weir/hono) bundle for the browser with no Node built-in, and
 * touch Node's globals only in src/core/runtime.ts, whose helpers degrade where they are missing. Then the
 * bundle of the core runs a call on workerd without Node compatibility (no `process`, no `node:` modules).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { build, type Plugin, transformSync } from 'esbuild';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, startWorkerd, tempDir } from './harness.js';

const ENTRIES = ['src/index.ts', 'adapters/fetch/index.ts', 'adapters/hono/index.ts'];
/** The one file allowed to touch Node-only globals and modules (each use guarded). */
const RUNTIME = 'src/core/runtime.ts';
/** Globals that only Node (and runtimes emulating it) define. */
const NODE_GLOBALS = new Set([
  'process',
  'Buffer',
  'global',
  'setImmediate',
  'clearImmediate',
  '__dirname',
  '__filename',
  'require',
]);
/** Members of Node's timer objects: a numeric handle (workerd, browsers) has none. */
const NODE_TIMER_MEMBERS = new Set(['unref', 'ref', 'hasRef', 'refresh']);
/** Tokens that can end an operand: a slash after one divides, elsewhere it starts a regular expression. */
const OPERAND_ENDS = new Set<ts.SyntaxKind>([
  ts.SyntaxKind.Identifier,
  ts.SyntaxKind.NumericLiteral,
  ts.SyntaxKind.BigIntLiteral,
  ts.SyntaxKind.StringLiteral,
  ts.SyntaxKind.NoSubstitutionTemplateLiteral,
  ts.SyntaxKind.TemplateTail,
  ts.SyntaxKind.RegularExpressionLiteral,
  ts.SyntaxKind.CloseParenToken,
  ts.SyntaxKind.CloseBracketToken,
  ts.SyntaxKind.CloseBraceToken,
  ts.SyntaxKind.ThisKeyword,
  ts.SyntaxKind.PlusPlusToken,
  ts.SyntaxKind.MinusMinusToken,
]);
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

interface BundleFacts {
  /** Node built-ins the bundle imports, with the file importing each. */
  builtins: string[];
  /** The repository's source files in the bundle. */
  sources: string[];
}

/** Bundles `entry` for the browser (peer dependencies external, as a user's bundler would resolve them). */
async function browserBundle(entry: string, outfile?: string): Promise<BundleFacts> {
  const builtins: string[] = [];
  const recordBuiltins: Plugin = {
    name: 'record-node-builtins',
    setup(plugin) {
      plugin.onResolve({ filter: /.*/ }, (args) => {
        if (!BUILTINS.has(args.path)) return undefined;
        builtins.push(`${args.path} (imported by ${relative(ROOT, args.importer)})`);
        return { path: args.path, external: true };
      });
    },
  };
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['hono', 'hono/*'],
    plugins: [recordBuiltins],
    metafile: true,
    write: outfile !== undefined,
    ...(outfile === undefined ? {} : { outfile }),
    logLevel: 'silent',
  });
  const sources = Object.keys(result.metafile.inputs).filter((path) => !path.includes('node_modules'));
  return { builtins, sources };
}

/**
 * Uses of Node-only globals in a source file (types and comments removed first): a global read by name or
 * as `globalThis.<name>`, a `node:` module named in a string, and a call of a Node timer member
 * (`timer.unref()`). Property names in object literals are not uses.
 */
export function nodeOnlyUses(source: string): string[] {
  const code = transformSync(source, { loader: 'ts', format: 'esm', target: 'es2022' }).code;
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, code);
  const uses: string[] = [];
  const tokens: { kind: ts.SyntaxKind; text: string }[] = [];
  // Template literals: a `}` closing a substitution resumes the template's text.
  const braces: ('brace' | 'template')[] = [];
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.TemplateHead) braces.push('template');
    else if (kind === ts.SyntaxKind.OpenBraceToken) braces.push('brace');
    else if (kind === ts.SyntaxKind.CloseBraceToken && braces.pop() === 'template') {
      kind = scanner.reScanTemplateToken(false);
      if (kind === ts.SyntaxKind.TemplateMiddle) braces.push('template');
    } else if (kind === ts.SyntaxKind.SlashToken || kind === ts.SyntaxKind.SlashEqualsToken) {
      const previous = tokens[tokens.length - 1]?.kind;
      // A slash where an expression starts (not after an operand) begins a regular expression.
      if (previous === undefined || !OPERAND_ENDS.has(previous)) {
        kind = scanner.reScanSlashToken();
      }
    }
    tokens.push({ kind, text: scanner.getTokenText() });
  }
  tokens.forEach((token, i) => {
    const previous = tokens[i - 1];
    const before = tokens[i - 2];
    const next = tokens[i + 1];
    const member = previous?.kind === ts.SyntaxKind.DotToken || previous?.kind === ts.SyntaxKind.QuestionDotToken;
    if (token.kind === ts.SyntaxKind.Identifier && NODE_GLOBALS.has(token.text)) {
      const key =
        next?.kind === ts.SyntaxKind.ColonToken &&
        (previous?.kind === ts.SyntaxKind.OpenBraceToken || previous?.kind === ts.SyntaxKind.CommaToken);
      if (!member && !key) uses.push(token.text);
      else if (member && before?.text === 'globalThis') uses.push(`globalThis.${token.text}`);
    }
    if (
      token.kind === ts.SyntaxKind.Identifier &&
      member &&
      NODE_TIMER_MEMBERS.has(token.text) &&
      next?.kind === ts.SyntaxKind.OpenParenToken
    ) {
      uses.push(`.${token.text}()`);
    }
    if (token.kind === ts.SyntaxKind.StringLiteral || token.kind === ts.SyntaxKind.NoSubstitutionTemplateLiteral) {
      const value = token.text.slice(1, -1);
      if (value.startsWith('node:')) uses.push(`'${value}'`);
    }
  });
  return uses;
}

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
