import { CacheError, toMilliseconds } from "@cachet/core";
import { SetMetadata } from "@nestjs/common";
import { CACHED_METADATA } from "./metadata.js";
import type { CachedMetadata, CachedOptions } from "./metadata.js";

const KEYS = ["cache", "key", "ttl", "tags", "statusHeader"];

function invalid(message: string): CacheError {
  return new CacheError("INVALID_OPTION", `@cachet/nestjs @Cached(): ${message}`);
}

/**
 * Caches a handler's result by route and arguments (with `CachetInterceptor` applied): the first
 * request runs the handler and stores what it returned, later requests with the same key get the
 * stored result without running it, and concurrent requests for one key share one run. A result of
 * `undefined` is not stored. On a controller class, it applies to every handler of the class; a
 * handler's own `@Cached()` wins.
 *
 * The handler must return its result (not write to `@Res()`); streams (`StreamableFile`) are not
 * cacheable.
 *
 * @example
 * \@Get(":id")
 * \@Cached({ ttl: "1m", tags: ({ request }) => [`product:${String(request.params.id)}`] })
 * findOne(@Param("id") id: string) { ... }
 *
 * @throws CacheError `INVALID_OPTION` naming the option, when the class is defined.
 */
export function Cached<R = unknown>(options: CachedOptions<R> = {}): ClassDecorator & MethodDecorator {
  if (typeof options !== "object" || options === null) throw invalid("the options must be an object");
  for (const key of Object.keys(options)) {
    if (!KEYS.includes(key)) throw invalid(`unknown option \`${key}\` (known: ${KEYS.join(", ")})`);
  }
  if (options.cache !== undefined && (typeof options.cache !== "string" || options.cache === "")) {
    throw invalid("`cache` must be a non-empty string");
  }
  if (options.key !== undefined && typeof options.key !== "function")
    throw invalid("`key` must be a function");
  if (options.tags !== undefined && typeof options.tags !== "function" && !Array.isArray(options.tags)) {
    throw invalid("`tags` must be an array of strings or a function");
  }
  const statusHeader = options.statusHeader ?? "x-cache";
  if (statusHeader !== false && (typeof statusHeader !== "string" || statusHeader === "")) {
    throw invalid("`statusHeader` must be a header name or false");
  }
  const metadata: CachedMetadata = {
    cache: options.cache,
    key: options.key,
    ttl: options.ttl === undefined ? undefined : toMilliseconds(options.ttl, "@Cached() ttl"),
    tags: options.tags as CachedMetadata["tags"],
    statusHeader,
  };
  return SetMetadata(CACHED_METADATA, metadata);
}
