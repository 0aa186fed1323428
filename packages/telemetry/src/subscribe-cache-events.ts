import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { CACHE_EVENT_CHANNEL, CacheError } from "@cachet/tier";
import type { CacheEventLike } from "./cache-event-like.js";

/**
 * Receives the events of every cache in the process, without touching any builder: for logging, for
 * debugging, or to count events of caches built by a library. Returns the function that
 * unsubscribes (calling it twice is harmless).
 *
 * The listener runs synchronously inside the cache operation, so it should be quick. Errors it
 * throws are swallowed (diagnostics_channel would otherwise rethrow them as uncaught exceptions).
 * Messages on the channel that are not cache events are ignored.
 *
 * To get metrics for every cache this way, pass `cacheTelemetry(...).onEvent`. That gives
 * `cache.event.count` and the loader durations, but not spans, `cache.size` or
 * `cache.loader.active`, which need `.instrument(...)`. Do not do both for one cache, or its
 * events are counted twice.
 *
 * @example
 * const stop = subscribeCacheEvents((event) => {
 *   if (event.type === "tier_error") logger.warn({ cache: event.cache, tier: event.tier }, "tier failed");
 * });
 * // later: stop();
 * @throws CacheError `INVALID_OPTION` when `listener` is not a function.
 */
export function subscribeCacheEvents(listener: (event: CacheEventLike) => void): () => void {
  if (typeof listener !== "function") {
    throw new CacheError("INVALID_OPTION", "`listener` must be a function");
  }
  const onMessage = (message: unknown): void => {
    if (!isCacheEvent(message)) return;
    try {
      listener(message);
    } catch {
      // A listener must not break the cache that published the event.
    }
  };
  subscribe(CACHE_EVENT_CHANNEL, onMessage);
  let subscribed = true;
  return () => {
    if (!subscribed) return;
    subscribed = false;
    unsubscribe(CACHE_EVENT_CHANNEL, onMessage);
  };
}

function isCacheEvent(message: unknown): message is CacheEventLike {
  if (typeof message !== "object" || message === null) return false;
  const event = message as Record<string, unknown>;
  return (
    typeof event.type === "string" && typeof event.cache === "string" && typeof event.operation === "string"
  );
}
