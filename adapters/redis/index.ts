/**
 * weir/redis: Redis-backed rate-limit state for the limiters of `weir`, with ioredis, iovalkey, node-redis
 * (v5, v6) or Valkey GLIDE; standalone, Sentinel or Cluster.
 */

export { escapeKey } from './keys.js';
export {
  DEFAULT_TIME_ORIGIN_SECONDS,
  type RedisClient,
  type RedisFallbackCause,
  type RedisOnError,
  type RedisRateLimitStore,
  type RedisStoreEvents,
  type RedisStoreOptions,
  redisStore,
} from './store.js';
