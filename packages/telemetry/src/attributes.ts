/**
 * Names of the metrics, spans and attributes this package emits. OpenTelemetry has no semantic
 * convention for caches yet (semantic-conventions#1747), so these names are cachet's own; they
 * follow the OpenTelemetry naming rules (lowercase, dot-separated namespaces, snake_case words,
 * no plural names for UpDownCounters) and are stable from 1.0.
 */

// Attributes

/** The cache's name, as set with `.name(...)` on the builder. */
export const ATTR_CACHE_NAME = "cache.name";
/** The tier involved (`memory`, `redis`...); absent when an event concerns no single tier. */
export const ATTR_CACHE_TIER = "cache.tier";
/** The public operation that caused the event or call (`get`, `getOrInsert`, `refresh`, `bus`...). */
export const ATTR_CACHE_OPERATION = "cache.operation";
/** What happened: the event type (`hit`, `miss`, `stale_served`, `tier_error`...). */
export const ATTR_CACHE_ACTIVITY = "cache.activity";
/** Short hash of the key (spans only; never on metrics, where it would explode cardinality). */
export const ATTR_CACHE_KEY_HASH = "cache.key.hash";
/** The raw key (spans only), recorded only with `includeKeys: true` and a cache built with `.eventKeys(true)`. */
export const ATTR_CACHE_KEY = "cache.key";
/** True when the work ran in the background (a refresh), not for a waiting caller. Spans only. */
export const ATTR_CACHE_BACKGROUND = "cache.background";
/**
 * The kind of failure: the `CacheError` code (`TIER_FAILURE`, `TIMEOUT`...), else the error's
 * `name` (`TypeError`), else `_OTHER`. This is OpenTelemetry's general `error.type` attribute.
 */
export const ATTR_ERROR_TYPE = "error.type";

// Metrics

/** Counter of cache events, by name, tier, operation and activity. Unit `{event}`. */
export const METRIC_CACHE_EVENT_COUNT = "cache.event.count";
/** Histogram of lower-tier call durations, in seconds. */
export const METRIC_CACHE_OPERATION_DURATION = "cache.operation.duration";
/** Observable gauge of the entry count of each tier that can report one. Unit `{entry}`. */
export const METRIC_CACHE_SIZE = "cache.size";
/** Histogram of loader run durations, in seconds. */
export const METRIC_CACHE_LOADER_DURATION = "cache.loader.duration";
/** UpDownCounter of loader runs in progress. Unit `{loader}`. */
export const METRIC_CACHE_LOADER_ACTIVE = "cache.loader.active";

// Spans

/** Name of the span around each loader run. */
export const SPAN_CACHE_LOAD = "cache.load";
/** Name of the span around each call to a lower (fallback) tier. */
export const SPAN_CACHE_TIER = "cache.tier";
