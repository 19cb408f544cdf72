/** Bun: serves the limited Hono app with Bun.serve on a free port and prints `{"port":N}` once listening. */
import { getConnInfo } from 'hono/bun';
import { limitedApp } from './serve-app.js';

declare const Bun: {
  serve(options: {
    port: number;
    hostname: string;
    fetch: (request: Request, server: unknown) => Response | Promise<Response>;
  }): {
    port: number;
  };
};

const app = limitedApp(getConnInfo);
const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (request, bunServer) => app.fetch(request, bunServer) });
console.log(JSON.stringify({ port: server.port }));
