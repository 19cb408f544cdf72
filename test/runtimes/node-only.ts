/**
 * What makes a bundle not portable: Node built-in modules it imports, and Node-only globals its sources use
 * (found token by token, after types and comments are stripped).
 */
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { build, type Plugin, transformSync } from 'esbuild';
import ts from 'typescript';
import { ROOT } from './harness.js';

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

export interface BundleFacts {
  /** Node built-ins the bundle imports, with the file importing each. */
  builtins: string[];
  /** The repository's source files in the bundle. */
  sources: string[];
}

/** Bundles `entry` for the browser (peer dependencies external, as a user's bundler would resolve them). */
export async function browserBundle(entry: string, outfile?: string): Promise<BundleFacts> {
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
