import { createHttpCache } from "@cachet/service";
import type { HttpCache } from "@cachet/service";
import { Inject, Module } from "@nestjs/common";
import type { DynamicModule, MiddlewareConsumer, NestModule, Provider } from "@nestjs/common";
import { CacheShutdown } from "./cache-shutdown.js";
import type {
  CachetCacheConfig,
  CachetModuleAsyncOptions,
  CachetModuleOptions,
} from "./cachet-module-options.js";
import {
  getCacheToken,
  getHttpCacheToken,
  MODULE_CONFIG,
  MODULE_HTTP_CACHE,
  MODULE_SHUTDOWN,
} from "./tokens.js";
import { checkAsyncOptions, checkConfig, checkModuleOptions, checkName } from "./validate-options.js";

function httpCacheOf(config: CachetCacheConfig): HttpCache {
  const { routes: _routes, exclude: _exclude, cache, ...options } = config.http ?? {};
  return createHttpCache({ ...options, cache: cache ?? config.cache });
}

function providers(name: string, config: Provider): Provider[] {
  return [
    config,
    { provide: getCacheToken(name), useFactory: (c: CachetCacheConfig) => c.cache, inject: [MODULE_CONFIG] },
    { provide: MODULE_HTTP_CACHE, useFactory: httpCacheOf, inject: [MODULE_CONFIG] },
    { provide: getHttpCacheToken(name), useExisting: MODULE_HTTP_CACHE },
    {
      provide: MODULE_SHUTDOWN,
      useFactory: (c: CachetCacheConfig) => new CacheShutdown(c),
      inject: [MODULE_CONFIG],
    },
  ];
}

/**
 * Provides cachet caches to a Nest application. Each `forRoot` / `forRootAsync` call registers one
 * named cache (and the HTTP response cache over it); call it once per cache.
 *
 * @example
 * \@Module({
 *   imports: [
 *     CachetModule.forRoot({ cache: Cache.builder<string, unknown>().memory({ maxEntries: 10_000 }).build() }),
 *   ],
 * })
 * export class AppModule {}
 */
@Module({})
export class CachetModule implements NestModule {
  readonly #config: CachetCacheConfig;
  readonly #httpCache: HttpCache;

  // Internal tokens: each dynamic module has its own providers under them, so the module instance
  // of a registration sees its own configuration whatever its name.
  constructor(
    @Inject(MODULE_CONFIG) config: CachetCacheConfig,
    @Inject(MODULE_HTTP_CACHE) httpCache: HttpCache,
  ) {
    this.#config = config;
    this.#httpCache = httpCache;
  }

  /**
   * Registers a cache built up front.
   * @throws CacheError `INVALID_OPTION` naming the option when an option is unknown or invalid.
   */
  static forRoot(options: CachetModuleOptions): DynamicModule {
    checkModuleOptions(options);
    const name = checkName(options.name);
    const { name: _name, isGlobal, ...config } = options;
    return {
      module: CachetModule,
      global: isGlobal === true,
      providers: providers(name, { provide: MODULE_CONFIG, useValue: config }),
      exports: [getCacheToken(name), getHttpCacheToken(name)],
    };
  }

  /**
   * Registers a cache built by a factory, with injected dependencies (configuration, a Redis client).
   * @throws CacheError `INVALID_OPTION` naming the option, here for the async options and at
   * application start for what the factory returned.
   */
  static forRootAsync(options: CachetModuleAsyncOptions): DynamicModule {
    checkAsyncOptions(options);
    const name = checkName(options.name);
    const { useFactory } = options;
    return {
      module: CachetModule,
      global: options.isGlobal === true,
      imports: options.imports ?? [],
      providers: providers(name, {
        provide: MODULE_CONFIG,
        useFactory: async (...args: unknown[]) => checkConfig(await useFactory(...args)),
        inject: options.inject ?? [],
      }),
      exports: [getCacheToken(name), getHttpCacheToken(name)],
    };
  }

  /** Applies the HTTP response cache's middleware to `http.routes`, when given. */
  configure(consumer: MiddlewareConsumer): void {
    const routes = this.#config.http?.routes;
    if (routes === undefined || routes.length === 0) return;
    const middleware = this.#httpCache.middleware();
    const applied = consumer.apply(middleware);
    const exclude = this.#config.http?.exclude ?? [];
    (exclude.length > 0 ? applied.exclude(...exclude) : applied).forRoutes(...routes);
  }
}
