// The handlers
export { NextCache } from "./next-cache.js";
export { createNextCache } from "./create-next-cache.js";
export { sharedNextCache } from "./shared-next-cache.js";
export type { NextCacheOptions } from "./next-cache-options.js";

// What is stored
export type { StoredEntry, StoredIncremental, StoredTagTimes, StoredUseCache } from "./stored-entry.js";

// Next's contracts, as implemented
export type {
  IncrementalCacheHandler,
  IncrementalCacheHandlerClass,
  IncrementalGetContext,
  IncrementalHit,
  IncrementalSetContext,
  IncrementalValue,
  NextCacheControl,
  NextHeaders,
  TagDurations,
  UseCacheEntry,
  UseCacheHandler,
} from "./next-types.js";
