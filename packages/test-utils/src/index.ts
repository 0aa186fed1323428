// Redis processes
export { startRedis } from "./start-redis.js";
export type { RedisClientOptions, RedisHandle, StartRedisOptions } from "./start-redis.js";
export { startRedisCluster } from "./start-redis-cluster.js";
export type {
  ClusterFailoverMode,
  RedisClusterHandle,
  RedisNodeAddress,
  StartRedisClusterOptions,
} from "./start-redis-cluster.js";
export { findRedisBinaries, redisAvailable, requireRedisBinaries } from "./find-redis.js";
export type { RedisBinaries } from "./find-redis.js";
export { describeRedis } from "./describe-redis.js";
export { liveChildCount } from "./process-registry.js";

// Probing and ports
export { sendCommand, RespError } from "./resp.js";
export type { RespReply } from "./resp.js";
export { findFreePort } from "./free-port.js";

// Chaos
export { startTcpProxy } from "./tcp-proxy.js";
export type { TcpProxy, TcpProxyOptions } from "./tcp-proxy.js";

// Deterministic tests
export { seededRandom } from "./seeded-random.js";
export { caughtCacheError, thrownCacheError } from "./cache-error-assertions.js";
export type { CaughtCacheError } from "./cache-error-assertions.js";
