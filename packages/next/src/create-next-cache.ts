import { NextCache } from "./next-cache.js";
import type { NextCacheOptions } from "./next-cache-options.js";

/**
 * Creates a {@link NextCache}: the incremental and `"use cache"` handlers on one cachet cache.
 * @throws CacheError `INVALID_OPTION` naming an unknown or invalid option.
 * @example
 * export const nextCache = createNextCache({ redis: process.env.REDIS_URL, prefix: "shop" });
 */
export function createNextCache(options?: NextCacheOptions): NextCache {
  return new NextCache(options);
}
