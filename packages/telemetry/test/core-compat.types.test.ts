import type {
  CacheEvent,
  CacheEventType as CoreEventType,
  CacheInstrumentation,
  InstrumentedCache,
  TracedCall,
} from "@cachet/core";
import { Cache } from "@cachet/core";
import { cacheTelemetry } from "../src/index.js";
import type {
  CacheEventLike,
  CacheEventType,
  CacheTelemetry,
  InstrumentedCacheLike,
  TracedCallLike,
} from "../src/index.js";

// Compile-time checks (run by `typecheck`) that the structural mirrors stay in step with
// @cachet/core, which this package must not import at run time.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const sameEventTypes: Equal<CacheEventType, CoreEventType> = true;
const eventFits: (e: CacheEvent) => CacheEventLike = (e) => e;
const _callFits: (c: TracedCall) => TracedCallLike = (c) => c;
const _cacheFits: (c: InstrumentedCache) => InstrumentedCacheLike = (c) => c;
const instrumentationFits: (t: CacheTelemetry) => CacheInstrumentation = (t) => t;
// @ts-expect-error an event type the core does not know is refused
const unknownType: CacheEventType = "evicted";
// Never called: only its type matters.
const _badOptions = () =>
  // @ts-expect-error options are checked
  cacheTelemetry({ includeKeys: "yes" });

describe("core compatibility", () => {
  it("takes a core cache's events and instrumentation slot as they are", async () => {
    expect(sameEventTypes).toBe(true);
    expect(unknownType).toBe("evicted");
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
