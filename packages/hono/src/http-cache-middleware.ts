import { createHttpCache } from "@cachet/service";
import type { HttpCache, HttpCacheOptions } from "@cachet/service";
import type { Context, MiddlewareHandler } from "hono";
import { releaseAfterResponse } from "./context-release.js";

function isHttpCache(value: HttpCache | HttpCacheOptions): value is HttpCache {
  return (
    typeof (value as Partial<HttpCache>).fetch === "function" &&
    typeof (value as Partial<HttpCache>).purgeTags === "function"
  );
}

/**
 * Replaces the context's response without Hono's header merge: `c.res = x` copies the previous
 * response's headers onto `x`, which would put back the fields the cache removed (`Cache-Tag`) or
 * carry a stale answer's headers into a revalidated one.
 */
function replaceResponse(c: Context, response: Response | undefined): void {
  c.res = undefined;
  if (response === undefined) {
    // No response yet: the handlers downstream set it, and Hono assigns what they return.
    c.finalized = false;
  } else {
    c.res = response;
  }
}

/**
 * Hono middleware for the RFC 9111 HTTP response cache of `@cachet/service`. Give it the options of
 * `createHttpCache` or an `HttpCache` you made (to share it with other faces, or to call
 * `purgeTags` / `invalidate` on it).
 *
 * The handlers after it are the origin: on a hit they do not run; on a miss they run once however
 * many requests wait for the same resource; when a stale response is revalidated in the background
 * they run after the client already got its answer.
 *
 * @example
 * import { Hono } from "hono";
 * import { MemoryTier } from "@cachet/memory";
 * const app = new Hono();
 * app.use("/api/*", httpCache({ cache: new MemoryTier({ maxEntries: 10_000 }) }));
 *
 * @throws CacheError `INVALID_OPTION` naming the option, when options are given and one is invalid.
 */
export function httpCache(cacheOrOptions: HttpCache | HttpCacheOptions): MiddlewareHandler {
  const cache = isHttpCache(cacheOrOptions) ? cacheOrOptions : createHttpCache(cacheOrOptions);
  return async (c, next) => {
    // Set once the client's answer was handed to Hono: a later origin call is a background
    // revalidation, which must wait until Hono no longer reads this context.
    const state: { released?: Promise<void> } = {};
    const handler = cache.fetch(async (request) => {
      if (state.released !== undefined) {
        await state.released;
        replaceResponse(c, undefined);
      }
      // The cache may have removed request fields (cache poisoning) or added validators; the
      // handlers downstream must see the request it forwards.
      if (request !== c.req.raw) c.req.raw = request;
      await next();
      return c.res;
    });
    const answer = releaseAfterResponse(c, await handler(c.req.raw));
    state.released = answer.released;
    replaceResponse(c, answer.response);
  };
}
