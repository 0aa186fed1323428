import { Inject } from "@nestjs/common";
import { getCacheToken, getHttpCacheToken } from "./tokens.js";

/**
 * Injects the cache registered under `name` (a `Cache` from `@cachet/core`).
 *
 * @example
 * constructor(@InjectCache("users") private readonly users: Cache<string, User>) {}
 */
export function InjectCache(name?: string): PropertyDecorator & ParameterDecorator {
  return Inject(getCacheToken(name));
}

/**
 * Injects the HTTP response cache (`HttpCache` from `@cachet/service`) built over the cache
 * registered under `name`: purge by tag, invalidate a URL, or build its middleware yourself.
 */
export function InjectHttpCache(name?: string): PropertyDecorator & ParameterDecorator {
  return Inject(getHttpCacheToken(name));
}
