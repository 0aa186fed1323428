/**
 * The per-load policy (ttl, tags, stale-while-revalidate, fail-safe, timeouts, negative ttl) and
 * how a call's {@link GetOrInsertOptions} are merged into the cache's defaults.
 *
 * Owns validation of per-call options (`INVALID_OPTION` naming the option). It must never be
 * called on the hit path unless a refresh is due: a call without options uses the cache's policy
 * object as is, with no merge and no allocation.
 */
import { assertKnownKeys, assertTagList, toMilliseconds, toPositiveMilliseconds } from "@cachet/tier";
import type { Milliseconds } from "@cachet/tier";
import type { GetOrInsertOptions } from "./loader.js";
import { FAIL_SAFE_KEYS, GET_OR_INSERT_KEYS, TIMEOUT_KEYS } from "./option-keys.js";

/** Resolved per-load policy: the cache's defaults, or those merged with a call's options. @internal */
export interface LoadPolicy<V> {
  readonly ttl: Milliseconds | undefined;
  readonly tags: readonly string[] | undefined;
  readonly swr: Milliseconds;
  readonly failSafe: { readonly maxStaleAge: Milliseconds; readonly backoff: Milliseconds } | undefined;
  readonly hasFallback: boolean;
  readonly fallback: V | undefined;
  readonly softTimeout: Milliseconds | undefined;
  readonly hardTimeout: Milliseconds | undefined;
  readonly negativeTtl: Milliseconds | undefined;
}

/** Fail-safe backoff when a call's `failSafe` gives none. */
const DEFAULT_FAIL_SAFE_BACKOFF = 10_000;

/** The policy for one call: `base` itself when the call has no options. @internal */
export function policyFor<V>(base: LoadPolicy<V>, options: GetOrInsertOptions<V> | undefined): LoadPolicy<V> {
  return options === undefined ? base : resolveLoadPolicy(base, options);
}

/**
 * Merges a call's options into the cache's policy.
 * @throws CacheError `INVALID_OPTION` naming the first invalid option (an unknown key too).
 * @internal
 */
export function resolveLoadPolicy<V>(base: LoadPolicy<V>, options: GetOrInsertOptions<V>): LoadPolicy<V> {
  assertKnownKeys(options, GET_OR_INSERT_KEYS, "getOrInsert");
  if (options.tags !== undefined) assertTagList(options.tags, "tags");
  if (typeof options.failSafe === "object") assertKnownKeys(options.failSafe, FAIL_SAFE_KEYS, "failSafe");
  assertKnownKeys(options.timeouts, TIMEOUT_KEYS, "timeouts");
  const swr =
    options.staleWhileRevalidate === undefined
      ? base.swr
      : options.staleWhileRevalidate === false
        ? 0
        : toMilliseconds(options.staleWhileRevalidate, "staleWhileRevalidate");
  let failSafe = base.failSafe;
  let hasFallback = base.hasFallback;
  let fallback = base.fallback;
  if (options.failSafe === false) {
    failSafe = undefined;
    hasFallback = false;
    fallback = undefined;
  } else if (options.failSafe !== undefined) {
    failSafe = {
      maxStaleAge: toMilliseconds(options.failSafe.maxStaleAge, "failSafe.maxStaleAge"),
      backoff:
        options.failSafe.backoff === undefined
          ? DEFAULT_FAIL_SAFE_BACKOFF
          : toMilliseconds(options.failSafe.backoff, "failSafe.backoff"),
    };
    hasFallback = "fallback" in options.failSafe;
    fallback = options.failSafe.fallback;
  }
  const timeouts = options.timeouts;
  return {
    ttl: options.ttl === undefined ? base.ttl : toMilliseconds(options.ttl, "ttl"),
    tags: options.tags ?? base.tags,
    swr,
    failSafe,
    hasFallback,
    fallback,
    softTimeout:
      timeouts?.soft === undefined ? base.softTimeout : toMilliseconds(timeouts.soft, "timeouts.soft"),
    hardTimeout:
      timeouts?.hard === undefined
        ? base.hardTimeout
        : toPositiveMilliseconds(timeouts.hard, "timeouts.hard"),
    negativeTtl:
      options.negativeTtl === undefined
        ? base.negativeTtl
        : toPositiveMilliseconds(options.negativeTtl, "negativeTtl"),
  };
}
