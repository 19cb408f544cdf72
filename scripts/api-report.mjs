/**
 * The public surface of every subpath, as API Extractor reports (api/<subpath>.api.md, committed).
 * `npm test` runs this in check mode: a change of the public surface fails until `npm run api` rewrites
 * the reports, so every change of the API is deliberate and visible in review. Runs on the built dist/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const update = process.argv.includes('--update');
const subpaths = ['index', 'redis', 'express', 'fastify', 'fetch', 'koa', 'hono', 'nestjs', 'otel'];
const reportFolder = join(root, 'api');
const tempFolder = join(root, 'node_modules', '.cache', 'api-extractor');
mkdirSync(reportFolder, { recursive: true });
mkdirSync(tempFolder, { recursive: true });

// Rules that judge style rather than the surface: the report records the surface; TypeDoc checks the docs.
const quiet = { logLevel: 'none' };
let failed = 0;
for (const name of subpaths) {
  const entry = join(root, 'dist', `${name}.d.ts`);
  if (!existsSync(entry)) {
    console.error(`api-report: ${entry} is missing: run npm run build first`);
    process.exit(1);
  }
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: entry,
      compiler: { tsconfigFilePath: join(root, 'tsconfig.json') },
      apiReport: {
        enabled: true,
        reportFileName: name === 'index' ? 'weir.api.md' : `weir-${name}.api.md`,
        reportFolder,
        reportTempFolder: tempFolder,
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        compilerMessageReporting: { default: quiet },
        extractorMessageReporting: {
          default: { logLevel: 'warning' },
          'ae-missing-release-tag': quiet,
          'ae-forgotten-export': quiet,
          'ae-internal-missing-underscore': quiet,
          'ae-unresolved-link': quiet,
          'ae-wrong-input-file-type': quiet,
          'ae-undocumented': quiet,
        },
        tsdocMessageReporting: { default: quiet },
      },
    },
    configObjectFullPath: join(root, 'api', 'api-extractor.json'),
    packageJsonFullPath: join(root, 'package.json'),
  });
  const result = Extractor.invoke(config, {
    localBuild: update,
    showVerboseMessages: false,
    messageCallback: (m) => {
      if (m.logLevel === 'warning' || m.logLevel === 'error') {
        m.handled = true;
        console.error(`api-report (${name}): ${m.text}`);
      } else m.handled = true;
    },
  });
  if (result.apiReportChanged && !update) {
    console.error(
      `api-report: the public surface of weir${name === 'index' ? '' : `/${name}`} changed; review api/ and run npm run api`,
    );
    failed++;
  } else if (!result.succeeded && !result.apiReportChanged) {
    console.error(`api-report (${name}): API Extractor failed with ${result.errorCount} error(s)`);
    failed++;
  }
}
if (failed > 0) process.exit(1);
console.log(update ? 'api-report: reports written to api/' : 'api-report: the public surface matches api/');
