// docs/nestjs.md, runnable as a Nest project compiles it (experimentalDecorators, emitDecoratorMetadata).
// A test (test/nestjs/example.test.ts) compiles it with tsc in those settings and runs it with a
// VirtualClock on the Express and the Fastify platform.
import 'reflect-metadata';
import { Controller, Get, type INestApplication, Injectable, Logger, Module, Post } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { LoadSheddingGuard, RateLimit, RateLimitGuard, SkipRateLimit } from '../../adapters/nestjs/index.js'; // 'weir/nestjs'
import {
  bulkhead,
  type Clock,
  circuitBreaker,
  retry,
  slidingWindow,
  systemClock,
  timeout,
  tokenBucket,
} from '../../src/index.js'; // 'weir'

export type Platform = 'express' | 'fastify';

async function start(module: object, platform: Platform): Promise<INestApplication> {
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  const app = await NestFactory.create(module, adapter, { logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

const urlOf = (app: INestApplication) => `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;

export async function nestExample(platform: Platform, clock: Clock = systemClock, port = 3000): Promise<string[]> {
  Logger.overrideLogger(false); // quiet test runs
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  // #region intro
  const logins = slidingWindow({ limit: 2, windowMs: 60_000, clock });

  @Controller()
  class AuthController {
    @Post('login')
    @RateLimit({ limiter: logins, name: 'login', key: (req) => `account:${req.headers['x-account']}` })
    login() {
      return { ok: true };
    }

    @Get('health')
    @SkipRateLimit()
    health() {
      return 'ok';
    }
  }

  @Module({ controllers: [AuthController] })
  class AppModule {}

  const app = await NestFactory.create(AppModule, adapter); // ExpressAdapter or FastifyAdapter
  app.useGlobalGuards(
    new LoadSheddingGuard({ bulkhead: bulkhead({ maxConcurrent: 100 }) }),
    new RateLimitGuard({ rateLimit: { limiter: tokenBucket({ capacity: 20, refillPerSecond: 5, clock }), name: 'global' } }),
  );
  await app.listen(port);
  // #endregion intro

  const started = app;
  const log: string[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${urlOf(started)}/login`, { method: 'POST', headers: { 'x-account': 'ada' } });
      log.push(`${res.status} RateLimit: ${res.headers.get('ratelimit')}`);
      if (res.status === 429) {
        log.push(`Retry-After: ${res.headers.get('retry-after')}`);
        log.push(`${res.headers.get('content-type')?.split(';')[0]}: ${(await res.json()).detail}`);
      } else await res.body?.cancel();
    }
    const health = await fetch(`${urlOf(started)}/health`);
    log.push(`health: ${health.status} RateLimit: ${health.headers.get('ratelimit')}`);
  } finally {
    await started.close();
  }
  return log;
}

/** Policies on provider and controller methods, and the guards registered as providers of a module. */
export async function nestPolicies(platform: Platform, clock: Clock = systemClock): Promise<string[]> {
  let calls = 0;
  // #region policies
  @Injectable()
  class PricesService {
    // Listed outermost first: two attempts, each through the breaker (five failures in a row open it
    // for 30 s) and a 2 s timeout.
    @retry({ maxAttempts: 2, backoff: 0 })
    @circuitBreaker({ consecutiveFailures: 5, openDurationMs: 30_000, clock })
    @timeout({ ms: 2_000, clock })
    async price(sku: string) {
      calls++;
      if (calls === 1) throw new Error('upstream hiccup');
      return { sku, price: 42 };
    }
  }

  @Controller('prices')
  class PricesController {
    constructor(private readonly prices: PricesService) {}

    @Get('widget')
    widget() {
      return this.prices.price('widget');
    }
  }

  @Module({
    controllers: [PricesController],
    providers: [
      PricesService,
      {
        provide: APP_GUARD,
        useValue: new RateLimitGuard({ rateLimit: { limiter: tokenBucket({ capacity: 10, refillPerSecond: 1, clock }) } }),
      },
    ],
  })
  class PricesModule {}
  // #endregion policies

  const app = await start(PricesModule, platform);
  try {
    const res = await fetch(`${urlOf(app)}/prices/widget`);
    return [`${res.status} ${await res.text()} calls: ${calls} RateLimit: ${res.headers.get('ratelimit')}`];
  } finally {
    await app.close();
  }
}

/** docs/migrating.md, from @nestjs/throttler: two named limits for every route, legacy fields, a skipped route. */
export async function fromThrottler(platform: Platform, clock: Clock = systemClock): Promise<string[]> {
  // #region from-nestjs-throttler
  @Controller()
  class CatsController {
    @Get('cats')
    @RateLimit({ limiter: slidingWindow({ limit: 1, windowMs: 60_000, clock }), name: 'cats' }) // @Throttle(...)
    cats() {
      return ['tom'];
    }

    @Get('status')
    @SkipRateLimit() // @SkipThrottle()
    status() {
      return 'up';
    }
  }

  // ThrottlerModule.forRoot([{ name: 'short', ttl: 1000, limit: 3 }, { name: 'long', ttl: 60000, limit: 100 }])
  // and { provide: APP_GUARD, useClass: ThrottlerGuard }:
  const guard = new RateLimitGuard({
    rateLimit: [
      { limiter: slidingWindow({ limit: 3, windowMs: 1_000, clock }), name: 'short' },
      { limiter: slidingWindow({ limit: 100, windowMs: 60_000, clock }), name: 'long' },
    ],
    headers: 'legacy', // X-RateLimit-*, as the throttler sends
  });

  @Module({ controllers: [CatsController], providers: [{ provide: APP_GUARD, useValue: guard }] })
  class CatsModule {}
  // #endregion from-nestjs-throttler

  const app = await start(CatsModule, platform);
  const log: string[] = [];
  try {
    for (const path of ['cats', 'cats', 'status']) {
      const res = await fetch(`${urlOf(app)}/${path}`);
      const body = res.status === 429 ? (await res.json())['violated-policies'] : await res.text();
      log.push(`${path}: ${res.status} X-RateLimit-Remaining: ${res.headers.get('x-ratelimit-remaining')} ${body}`);
    }
  } finally {
    await app.close();
  }
  return log;
}
