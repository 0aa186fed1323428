// Services and layers
export type { AnyService, Layer, Middleware, RequestOf, ResponseOf, Service } from "./service.js";
export { compose } from "./compose.js";
export type { AnyLayer, Composed, ComposedLayer } from "./compose.js";

// Storage as a service
export { CACHE_OPERATION_NAMES } from "./cache-operation.js";
export type {
  CacheOperation,
  CacheOperationName,
  CacheResponse,
  CacheService,
  ClearOperation,
  GetManyOperation,
  GetOperation,
  InsertManyOperation,
  InsertOperation,
  InvalidateManyOperation,
  InvalidateOperation,
  ResponseFor,
  SizeOperation,
} from "./cache-operation.js";
export { tierAsService } from "./tier-as-service.js";
export { ServiceTier } from "./service-tier.js";
export type { ServiceTierOptions } from "./service-tier.js";

// Resilience layers
export { timeout } from "./timeout.js";
export type { TimeoutOptions } from "./timeout.js";
export { retry, isRetryableError } from "./retry.js";
export type { Backoff, ExponentialBackoff, RetryOptions } from "./retry.js";
export { circuitBreaker, isBackendFailure } from "./circuit-breaker.js";
export { concurrencyLimit } from "./concurrency-limit.js";
export type { ConcurrencyLimitOptions } from "./concurrency-limit.js";
export { tap } from "./tap.js";
export type { TapOptions } from "./tap.js";

// HTTP response cache
export { createHttpCache } from "./http/http-cache.js";
export type { HttpCache } from "./http/http-cache.js";
export type {
  HttpCacheOptions,
  HttpCachePolicy,
  HttpRequestInfo,
  HttpResponseInfo,
  RequestDirective,
} from "./http/http-cache-options.js";
export type {
  HeaderPairs,
  HttpCacheStore,
  HttpCacheValue,
  StoredResponse,
  StoredVariants,
} from "./http/stored-response.js";
export type { CacheStatus } from "./http/adapter-contract.js";
export { HOP_BY_HOP_FIELDS } from "./http/header-fields.js";
export type { FetchHandler } from "./http/fetch-adapter.js";
export type { NodeMiddleware } from "./http/node-middleware.js";
export type { FastifyCachePlugin, FastifyInstanceLike } from "./http/fastify-plugin.js";
