// The parts of Next.js's cache handler contracts this package implements, written out structurally
// so that the package does not import from Next's internal `dist/` paths (which move between
// releases). `test/next-types.types.test.ts` checks them against the installed Next.js types.

/** Response headers as Next stores them with a page or route entry. */
export type NextHeaders = Record<string, string | number | string[] | undefined>;

/** The lifetime Next passes with a page or route entry, in seconds (`false`: never revalidate). */
export interface NextCacheControl {
  revalidate: number | false;
  expire: number | undefined;
}

/**
 * A value of the incremental cache (`cacheHandler`): a page, a route handler response, a `fetch`
 * result, a redirect or an image. Only `kind`, `headers` and (for `fetch`) `tags` are read here;
 * the other fields are stored and returned as they came.
 */
export interface IncrementalValue {
  kind: string;
  headers?: NextHeaders | undefined;
  tags?: string[] | undefined;
}

/** What `get` of the incremental cache handler returns for a hit. */
export interface IncrementalHit {
  lastModified: number;
  value: IncrementalValue | null;
  cacheControl?: NextCacheControl;
}

/** The context Next passes to the incremental cache handler's `get` (the fields used here). */
export interface IncrementalGetContext {
  kind: string;
  tags?: string[] | undefined;
  softTags?: string[] | undefined;
}

/** The context Next passes to the incremental cache handler's `set` (the fields used here). */
export interface IncrementalSetContext {
  fetchCache?: boolean | undefined;
  tags?: string[] | undefined;
  cacheControl?: NextCacheControl | undefined;
}

/** The durations Next passes with a tag revalidation (`revalidateTag(tag, profile)`), in seconds. */
export interface TagDurations {
  expire?: number;
}

/** One `"use cache"` entry as Next hands it to `set` and expects it back from `get`. */
export interface UseCacheEntry {
  value: ReadableStream<Uint8Array>;
  tags: string[];
  stale: number;
  timestamp: number;
  expire: number;
  revalidate: number;
}

/** The `"use cache"` handler contract (`cacheHandlers` in `next.config`). */
export interface UseCacheHandler {
  get(cacheKey: string, softTags: string[]): Promise<UseCacheEntry | undefined>;
  set(cacheKey: string, pendingEntry: Promise<UseCacheEntry>): Promise<void>;
  refreshTags(): Promise<void>;
  getExpiration(tags: string[]): Promise<number>;
  updateTags(tags: string[], durations?: TagDurations): Promise<void>;
}

/** An instance of the incremental cache handler class (`cacheHandler` in `next.config`). */
export interface IncrementalCacheHandler {
  get(cacheKey: string, ctx: IncrementalGetContext): Promise<IncrementalHit | null>;
  set(cacheKey: string, data: IncrementalValue | null, ctx: IncrementalSetContext): Promise<void>;
  revalidateTag(tags: string | string[], durations?: TagDurations): Promise<void>;
  resetRequestCache(): void;
}

/** The class Next instantiates once per request with a context it does not need here. */
export type IncrementalCacheHandlerClass = new (context?: unknown) => IncrementalCacheHandler;
