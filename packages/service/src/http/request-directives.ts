/**
 * Request directives (RFC 9111 §5.2.1): what a client's `Cache-Control` asks of the cache, limited
 * to the directives the policy lets clients use.
 *
 * Owns: reading request directives into {@link RequestRules}. Must never: let a directive the
 * policy did not allow through (in server mode none are, so clients cannot force misses), or
 * allocate when no directive counts (the hit path calls it on every request).
 */
import { deltaSeconds, parseCacheControl } from "./cache-control.js";
import type { RequestDirective } from "./http-cache-options.js";

/** What a request's `Cache-Control` asks for, times in ms. */
export interface RequestRules {
  /** Revalidate before reuse (`no-cache`, or `max-age=0`). */
  readonly noCache: boolean;
  /** Do not store the response to this request. */
  readonly noStore: boolean;
  /** The oldest response the client accepts. */
  readonly maxAge: number | undefined;
  /** How stale a response the client accepts (`Infinity` for a bare `max-stale`). */
  readonly maxStale: number | undefined;
  /** How much freshness the response must have left. */
  readonly minFresh: number | undefined;
  /** Answer from the cache or with 504, never from the origin. */
  readonly onlyIfCached: boolean;
  /** How stale a response the client accepts when the origin fails. */
  readonly staleIfError: number | undefined;
}

/** The rules of a request without directives (shared, so the common case allocates nothing). */
export const NO_RULES: RequestRules = Object.freeze({
  noCache: false,
  noStore: false,
  maxAge: undefined,
  maxStale: undefined,
  minFresh: undefined,
  onlyIfCached: false,
  staleIfError: undefined,
});

/** Every request directive the cache implements: the standards-mode default. */
export const ALL_REQUEST_DIRECTIVES: readonly RequestDirective[] = Object.freeze([
  "no-cache",
  "no-store",
  "max-age",
  "max-stale",
  "min-fresh",
  "only-if-cached",
  "stale-if-error",
]);

/** Reads a request's `Cache-Control` value, keeping only the `allowed` directives. */
export function requestRules(
  cacheControl: string | undefined,
  allowed: ReadonlySet<RequestDirective>,
): RequestRules {
  if (allowed.size === 0) return NO_RULES;
  const cc = parseCacheControl(cacheControl);
  if (cc.size === 0) return NO_RULES;
  const maxAge = allowed.has("max-age") ? deltaSeconds(cc, "max-age") : undefined;
  let maxStale: number | undefined;
  if (allowed.has("max-stale") && cc.has("max-stale")) {
    maxStale = cc.get("max-stale") === true ? Infinity : deltaSeconds(cc, "max-stale");
  }
  return {
    noCache: allowed.has("no-cache") && (cc.has("no-cache") || maxAge === 0),
    noStore: allowed.has("no-store") && cc.has("no-store"),
    maxAge,
    maxStale,
    minFresh: allowed.has("min-fresh") ? deltaSeconds(cc, "min-fresh") : undefined,
    onlyIfCached: allowed.has("only-if-cached") && cc.has("only-if-cached"),
    staleIfError: allowed.has("stale-if-error") ? deltaSeconds(cc, "stale-if-error") : undefined,
  };
}
