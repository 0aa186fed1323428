import type { Duration } from "@cachet/core";
import type { CachedRequest, TagsOption } from "./route-context.js";

/** @internal Metadata key of {@link Cached}. */
export const CACHED_METADATA = "cachet:nestjs:cached";
/** @internal Metadata key of {@link InvalidateTags}. */
export const INVALIDATE_METADATA = "cachet:nestjs:invalidate";

/** Options of the `@Cached()` decorator. */
export interface CachedOptions<R = unknown> {
  /**
   * Name of the registered cache to use.
   * @default "default"
   */
  cache?: string;
  /**
   * The cache key of a request, or `undefined` to bypass the cache for it. Put in it everything the
   * result depends on: a route that answers per user must key on the user.
   * @default `<Controller>.<handler>:` followed by the route `params` and `query` as JSON with sorted keys
   */
  key?: (request: CachedRequest) => string | undefined;
  /**
   * How long a result stays fresh, e.g. `30_000` or `"30s"`.
   * @default the cache's ttl
   */
  ttl?: Duration;
  /**
   * Tags stored with the result, fixed or computed from the request and the result, so that
   * `@InvalidateTags()` (or `cache.invalidateTags`) on any instance removes it.
   * @default []
   */
  tags?: TagsOption<R>;
  /**
   * Response header that says whether the result came from the cache (`HIT`) or from the handler
   * (`MISS`), or `false` for none.
   * @default "x-cache"
   */
  statusHeader?: string | false;
}

/** Options of the `@InvalidateTags()` decorator. */
export interface InvalidateTagsOptions {
  /**
   * Name of the registered cache whose tags are invalidated.
   * @default "default"
   */
  cache?: string;
}

/** @internal What `@Cached()` stores, checked and normalised. */
export interface CachedMetadata {
  readonly cache: string | undefined;
  readonly key: ((request: CachedRequest) => string | undefined) | undefined;
  readonly ttl: number | undefined;
  readonly tags: TagsOption | undefined;
  readonly statusHeader: string | false;
}

/** @internal What `@InvalidateTags()` stores. */
export interface InvalidateMetadata {
  readonly cache: string | undefined;
  readonly tags: TagsOption;
}
