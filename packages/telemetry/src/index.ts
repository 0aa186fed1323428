// Instrumentation
export { cacheTelemetry } from "./cache-telemetry.js";
export type {
  CacheTelemetry,
  CacheTelemetryOptions,
  CacheTelemetrySpans,
  TelemetryClock,
} from "./cache-telemetry.js";

// Every cache in the process
export { subscribeCacheEvents } from "./subscribe-cache-events.js";
// Defined once in @cachet/tier (the one place core and telemetry share), re-exported here.
export { CACHE_EVENT_CHANNEL } from "@cachet/tier";

// Names
export {
  ATTR_CACHE_ACTIVITY,
  ATTR_CACHE_BACKGROUND,
  ATTR_CACHE_KEY,
  ATTR_CACHE_KEY_HASH,
  ATTR_CACHE_NAME,
  ATTR_CACHE_OPERATION,
  ATTR_CACHE_TIER,
  ATTR_ERROR_TYPE,
  METRIC_CACHE_EVENT_COUNT,
  METRIC_CACHE_LOADER_ACTIVE,
  METRIC_CACHE_LOADER_DURATION,
  METRIC_CACHE_OPERATION_DURATION,
  METRIC_CACHE_SIZE,
  SPAN_CACHE_LOAD,
  SPAN_CACHE_TIER,
} from "./attributes.js";

// Event shapes (aliases of the types in @cachet/tier, and the gauge view of a cache)
export type {
  CacheEventLike,
  CacheEventType,
  InstrumentedCacheLike,
  TracedCallLike,
} from "./cache-event-like.js";
