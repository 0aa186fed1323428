import type { Clock, Milliseconds } from "@cachet/tier";
import type { HeaderPairs, HttpCacheStore } from "./stored-response.js";

/**
 * A request as the HTTP cache sees it, whatever the adapter (fetch, node:http, Fastify).
 *
 * `url` is absolute and built from what the server itself saw: the scheme of the connection and the
 * `Host` header (for `fetch` handlers, the `Request`'s URL). Forwarding headers such as
 * `X-Forwarded-Host` never contribute to it.
 */
export interface HttpRequestInfo {
  /** Upper-case method, e.g. `"GET"`. */
  readonly method: string;
  /** Absolute URL without fragment, e.g. `"http://example.com/a?b=1"`. */
  readonly url: string;
  /** Returns a request header field value (combined with `, ` when repeated), or `undefined`. */
  header(name: string): string | undefined;
}

/** The response head the cache inspects when deciding to store: status and header fields. */
export interface HttpResponseInfo {
  /** Status code from the origin. */
  readonly status: number;
  /** Header fields from the origin, names in lowercase. */
  readonly headers: HeaderPairs;
}

/**
 * Which request `Cache-Control` directives a client may use. `no-cache` covers `max-age=0` too, since
 * both force a revalidation.
 */
export type RequestDirective =
  "no-cache" | "no-store" | "max-age" | "max-stale" | "min-fresh" | "only-if-cached" | "stale-if-error";

/**
 * The cache's policy: what it stores, for how long, and what it tells clients. Every field is
 * optional; the defaults depend on the {@link HttpCacheOptions.mode}.
 */
export interface HttpCachePolicy {
  /**
   * Request methods served from the cache. `HEAD` is answered from the stored `GET` response; other
   * methods are never stored.
   * @default ["GET", "HEAD"]
   */
  methods?: readonly string[];
  /**
   * Status codes that may be stored. `206` and `304` are never stored, and an error status is only
   * ever served as itself, never as a `200`.
   * @default standards mode: every final status the origin marks cacheable; server mode: `[200, 203, 204, 300, 301, 308, 404, 410]`
   */
  statuses?: readonly number[];
  /**
   * Freshness for stored responses, fixed or per route. In server mode it replaces the origin's
   * `max-age` / `Expires` (the server decides); in standards mode it applies only to responses that
   * carry no explicit freshness and whose status allows heuristic freshness. Return `undefined`
   * from the function to fall back to the origin's headers.
   * @default undefined (the origin's headers decide)
   */
  ttl?: Milliseconds | ((request: HttpRequestInfo, response: HttpResponseInfo) => Milliseconds | undefined);
  /**
   * Freshness given to `404` and `410` responses that carry no explicit freshness. `0` keeps them
   * uncached unless the origin says otherwise.
   * @default 0
   */
  negativeTtl?: Milliseconds;
  /**
   * Request `Cache-Control` directives that count. In server mode clients cannot force a miss (a
   * denial-of-service lever) unless `"no-cache"` is listed here.
   * @default standards mode: all of them; server mode: none
   */
  requestDirectives?: readonly RequestDirective[];
  /**
   * Response header fields to store, in lowercase. When set, only these fields (plus the ones the
   * cache needs: `cache-control`, `content-type`, `content-encoding`, `content-length`, `etag`,
   * `last-modified`, `expires`, `date`, `vary`) are kept. `set-cookie` is never stored by a shared
   * cache: responses that carry it are not stored at all.
   * @default undefined (every end-to-end field)
   */
  storeHeaders?: readonly string[];
  /**
   * Responses with a body smaller than this (in bytes) are not stored.
   * @default 0
   */
  minBodySize?: number;
  /**
   * Responses with a larger body are passed through uncached; a stream of unknown length is
   * buffered only up to this size, then forwarded unbuffered and not stored.
   * @default 5_242_880 (5 MiB)
   */
  maxBodySize?: number;
  /**
   * Gzip the bodies the cache stores (bodies the origin already encoded are kept as they are).
   * Saves store memory and bandwidth at the cost of a decompression per hit.
   * @default false
   */
  compress?: boolean;
  /**
   * Response header fields whose comma- or space-separated values become the entry's tags. The
   * fields are removed from the responses sent to clients.
   * @default ["cache-tag", "surrogate-key"]
   */
  tagHeaders?: readonly string[];
  /** Computes extra tags for a response that is about to be stored. */
  tagsOf?: (request: HttpRequestInfo, response: HttpResponseInfo) => readonly string[];
  /**
   * Name of the header that reports what the cache did (`HIT`, `MISS`, `STALE`, `REVALIDATED`,
   * `BYPASS`), or `false` for none.
   * @default "x-cache"
   */
  cacheStatusHeader?: string | false;
  /**
   * Heuristic freshness (RFC 9111 §4.2.2) for responses with `Last-Modified` and no explicit
   * freshness: this fraction of the time since the last modification, capped at
   * {@link HttpCachePolicy.heuristicMax}. `0` disables heuristics.
   * @default 0.1
   */
  heuristicFraction?: number;
  /**
   * Upper bound for heuristic freshness.
   * @default 86_400_000 (one day)
   */
  heuristicMax?: Milliseconds;
  /**
   * How long a response is kept after it went stale: a response with a validator (`ETag` or
   * `Last-Modified`) can then be revalidated with a conditional request instead of fetched again,
   * and a client's `max-stale` / `stale-if-error` can still be met.
   * @default 300_000 (five minutes)
   */
  keepStale?: Milliseconds;
  /**
   * Request header fields removed before a cacheable request reaches the origin, because they can
   * change the response without being part of the cache key (cache poisoning). Put a field in the
   * key with `keyOf` and remove it from this list if your origin needs it.
   * @default ["x-forwarded-host", "x-forwarded-server", "x-forwarded-proto", "x-forwarded-scheme",
   *   "x-forwarded-port", "x-forwarded-prefix", "forwarded", "x-host", "x-original-url",
   *   "x-rewrite-url", "x-http-method-override", "x-http-method", "x-method-override"]
   */
  stripRequestHeaders?: readonly string[];
  /**
   * Device token for the `Surrogate-Control` protocol (W3C Edge Architecture). When set, a shared
   * cache sends `Surrogate-Capability: <name>="Surrogate/1.0"` to the origin and obeys
   * `Surrogate-Control` directives targeted at `;<name>` as well as untargeted ones. Untargeted
   * `Surrogate-Control` is obeyed by a shared cache in any case, and the header is never sent to
   * clients.
   * @default undefined
   */
  surrogateName?: string;
  /**
   * Targeted cache-control fields this cache obeys (RFC 9213), most specific first, e.g.
   * `["mycdn-cache-control", "cdn-cache-control"]`. The first one present in a response with a valid,
   * non-empty Structured Fields dictionary replaces `Cache-Control` and `Expires` for this cache's
   * storage and freshness decisions; an invalid one is ignored. They are forwarded to clients
   * unchanged. `[]` turns the mechanism off.
   * @default shared cache: `["cdn-cache-control"]`; private cache: `[]`
   */
  targets?: readonly string[];
}

/** Options for {@link createHttpCache}. */
export interface HttpCacheOptions {
  /**
   * Where responses are kept: a `Cache<string, HttpCacheValue>` from `@cachet/core` (multi-tier,
   * coherent across instances) or any `CacheTier<string, HttpCacheValue>`.
   */
  cache: HttpCacheStore;
  /**
   * `"standards"` honours request directives as RFC 9111 describes (a cache in front of someone
   * else's origin); `"server"` lets the {@link HttpCachePolicy} decide which client directives
   * count and lets its `ttl` override the origin's freshness, as ASP.NET Output Caching does.
   * @default "server"
   */
  mode?: "standards" | "server";
  /**
   * A shared cache (one store for all users: `s-maxage`, `private` and `Authorization` rules apply
   * and `Set-Cookie` responses are not stored), or a private one (a single user's cache).
   * @default true
   */
  shared?: boolean;
  /**
   * The primary cache key of a request, or `undefined` to bypass the cache for it. `Vary` selection
   * is applied on top. Requests for one resource must map to one key whatever their method, so
   * that `HEAD` reuses `GET` and unsafe methods invalidate it.
   * @default the absolute URL: scheme and host (as the server saw it) lower-cased, default port and fragment dropped, path and query byte for byte
   */
  keyOf?: (request: HttpRequestInfo) => string | undefined;
  /** What is stored and for how long. */
  policy?: HttpCachePolicy;
  /** Time source; tests pass a `ManualClock`. @default systemClock */
  clock?: Clock;
  /**
   * Receives store failures and background revalidation errors. The cache never throws them at
   * clients: a failing store behaves like an empty one.
   * @default ignore
   */
  onError?: (error: unknown) => void;
}
