/**
 * The parts of weir/nestjs the shared scenarios do not reach: limits on a controller class, a skipped
 * controller, responses counted after they end (countOnly), a route exempt from load shedding, and an
 * exception filter that answers refusals itself.
 */
import 'reflect-metadata';
import { type ArgumentsHost, Catch, Controller, type ExceptionFilter, Get, HttpException, Module, Post } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  LoadSheddingGuard,
  RateLimit,
  RateLimitExceededException,
  RateLimitGuard,
  SkipLoadShedding,
  SkipRateLimit,
} from '../../../adapters/nestjs/index.js';
import { type BulkheadPolicy, slidingWindow, VirtualClock } from '../../../src/index.js';
import type { Platform, StartedApp } from '../app-types.js';
import { createApp, listen } from './platform.js';

export async function startGuardsApp(platform: Platform, pool: BulkheadPolicy, gate: Promise<void>): Promise<StartedApp> {
  const clock = new VirtualClock();
  const perController = slidingWindow({ limit: 1, windowMs: 60_000, clock });

  @Controller('shared')
  @RateLimit({ limiter: perController, name: 'shared' })
  class SharedController {
    @Get('a')
    a() {
      return 'a';
    }

    @Get('b')
    b() {
      return 'b';
    }
  }

  @Controller('open')
  @SkipRateLimit()
  class OpenController {
    @Get()
    @RateLimit({ limiter: slidingWindow({ limit: 1, windowMs: 60_000, clock }) })
    open() {
      return 'open';
    }
  }

  // One limit for both routes (a class limit): the two passwords are two routes here, which keeps the
  // handlers free of parameter decorators.
  @Controller('login')
  @RateLimit({
    limiter: slidingWindow({ limit: 2, windowMs: 60_000, clock }),
    name: 'failed-logins',
    countOnly: (response) => response.statusCode === 401,
  })
  class LoginController {
    @Post('right')
    right() {
      return { ok: true };
    }

    @Post('wrong')
    wrong() {
      throw new HttpException('wrong password', 401);
    }
  }

  @Controller()
  class SlowController {
    @Get('slow')
    async slow() {
      await gate;
      return 'slow';
    }

    @Get('health')
    @SkipLoadShedding()
    health() {
      return 'up';
    }
  }

  // One handler function, inherited by two controllers with their own class metadata.
  class ItemRoutes {
    @Get('item')
    item() {
      return 'item';
    }
  }

  @Controller('one')
  @RateLimit({ limiter: slidingWindow({ limit: 5, windowMs: 60_000, clock }), name: 'one' })
  class OneController extends ItemRoutes {}

  @Controller('two')
  @SkipRateLimit()
  class TwoController extends ItemRoutes {}

  @Catch(RateLimitExceededException)
  class RefusalFilter implements ExceptionFilter {
    constructor(private readonly adapterHost: HttpAdapterHost) {}
    catch(exception: RateLimitExceededException, host: ArgumentsHost) {
      const { httpAdapter } = this.adapterHost;
      const response = host.switchToHttp().getResponse();
      httpAdapter.setHeader(response, 'Content-Type', 'application/json');
      httpAdapter.reply(response, { refusedBy: exception.info.name, key: exception.info.key }, 429);
    }
  }

  @Module({ controllers: [SharedController, OpenController, LoginController, SlowController, OneController, TwoController] })
  class GuardsModule {}

  const created = await createApp(GuardsModule, platform);
  created.app.useGlobalGuards(new LoadSheddingGuard({ bulkhead: pool }), new RateLimitGuard());
  created.app.useGlobalFilters(new RefusalFilter(created.app.get(HttpAdapterHost)));
  return listen(created);
}
