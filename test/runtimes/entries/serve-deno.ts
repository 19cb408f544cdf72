/** Deno: serves the limited Hono app with Deno.serve on a free port and prints `{"port":N}` once listening. */
import { getConnInfo } from 'hono/deno';
import { limitedApp } from './serve-app.js';

declare const Deno: {
  serve(
    options: { port: number; hostname: string; onListen: (address: { port: number }) => void },
    handler: (request: Request, info: unknown) => Response | Promise<Response>,
  ): unknown;
};

const app = limitedApp(getConnInfo);
Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: ({ port }) => console.log(JSON.stringify({ port })) }, (request, info) =>
  app.fetch(request, info),
);
