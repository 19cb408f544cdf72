/** Which client library `redisStore({ client })` got: recognised by shape, since the libraries are optional peers. */
import { show } from '../../src/core/validate.js';
import { glideClientOf } from './clients/glide.js';
import { ioredisClientOf } from './clients/ioredis.js';
import { nodeRedisClientOf } from './clients/node-redis.js';
import type { ScriptClient } from './script-client.js';

export const SUPPORTED_CLIENTS =
  'an ioredis Redis or Cluster (also with Sentinel), an iovalkey Redis or Cluster, a node-redis client, cluster or Sentinel (createClient/createCluster/createSentinel from "redis" v5 or v6), or a Valkey GLIDE GlideClient or GlideClusterClient';

/** Recognises the client library by shape; anything else is a TypeError naming the supported ones. */
export function scriptClientOf(where: string, client: unknown): ScriptClient {
  const found =
    typeof client === 'object' && client !== null
      ? (ioredisClientOf(client) ?? nodeRedisClientOf(client) ?? glideClientOf(client))
      : undefined;
  if (found === undefined) throw new TypeError(`${where}: option "client" must be ${SUPPORTED_CLIENTS}, got ${show(client)}`);
  if (/[{}]/.test(found.keyPrefix)) {
    throw new RangeError(`${where}: the client's keyPrefix ${show(found.keyPrefix)} contains "{" or "}", which breaks hash tags`);
  }
  return found;
}
