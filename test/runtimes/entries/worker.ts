/**
 * workerd: each request to /suite runs the scenario suite and answers its result as JSON. The policies the
 * suite keeps at module scope are created at global scope, outside any request, as a Worker's would be.
 */
import { runSuite } from '../scenarios.js';

interface Env {
  UPSTREAM?: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname !== '/suite') return new Response('not found', { status: 404 });
    try {
      return Response.json(await runSuite({ upstream: env.UPSTREAM }));
    } catch (error) {
      return new Response(String((error as Error)?.stack ?? error), { status: 500 });
    }
  },
};
