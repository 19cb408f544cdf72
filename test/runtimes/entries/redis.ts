/**
 * Bun and Deno: weir/redis with ioredis and node-redis (each through the runtime's Node compatibility)
 * against the redis-server whose URL is the first argument. Prints the facts as the last line of stdout.
 */
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { redisStore } from '../../../adapters/redis/index.js';
import { tokenBucket } from '../../../src/index.js';

declare const Deno: { args: string[] } | undefined;
declare const process: { argv: string[] };

const url = (typeof Deno !== 'undefined' ? Deno.args : process.argv.slice(2))[0] as string;

/** Three takes of a bucket of two by two limiters (two app servers) sharing state: allowed, allowed, refused. */
async function takes(client: unknown, prefix: string): Promise<boolean[]> {
  const limiter = () =>
    tokenBucket({ capacity: 2, refillPerSecond: 0.01, store: redisStore({ client: client as never, prefix, onError: 'deny' }) });
  const first = limiter();
  const second = limiter();
  const decisions = [await first.take('k'), await second.take('k'), await first.take('k')];
  return decisions.map((decision) => decision.allowed);
}

const ioredis = new Redis(url);
// The store refuses to wait for a connection (onError decides meanwhile): start once both are ready.
await new Promise((resolve, reject) => ioredis.once('ready', resolve).once('error', reject));
const nodeRedis = createClient({ url });
await nodeRedis.connect();
try {
  const facts = {
    ioredis: await takes(ioredis, `ioredis-${Math.random()}:`),
    nodeRedis: await takes(nodeRedis, `node-redis-${Math.random()}:`),
  };
  console.log(JSON.stringify(facts));
} finally {
  ioredis.disconnect();
  await nodeRedis.quit();
}
