/**
 * What a response allows (RFC 9111 §3 and §4.2, RFC 9213 §2.2): whether a shared or private cache
 * may store it, for how long it is fresh, and which reuse rules it carries. A pure function of the response's
 * status and header values, the request's `Authorization` presence, the timing and the policy.
 *
 * Owns: the storability decision and the per-response flags stored with it. Must never: read a
 * clock, a store or a body, or call user code (the engine evaluates the `ttl` policy function and
 * passes its result).
 */
import { deltaSeconds, parseCacheControl } from "./cache-control.js";
import { explicitLifetime, dateValue, heuristicLifetime, initialAge } from "./freshness.js";
import type { ResponseTiming } from "./freshness.js";
import { headerValue } from "./header-fields.js";
import type { ResolvedOptions } from "./resolve-options.js";
import type { HeaderPairs, StoredResponse } from "./stored-response.js";
import { surrogateControl, targetedControl } from "./targeted-control.js";

/** Statuses whose caching requirements this cache implements (for `must-understand`, RFC 9111 §5.2.2.3). */
const UNDERSTOOD_STATUSES = new Set([
  200, 203, 204, 300, 301, 302, 303, 307, 308, 400, 403, 404, 405, 410, 414, 500, 501, 502, 503, 504,
]);

/** Statuses that allow heuristic freshness (RFC 9110 §15.1). */
const HEURISTIC_STATUSES = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

/** The policy values the analysis reads. */
export type MetaPolicy = Pick<
  ResolvedOptions,
  | "isShared"
  | "isServerMode"
  | "statuses"
  | "negativeTtl"
  | "heuristicFraction"
  | "heuristicMax"
  | "surrogateName"
  | "targets"
>;

/** The response as the analysis sees it. */
export interface ResponseFacts {
  readonly status: number;
  readonly headers: HeaderPairs;
  /** Whether the request carried `Authorization` (RFC 9111 §3.5). */
  readonly hasAuthorization: boolean;
  /** The `ttl` policy's answer for this response (already evaluated), or `undefined`. */
  readonly policyTtl: number | undefined;
  readonly timing: ResponseTiming;
}

/** Freshness, storability and reuse flags of one response; times in ms. */
export interface ResponseMeta {
  readonly isStorable: boolean;
  readonly initialAge: number;
  readonly freshFor: number;
  readonly isNoCache: boolean;
  readonly isMustRevalidate: boolean;
  readonly isAuthorizedReuseAllowed: boolean;
  readonly staleWhileRevalidate: number;
  readonly staleIfError: number;
}

/** Analyzes a response for storing (or a merged response after a 304, for refreshing). */
export function analyzeResponse(facts: ResponseFacts, policy: MetaPolicy): ResponseMeta {
  const { headers, status, policyTtl } = facts;
  // RFC 9213 §2.2: a valid targeted field for this cache replaces Cache-Control and Expires.
  const targeted = policy.targets.length === 0 ? undefined : targetedControl(headers, policy.targets);
  const cc = targeted ?? parseCacheControl(headerValue(headers, "cache-control"));
  const shared = policy.isShared;
  const date = dateValue(facts.timing);
  const expires = targeted === undefined ? headerValue(headers, "expires") : undefined;
  let explicit = explicitLifetime(cc, expires, date, shared);
  let freshFor = explicit ?? 0;
  // Surrogate-Control, when present for this cache, takes precedence over Cache-Control.
  const surrogate = shared
    ? surrogateControl(headerValue(headers, "surrogate-control"), policy.surrogateName)
    : undefined;
  const surrogateMaxAge = surrogate === undefined ? undefined : deltaSeconds(surrogate, "max-age");
  if (surrogateMaxAge !== undefined) {
    freshFor = surrogateMaxAge;
    explicit = surrogateMaxAge;
  }
  const heuristicAllowed = HEURISTIC_STATUSES.has(status) || cc.has("public");
  if (policy.isServerMode && policyTtl !== undefined) {
    freshFor = policyTtl;
  } else if (explicit === undefined && heuristicAllowed) {
    if (policyTtl !== undefined) freshFor = policyTtl;
    else if ((status === 404 || status === 410) && policy.negativeTtl > 0) freshFor = policy.negativeTtl;
    else
      freshFor = heuristicLifetime(
        headerValue(headers, "last-modified"),
        date,
        policy.heuristicFraction,
        policy.heuristicMax,
      );
  }
  const isMustRevalidate =
    cc.has("must-revalidate") || (shared && (cc.has("proxy-revalidate") || cc.has("s-maxage")));
  const isNoCache = cc.has("no-cache");
  const isAuthorizedReuseAllowed = cc.has("public") || cc.has("must-revalidate") || cc.has("s-maxage");
  const hasValidator =
    headerValue(headers, "etag") !== undefined || headerValue(headers, "last-modified") !== undefined;

  const mustUnderstand = cc.has("must-understand");
  let isStorable =
    surrogate?.has("no-store") !== true &&
    (surrogateMaxAge !== undefined ||
      ((mustUnderstand ? UNDERSTOOD_STATUSES.has(status) : !cc.has("no-store")) &&
        !(shared && cc.has("private")))) &&
    status !== 206 &&
    status !== 304 &&
    (policy.statuses === undefined ? status >= 200 && status <= 599 : policy.statuses.has(status));
  if (isStorable && shared) {
    if (facts.hasAuthorization && !isAuthorizedReuseAllowed) isStorable = false;
    if (
      headerValue(headers, "set-cookie") !== undefined ||
      headerValue(headers, "set-cookie2") !== undefined
    ) {
      isStorable = false;
    }
  }
  if (isStorable && !(freshFor > 0 || hasValidator)) isStorable = false;
  if (isStorable && (isNoCache || freshFor === 0) && !hasValidator) isStorable = false;
  return {
    isStorable,
    initialAge: initialAge(facts.timing),
    freshFor,
    isNoCache,
    isMustRevalidate,
    isAuthorizedReuseAllowed,
    staleWhileRevalidate: deltaSeconds(cc, "stale-while-revalidate") ?? 0,
    staleIfError: deltaSeconds(cc, "stale-if-error") ?? 0,
  };
}

/**
 * How long the store keeps a response (its entry ttl): the freshness left plus the longest stale
 * window it may still serve in (`stale-while-revalidate`, `stale-if-error`, or `keepStale` for
 * revalidation and clients' `max-stale`). `must-revalidate` keeps only `keepStale`.
 */
export function retention(stored: StoredResponse, initialAgeMs: number, keepStale: number): number {
  const freshLeft = Math.max(0, stored.freshFor - initialAgeMs);
  const staleKeep = stored.isMustRevalidate
    ? keepStale
    : Math.max(stored.staleWhileRevalidate, stored.staleIfError, keepStale);
  return freshLeft + staleKeep;
}
