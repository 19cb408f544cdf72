// The service under test: a Fastify app that calls the upstream through resilientFetch (retry, per-origin
// breaker, per-attempt timeout) with a fallback answer, limits each client with a token bucket, and sheds
// load through a bulkhead. This is the shape of a real weir deployment.
import Fastify, { type FastifyInstance } from 'fastify';
import weir from '../adapters/fastify/index.js'; // 'weir/fastify'
import { resilientFetch } from '../adapters/fetch/index.js'; // 'weir/fetch'
import { type AnyPolicy, bulkhead, exponentialBackoff, fallback, type RateLimitStore, tokenBucket } from '../src/index.js'; // 'weir'

export interface ServiceOptions {
  upstream: string;
  /** How long the breaker stays open before it tries again. */
  breakerOpenMs: number;
  /** Where the per-client limits live: memory (default) or Redis. */
  store?: RateLimitStore;
  /** Called with the service's policies as they are created (the upstream's breaker on its first request). */
  observe?: (...policies: AnyPolicy[]) => void;
}

export interface Service {
  readonly url: string;
  readonly app: FastifyInstance;
  /** 'closed' | 'open' | 'half-open' … of the upstream's breaker. */
  breakerState(): string;
  /** Retries made since the last call. */
  takeRetries(): number;
  /** The longest wait before a retry since the last call, in ms. */
  takeMaxRetryDelay(): number;
  close(): Promise<void>;
}

export async function startService(options: ServiceOptions): Promise<Service> {
  const upstreamFetch = resilientFetch({
    timeoutMs: 150,
    deadlineMs: 1_000,
    retry: { maxAttempts: 3, backoff: exponentialBackoff({ initialMs: 50, maxMs: 200 }), maxDelayMs: 300 },
    circuitBreaker: {
      window: { type: 'count', size: 20 },
      minimumCalls: 10,
      failureRateThreshold: 0.5,
      openDurationMs: options.breakerOpenMs,
      halfOpen: { permits: 2 },
    },
    onOrigin: (_origin, policies) => {
      if (policies.circuitBreaker !== undefined) options.observe?.(policies.circuitBreaker);
    },
  });
  let retries = 0;
  let maxRetryDelay = 0;
  upstreamFetch.retry?.on('retry', ({ delayMs }) => {
    retries++;
    maxRetryDelay = Math.max(maxRetryDelay, delayMs);
  });

  // When the upstream cannot answer (an error status, a timeout, an open breaker), serve a cached quote.
  const quoteFallback = fallback((error: unknown) => ({ source: 'fallback' as const, reason: (error as Error).name }));
  const getQuote = quoteFallback(async (id: string) => {
    const res = await upstreamFetch(`${options.upstream}/quote/${id}`);
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`upstream answered ${res.status}`);
    }
    return { source: 'upstream' as const, quote: await res.json() };
  });

  const shedding = bulkhead({ maxConcurrent: 40 });
  if (upstreamFetch.retry !== undefined) options.observe?.(upstreamFetch.retry);
  options.observe?.(quoteFallback, shedding);

  const app = Fastify();
  const store = options.store;
  await app.register(weir, {
    rateLimit: {
      name: 'per-client',
      limiter: tokenBucket({ capacity: 20, refillPerSecond: 10, ...(store === undefined ? {} : { store }) }),
      key: (request) => String(request.headers['x-client'] ?? request.ip),
    },
    loadShedding: { bulkhead: shedding, retryAfter: 1 },
  });
  app.get<{ Params: { id: string } }>('/quote/:id', async (request, reply) => {
    const answer = await getQuote(request.params.id);
    reply.header('x-source', answer.source);
    return answer;
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url,
    app,
    breakerState: () => upstreamFetch.policies(options.upstream)?.circuitBreaker?.state ?? 'closed',
    takeRetries() {
      const n = retries;
      retries = 0;
      return n;
    },
    takeMaxRetryDelay() {
      const n = maxRetryDelay;
      maxRetryDelay = 0;
      return n;
    },
    async close() {
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
