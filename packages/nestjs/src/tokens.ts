/** Name of the cache registered by `CachetModule.forRoot` when no `name` is given. */
export const DEFAULT_CACHE_NAME = "default";

// Tokens are strings, not symbols: the ESM and CJS builds of this package (and two copies of it in
// one tree) must agree on them, and a string is the same value everywhere.
const CACHE_TOKEN_PREFIX = "cachet:nestjs:cache:";
const HTTP_CACHE_TOKEN_PREFIX = "cachet:nestjs:http-cache:";

/** @internal The per-registration configuration, private to each dynamic module. */
export const MODULE_CONFIG = "cachet:nestjs:module-config";
/** @internal The registration's HTTP response cache, under a name-independent token. */
export const MODULE_HTTP_CACHE = "cachet:nestjs:module-http-cache";
/** @internal The provider that closes a registration's cache on application shutdown. */
export const MODULE_SHUTDOWN = "cachet:nestjs:shutdown";

/**
 * The injection token of a named cache, for `@Inject(getCacheToken("users"))`, `moduleRef.get` or
 * a custom provider. {@link InjectCache} is the short form.
 */
export function getCacheToken(name: string = DEFAULT_CACHE_NAME): string {
  return CACHE_TOKEN_PREFIX + name;
}

/**
 * The injection token of the HTTP response cache (`HttpCache` from `@cachet/service`) that every
 * registration builds over its cache. {@link InjectHttpCache} is the short form.
 */
export function getHttpCacheToken(name: string = DEFAULT_CACHE_NAME): string {
  return HTTP_CACHE_TOKEN_PREFIX + name;
}
