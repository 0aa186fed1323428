// The module and its options
export { CachetModule } from "./cachet-module.js";
export type {
  AnyCache,
  CachetCacheConfig,
  CachetHttpOptions,
  CachetModuleAsyncOptions,
  CachetModuleOptions,
  ExcludedRoute,
  RouteSpec,
} from "./cachet-module-options.js";

// Injection
export { DEFAULT_CACHE_NAME, getCacheToken, getHttpCacheToken } from "./tokens.js";
export { InjectCache, InjectHttpCache } from "./inject-cache.js";

// Handler caching and invalidation
export { CachetInterceptor } from "./cachet-interceptor.js";
export { Cached } from "./cached.js";
export { InvalidateTags } from "./invalidate-tags.js";
export type { CachedOptions, InvalidateTagsOptions } from "./metadata.js";
export type { CachedRequest, RouteResult, TagsOption } from "./route-context.js";
