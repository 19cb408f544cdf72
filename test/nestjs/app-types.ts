/** Types shared by the Nest test applications (compiled with legacy decorators) and the vitest side. */
import type { INestApplication } from '@nestjs/common';
import type { LimitOptions, LoadSheddingOptions, ResponseOptions } from '../../adapters/nestjs/index.js';

export type Platform = 'express' | 'fastify';

/** The harness's Setup (test/http/harness.ts), as far as a Nest application uses it. */
export interface NestSetup {
  global?: LimitOptions<any>[];
  routes?: Record<string, LimitOptions<any>[] | false>;
  response?: ResponseOptions<any>;
  trustProxy?: boolean;
  loadShedding?: LoadSheddingOptions;
  host?: string;
  gate?: () => Promise<void>;
}

export interface StartedApp {
  url: string;
  app: INestApplication;
}

/** The application of test/nestjs/app/policies-app.ts. */
export interface PoliciesApp extends StartedApp {
  /** Calls that reached the report service's method (the breaker stops them once open). */
  reportCalls(): number;
  breakerState(): string;
}
