import { cachedFetchHandler } from "./fetch-adapter.js";
import type { FetchHandler } from "./fetch-adapter.js";
import { createFastifyPlugin } from "./fastify-plugin.js";
import type { FastifyCachePlugin } from "./fastify-plugin.js";
import { HttpCacheEngine } from "./http-cache-engine.js";
import type { HttpCacheOptions } from "./http-cache-options.js";
import { createNodeMiddleware } from "./node-middleware.js";
import type { NodeMiddleware } from "./node-middleware.js";

/**
 * An HTTP response cache: one engine (one store, one set of in-flight requests) with three faces.
 * A response stored through one face is served by the others.
 */
export interface HttpCache {
  /**
   * Wraps a web-standard `(request: Request) => Promise<Response>` handler (Hono, Next.js route
   * handlers, plain `fetch` handlers).
   *
   * @example
   * const handler = httpCache.fetch(async (request) => new Response("hello", {
   *   headers: { "cache-control": "max-age=60" },
   * }));
   */
  fetch(handler: FetchHandler): FetchHandler;
  /**
   * A node:http / Express / Connect middleware. It captures the downstream response (status,
   * headers, streamed body) and stores it while streaming it to the client.
   *
   * @example
   * app.use(httpCache.middleware());
   */
  middleware(): NodeMiddleware;
  /**
   * A Fastify plugin (`fastify` is an optional peer): `await app.register(httpCache.fastify)`.
   * Register it on the instance whose routes it should cache.
   */
  readonly fastify: FastifyCachePlugin;
  /**
   * Removes every stored response tagged with one of `tags` (from the `Cache-Tag` /
   * `Surrogate-Key` response headers or the `tagsOf` policy), across tiers and instances when the
   * store is a `@cachet/core` Cache.
   * @throws CacheError `INVALID_OPTION` when the store has no `invalidateTags` method.
   */
  purgeTags(tags: readonly string[]): Promise<void>;
  /**
   * Removes the stored responses (all variants) for a URL, as an unsafe request to it would.
   * `url` is absolute, e.g. `"https://example.com/products/1"`.
   */
  invalidate(url: string): Promise<void>;
}

/**
 * Creates an HTTP response cache.
 *
 * @example
 * import { MemoryTier } from "@cachet/memory";
 * const httpCache = createHttpCache({
 *   cache: new MemoryTier({ maxEntries: 10_000 }),
 *   mode: "server",
 *   policy: { ttl: 30_000, negativeTtl: 5_000 },
 * });
 * app.use(httpCache.middleware());
 *
 * @throws CacheError `INVALID_OPTION` when an option is invalid.
 */
export function createHttpCache(options: HttpCacheOptions): HttpCache {
  const engine = new HttpCacheEngine(options);
  const middleware = createNodeMiddleware(engine);
  const fastify = createFastifyPlugin(middleware);
  return {
    fetch: (handler) => cachedFetchHandler(engine, handler),
    middleware: () => middleware,
    fastify,
    purgeTags: (tags) => engine.purgeTags(tags),
    invalidate: (url) => engine.invalidate({ method: "GET", url, header: () => undefined }),
  };
}
