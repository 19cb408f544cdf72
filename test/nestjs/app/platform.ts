/** A Nest application of a module on the Express or the Fastify platform, listening on a free port. */
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { Platform, StartedApp } from '../app-types.js';

export interface Created {
  app: INestApplication;
}

export async function createApp(module: object, platform: Platform, trustProxy = false): Promise<Created> {
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter({ trustProxy });
  const app = await NestFactory.create(module, adapter, { logger: false });
  // Express's own proxy setting (req.ip); Fastify's is the adapter option above.
  if (platform === 'express' && trustProxy)
    (app as unknown as { set(name: string, value: unknown): void }).set('trust proxy', true);
  return { app };
}

export async function listen({ app }: Created, host = '127.0.0.1'): Promise<StartedApp> {
  await app.listen(0, host);
  const address = app.getHttpServer().address() as { address: string; port: number };
  const shown = address.address.includes(':') ? `[${address.address}]` : address.address;
  return { url: `http://${shown}:${address.port}`, app };
}
