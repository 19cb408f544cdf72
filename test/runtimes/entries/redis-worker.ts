/**
 * workerd (Node compatibility on, the default since 2026-08-04): weir/redis with node-redis over `node:net`.
 * /shared uses one client for every request (connected by the first); /per-request connects a client in
 * the request and closes it before answering. Each answers three takes of a fresh bucket of two.
 */
import { createClient } from 'redis';
import { redisStore } from '../../../adapters/redis/index.js';
import { tokenBucket } from '../../../src/index.js';

interface Env {
  REDIS_URL: string;
}

/** The client as the store sees it (node-redis's generic client type is not needed here). */
type Client = Parameters<typeof redisStore>[0]['client'] & { quit(): Promise<unknown> };
let shared: Client | undefined;

async function connect(url: string): Promise<Client> {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  return client as unknown as Client;
}

/** Three takes of a fresh bucket of two: [true, true, false] when Redis answers; [false, false, false] when the store fails ('deny'). */
async function takes(client: Client): Promise<boolean[]> {
  const store = redisStore({ client, prefix: `worker-${Math.random()}:`, onError: 'deny' });
  const limiter = tokenBucket({ capacity: 2, refillPerSecond: 0.01, store });
  const allowed: boolean[] = [];
  for (let i = 0; i < 3; i++) allowed.push((await limiter.take('k')).allowed);
  return allowed;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === '/shared') {
      shared ??= await connect(env.REDIS_URL);
      return Response.json(await takes(shared));
    }
    const client = await connect(env.REDIS_URL);
    try {
      return Response.json(await takes(client));
    } finally {
      await client.quit();
    }
  },
};
