// Entries and the tier contract
export { CacheEntry, isCacheEntry } from "./cache-entry.js";
export type { CacheEntryOptions } from "./cache-entry.js";
export type { CacheTier, TierAttachContext, TierReadReceiver } from "./cache-tier.js";
export type {
  ConditionalWriteRefusal,
  ConditionalWriteResult,
  ConditionalWrites,
  EntryVersion,
  VersionedRead,
} from "./conditional-writes.js";
export type { ExternalChange, ExternalChangeReason, ExternalChanges } from "./external-changes.js";

// Errors
export { CacheError, isCacheError } from "./cache-error.js";
export type { CacheErrorCode, CacheErrorOptions } from "./cache-error.js";

// Options checks
export { assertKnownOptions, closestKey } from "./options.js";
export type { KnownOptionsContext } from "./options.js";
// Option checks shared by every package
export { assertKnownKeys } from "./known-keys.js";
export { assertTagList, isTagList } from "./tag-list.js";

// Time
export { systemClock } from "./clock.js";
export type { Clock, TimerHandle } from "./clock.js";
export { ManualClock } from "./manual-clock.js";
export { toMilliseconds, toPositiveMilliseconds } from "./duration.js";
export type { Duration, DurationUnit, Milliseconds } from "./duration.js";

// Codecs
export type { Codec } from "./codec.js";
export { jsonCodec } from "./json-codec.js";
export type { GenericCodec } from "./json-codec.js";
export { structuredCodec } from "./structured-codec.js";

// Resilience
export { CircuitBreaker } from "./circuit-breaker.js";
export type { CircuitBreakerOptions, CircuitState, FailureRateOptions } from "./circuit-breaker.js";

// Coherence
export { MemoryBus, MemoryBusHub } from "./cache-bus.js";
export type { BusReconnectInfo, CacheBus, CacheBusMessage } from "./cache-bus.js";
export type { DistributedLock, LockLease } from "./distributed-lock.js";

// Events (emitted by @cachet/core, consumed by @cachet/telemetry)
export { CACHE_EVENT_CHANNEL } from "./cache-event.js";
export type {
  CacheEvent,
  CacheEventListener,
  CacheEventType,
  CacheOperationName,
  TracedCall,
} from "./cache-event.js";
