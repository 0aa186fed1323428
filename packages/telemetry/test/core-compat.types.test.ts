import type {
  CacheEvent,
  CacheEventType as CoreEventType,
  CacheInstrumentation,
  InstrumentedCache,
  TracedCall,
} from "@cachet/core";
import { CACHE_EVENT_CHANNEL as CORE_CHANNEL, Cache } from "@cachet/core";
import { cacheTelemetry, CACHE_EVENT_CHANNEL } from "../src/index.js";
import type {
  CacheEventLike,
  CacheEventType,
  CacheTelemetry,
  InstrumentedCacheLike,
  TracedCallLike,
} from "../src/index.js";

// Compile-time checks (run by `typecheck`) that this package consumes exactly the types core emits.
// Both come from @cachet/tier now, so these prove there is one definition, not two kept in step.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const sameEventTypes: Equal<CacheEventType, CoreEventType> = true;
const sameEvent: Equal<CacheEventLike, CacheEvent> = true;
const callFits: (c: TracedCall) => TracedCallLike = (c) => c;
const sameTracedCall: Equal<Omit<TracedCallLike, "operation">, Omit<TracedCall, "operation">> = true;
const eventFits: (e: CacheEvent) => CacheEventLike = (e) => e;
const _cacheFits: (c: InstrumentedCache) => InstrumentedCacheLike = (c) => c;
const instrumentationFits: (t: CacheTelemetry) => CacheInstrumentation = (t) => t;
// @ts-expect-error an event type the core does not know is refused
const unknownType: CacheEventType = "evicted";
// Never called: only its type matters.
const _badOptions = () =>
  // @ts-expect-error options are checked
  cacheTelemetry({ includeKeys: "yes" });

describe("core compatibility", () => {
  it("shares core's event types and channel name (one definition, in @cachet/tier)", () => {
    expect([sameEventTypes, sameEvent, sameTracedCall]).toEqual([true, true, true]);
    expect(callFits).toBeInstanceOf(Function);
    expect(CACHE_EVENT_CHANNEL).toBe(CORE_CHANNEL);
    expect(unknownType).toBe("evicted");
  });

  it("takes a core cache's events and instrumentation slot as they are", async () => {
    const seen: CacheEventLike[] = [];
    const cache = Cache.builder<string, string>()
      .memory({ maxEntries: 1 })
      .instrument(instrumentationFits(cacheTelemetry()))
      .build();
    cache.on((event) => seen.push(eventFits(event)));
    await cache.insert("k", "v");
    expect(seen.map((e) => e.type)).toEqual(["inserted"]);
    await cache.close();
  });
});
