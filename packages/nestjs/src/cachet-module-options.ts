import type { Cache } from "@cachet/core";
import type { HttpCacheOptions, HttpCacheStore } from "@cachet/service";
import type {
  InjectionToken,
  MiddlewareConsumer,
  ModuleMetadata,
  OptionalFactoryDependency,
} from "@nestjs/common";

/** A route as `MiddlewareConsumer.forRoutes` takes it: a path, `{ path, method }` or a controller. */
export type RouteSpec = Parameters<ReturnType<MiddlewareConsumer["apply"]>["forRoutes"]>[number];
/** A route as `MiddlewareConsumer.exclude` takes it: a path or `{ path, method }`. */
export type ExcludedRoute = Parameters<ReturnType<MiddlewareConsumer["apply"]>["exclude"]>[number];

/** Any cachet cache with string keys, whatever its value type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registration holds caches of any value type
export type AnyCache = Cache<string, any>;

/**
 * The HTTP response cache of a registration: `createHttpCache` options from `@cachet/service`,
 * plus the routes its middleware is applied to.
 */
export interface CachetHttpOptions extends Omit<HttpCacheOptions, "cache"> {
  /**
   * Where responses are kept.
   * @default the registration's cache (its tiers, its bus, its tags)
   */
  cache?: HttpCacheStore;
  /**
   * Routes the middleware is applied to, as `MiddlewareConsumer.forRoutes` takes them: paths,
   * `{ path, method }` objects or controller classes. Without it no middleware is applied; inject
   * the `HttpCache` ({@link InjectHttpCache}) and apply `httpCache.middleware()` yourself.
   * @default undefined
   */
  routes?: readonly RouteSpec[];
  /** Routes excluded from {@link CachetHttpOptions.routes}. @default [] */
  exclude?: readonly ExcludedRoute[];
}

/** What a registration provides: the cache and what happens around it. */
export interface CachetCacheConfig {
  /** The cache to provide, built with `Cache.builder()` from `@cachet/core`. */
  cache: AnyCache;
  /**
   * Close the cache when the application shuts down (`app.close()`, or a signal with
   * `app.enableShutdownHooks()`), after the HTTP server stopped taking requests. Set `false` when
   * the cache is shared with code that outlives the application.
   * @default true
   */
  closeOnShutdown?: boolean;
  /**
   * Runs on application shutdown after the cache was closed: close what the cache does not own,
   * such as a `RedisBus` or an ioredis client you passed to it.
   * @default undefined
   */
  onShutdown?: () => void | Promise<void>;
  /** The HTTP response cache and the routes it covers. @default no middleware applied */
  http?: CachetHttpOptions;
}

/** Options for `CachetModule.forRoot`. */
export interface CachetModuleOptions extends CachetCacheConfig {
  /**
   * Name of the cache. Register several caches with several `forRoot` calls, each with its own
   * name, and inject them with `@InjectCache(name)`.
   * @default "default"
   */
  name?: string;
  /**
   * Register the cache in the global scope, so every module can inject it without importing
   * `CachetModule`. Otherwise only modules that import this registration see it.
   * @default false
   */
  isGlobal?: boolean;
}

/** Options for `CachetModule.forRootAsync`: the cache comes from a factory with injected dependencies. */
export interface CachetModuleAsyncOptions {
  /** @see CachetModuleOptions.name @default "default" */
  name?: string;
  /** @see CachetModuleOptions.isGlobal @default false */
  isGlobal?: boolean;
  /** Modules whose exported providers the factory injects, e.g. `ConfigModule`. @default [] */
  imports?: ModuleMetadata["imports"];
  /** Tokens whose values are passed to {@link CachetModuleAsyncOptions.useFactory}, in order. @default [] */
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  /** Builds the registration: the cache, and optionally its shutdown and HTTP options. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Nest passes injected values untyped
  useFactory: (...args: any[]) => CachetCacheConfig | Promise<CachetCacheConfig>;
}
