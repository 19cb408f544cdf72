/**
 * workerd: each request to /suite runs the scenario suite and answers its result as JSON; /hono/* is a
 * Hono app limited by weir/hono. What the module keeps at module scope (policies, the app and its limiter)
 * is created at global scope, outside any request, as a Worker's would be.
 */
import { tokenBucket } from '../../../src/index.js';
import { honoApp, runSuite } from '../scenarios.js';

interface Env {
  UPSTREAM?: string;
}

// Two requests per client, then one every 100 s: no refill between the test's requests.
const app = honoApp(tokenBucket({ capacity: 2, refillPerSecond: 0.01 }));

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith('/hono/')) {
      return app.fetch(new Request(new URL(url.pathname.slice('/hono'.length), url), request));
    }
    if (url.pathname !== '/suite') return new Response('not found', { status: 404 });
    try {
      return Response.json(await runSuite({ upstream: env.UPSTREAM }));
    } catch (error) {
      return new Response(String((error as Error)?.stack ?? error), { status: 500 });
    }
  },
};
