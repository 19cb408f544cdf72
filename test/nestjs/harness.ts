/**
 * Nest applications on the Express and the Fastify platform behind the scenario harness interface
 * (test/http/harness.ts), so the shared adapter scenarios run against weir/nestjs's guards.
 */
import type { Harness } from '../http/harness.js';
import type { NestSetup, Platform, StartedApp } from './app-types.js';
import { compileNestApps } from './compile.js';

type ScenarioApp = { startScenarioApp(platform: Platform, setup: NestSetup): Promise<StartedApp> };

export function nestHarness(platform: Platform): Harness {
  return {
    name: `nest 12 (${platform})`,
    async start(setup) {
      const { startScenarioApp } = await compileNestApps().load<ScenarioApp>('scenario-app');
      const { url, app } = await startScenarioApp(platform, setup as NestSetup);
      return {
        url,
        close: async () => {
          (app.getHttpServer() as import('node:http').Server).closeAllConnections();
          await app.close();
        },
      };
    },
  };
}
