/**
 * workerd: each request to /suite runs the scenario suite and answers its result as JSON; /hono/* is a
 * Hono app limited by weir/hono. What the module keeps at module scope (policies, the app and its limiter)
 * is created at global scope, outside any request, as a Worker's would be.
 */
import { bulkhead, tokenBucket } from '../../../src/index.js';
import { honoApp, runSuite } from '../scenarios.js';

interface Env {
  UPSTREAM?: string;
}

// Two requests per client, then one every 100 s: no refill between the test's requests.
const app = honoApp(tokenBucket({ capacity: 2, refillPerSecond: 0.01 }));

/** One slot, one unbounded place in the queue: the waiter is a request other than the one holding the slot. */
const shared = bulkhead({ maxConcurrent: 1, maxQueue: 1 });

/** Holds the slot, waiting on timers of its own request, until another request is queued (at most 5 s). */
async function holdUntilQueued(): Promise<Response> {
  const sawQueued = await shared.execute(async () => {
    for (let waited = 0; shared.queued === 0 && waited < 5000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return shared.queued === 1;
  });
  return Response.json({ sawQueued });
}

async function bulkheadRoute(pathname: string): Promise<Response> {
  if (pathname === '/bulkhead/hold') return holdUntilQueued();
  if (pathname === '/bulkhead/queued') return Response.json({ ran: await shared.execute(() => 'after waiting') });
  return Response.json({ running: shared.running, queued: shared.queued });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith('/hono/')) {
      return app.fetch(new Request(new URL(url.pathname.slice('/hono'.length), url), request));
    }
    if (url.pathname.startsWith('/bulkhead/')) return bulkheadRoute(url.pathname);
    if (url.pathname !== '/suite') return new Response('not found', { status: 404 });
    try {
      return Response.json(await runSuite({ upstream: env.UPSTREAM }));
    } catch (error) {
      return new Response(String((error as Error)?.stack ?? error), { status: 500 });
    }
  },
};
