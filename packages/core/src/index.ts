// The cache
export { Cache } from "./cache.js";
export type { BusKeys } from "./cache-config.js";
export type { CacheStats } from "./cache-stats.js";
export { CacheNamespace } from "./cache-namespace.js";
export { CacheBuilder } from "./cache-builder.js";
export type { CacheBuilderOptions, DistributedStampedeOptions, MemoryOptions } from "./cache-builder.js";
export { PromotionPolicy } from "./promotion-policy.js";
export type { ValueMode } from "./value-mode.js";

// Loading
export type {
  BatchLoader,
  FailSafeOptions,
  GetOrInsertOptions,
  InsertOptions,
  Loader,
  LoaderContext,
  LoaderFailure,
  LoaderTimeouts,
} from "./loader.js";

// Events
export { hashKey } from "./cache-event.js";
export { CACHE_EVENT_CHANNEL } from "@cachet/tier";
export type { CacheEvent, CacheEventListener, CacheEventType, CacheOperationName } from "@cachet/tier";

// Instrumentation
export type { CacheInstrumentation, InstrumentedCache } from "./instrumentation.js";
export type { TracedCall } from "@cachet/tier";

// Re-exported from @cachet/tier
export {
  CacheEntry,
  CacheError,
  CircuitBreaker,
  ManualClock,
  MemoryBus,
  MemoryBusHub,
  isCacheEntry,
  isCacheError,
  jsonCodec,
  structuredCodec,
  systemClock,
  toMilliseconds,
  toPositiveMilliseconds,
} from "@cachet/tier";
export type {
  BusReconnectInfo,
  CacheBus,
  CacheBusMessage,
  DistributedLock,
  LockLease,
  CacheEntryOptions,
  CacheErrorCode,
  CacheTier,
  CircuitBreakerOptions,
  Clock,
  Codec,
  Duration,
  Milliseconds,
} from "@cachet/tier";

// Re-exported from @cachet/memory
export { MemoryTier } from "@cachet/memory";
export type { MemoryTierOptions } from "@cachet/memory";
