/**
 * weir's policies as legacy method decorators in a Nest application: on provider methods (a provider
 * injected into the controller by its type, which needs emitDecoratorMetadata) and on route handlers,
 * next to Nest's route decorators and weir/nestjs's @RateLimit in either order.
 */
import 'reflect-metadata';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { RateLimit, RateLimitGuard } from '../../../adapters/nestjs/index.js';
import { circuitBreaker, compose, fallback, retry, slidingWindow, VirtualClock } from '../../../src/index.js';
import type { Platform, PoliciesApp } from '../app-types.js';
import { createApp, listen } from './platform.js';

export async function startPoliciesApp(platform: Platform): Promise<PoliciesApp> {
  const clock = new VirtualClock();
  const breaker = circuitBreaker({ consecutiveFailures: 2, openDurationMs: 60_000, clock });

  @Injectable()
  class ProfileStore {
    attempts = 0;

    // Fails twice, then answers: the third attempt of the retry succeeds.
    @retry({ maxAttempts: 3, backoff: 0 })
    async load(id: string) {
      this.attempts++;
      if (this.attempts < 3) throw new Error(`flaky ${this.attempts}`);
      return { id, attempts: this.attempts };
    }
  }

  @Injectable()
  class ReportService {
    calls = 0;

    @compose(fallback({ report: 'cached' }), breaker)
    async build(): Promise<{ report: string }> {
      this.calls++;
      throw new Error('database down');
    }
  }

  // One limiter per route: each allows one request per minute.
  const once = () => slidingWindow({ limit: 1, windowMs: 60_000, clock });

  @Controller()
  class ProfileController {
    handled = 0;

    constructor(
      private readonly profiles: ProfileStore,
      private readonly reports: ReportService,
    ) {}

    @Get('/profile')
    profile() {
      return this.profiles.load('42');
    }

    @Get('/report')
    report() {
      return this.reports.build();
    }

    // A policy on the handler itself: `this` is still the controller (with its injected providers).
    @Get('/flaky')
    @retry({ maxAttempts: 2, backoff: 0 })
    async flaky() {
      this.handled++;
      if (this.handled === 1) throw new Error('first call fails');
      return { handled: this.handled, viaProvider: this.profiles instanceof ProfileStore };
    }

    // @RateLimit below the policy: the policy replaces the method it was recorded on.
    @Get('/limited-below')
    @retry({ maxAttempts: 2, backoff: 0 })
    @RateLimit({ limiter: once(), name: 'below' })
    limitedBelow() {
      return { ok: true };
    }

    // @RateLimit above the policy.
    @Get('/limited-above')
    @RateLimit({ limiter: once(), name: 'above' })
    @retry({ maxAttempts: 2, backoff: 0 })
    limitedAbove() {
      return { ok: true };
    }
  }

  @Module({ controllers: [ProfileController], providers: [ProfileStore, ReportService] })
  class PoliciesModule {}

  const created = await createApp(PoliciesModule, platform);
  created.app.useGlobalGuards(new RateLimitGuard());
  const started = await listen(created);
  const reports = created.app.get(ReportService);
  return { ...started, reportCalls: () => reports.calls, breakerState: () => breaker.state };
}
