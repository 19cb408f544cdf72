/**
 * The Nest application that the shared adapter scenarios run against (through test/nestjs/harness.ts).
 * Compiled by tsc with experimentalDecorators and emitDecoratorMetadata, as Nest applications are; the
 * controller is declared per start, so that its decorators carry that scenario's limits.
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import {
  type LimitOptions,
  LoadSheddingGuard,
  RateLimit,
  RateLimitGuard,
  SkipRateLimit,
} from '../../../adapters/nestjs/index.js';
import type { NestSetup, Platform, StartedApp } from '../app-types.js';
import { createApp, listen } from './platform.js';

function limitsFor(limits: LimitOptions<any>[] | false | undefined): MethodDecorator {
  if (limits === false) return SkipRateLimit() as MethodDecorator;
  if (limits === undefined || limits.length === 0) return () => {};
  return RateLimit(...limits) as MethodDecorator;
}

export async function startScenarioApp(platform: Platform, setup: NestSetup): Promise<StartedApp> {
  const routes = setup.routes ?? {};
  const answer = async () => {
    if (setup.gate !== undefined) await setup.gate();
    return 'ok';
  };

  @Controller()
  class ScenarioController {
    @Get('/')
    @limitsFor(routes['/'])
    root() {
      return answer();
    }

    @Get('/a')
    @limitsFor(routes['/a'])
    a() {
      return answer();
    }

    @Get('/b')
    @limitsFor(routes['/b'])
    b() {
      return answer();
    }

    @Get('/strict')
    @limitsFor(routes['/strict'])
    strict() {
      return answer();
    }

    @Get('/health')
    @limitsFor(routes['/health'])
    health() {
      return answer();
    }
  }

  @Module({ controllers: [ScenarioController] })
  class ScenarioModule {}

  const started = await createApp(ScenarioModule, platform, setup.trustProxy === true);
  const app = started.app;
  const guards = [];
  if (setup.loadShedding !== undefined) guards.push(new LoadSheddingGuard(setup.loadShedding));
  guards.push(new RateLimitGuard({ rateLimit: setup.global ?? [], ...setup.response }));
  app.useGlobalGuards(...guards);
  return listen(started, setup.host);
}
