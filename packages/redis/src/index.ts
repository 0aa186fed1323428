// The tier
export { RedisTier } from "./redis-tier.js";
export type { RedisClientInput, RedisTierOptions } from "./redis-tier-options.js";
export type { RedisTierEvent } from "./redis-tier-event.js";
export type { RedisConnectOptions } from "./connect-options.js";
export type { RedisTrackingOptions } from "./tracking/tracking-options.js";

// Client adapters
export type { RedisAdapter, RedisWrite } from "./redis-adapter.js";
export { ioredisAdapter } from "./ioredis-adapter.js";
export type { IORedisLike } from "./ioredis-adapter.js";
export { nodeRedisAdapter } from "./node-redis-adapter.js";
export type {
  NodeRedisAdapterOptions,
  NodeRedisClientLike,
  NodeRedisClusterLike,
} from "./node-redis-adapter.js";

// Envelope (for tools that read cachet keys)
export { ENVELOPE_MAGIC, ENVELOPE_VERSION } from "./envelope.js";

// Coherence
export { RedisBus } from "./bus/redis-bus.js";
export type { RedisBusOptions } from "./bus/redis-bus.js";
export type { IORedisClient } from "./connection/ioredis-connection.js";
export type { RedisConnectionInput } from "./connection/resolve-connection.js";
export { RedisLock } from "./lock/redis-lock.js";
export type { RedisLockOptions } from "./lock/redis-lock.js";
export { RedisStreams } from "./streams/redis-streams.js";
export type {
  ClaimResult,
  RedisStreamsOptions,
  StreamEntry,
  StreamReadOptions,
} from "./streams/redis-streams.js";
