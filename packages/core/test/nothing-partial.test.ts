// Nothing partial on bad input (CONSISTENCY.md, "Values a tier refuses"): a value one tier's codec
// refuses is stored in no tier, L1 included.
import { Cache, CacheEntry as CacheEntryOf, CacheError, ManualClock, isCacheError } from "../src/index.js";
import type { CacheEntry, CacheEvent, CacheTier } from "../src/index.js";
import { MockCache } from "@cachet/tier/testing";
import { flush } from "./fixtures.js";

/** A shared tier whose codec cannot encode values that start with "bad". */
class PickyTier implements CacheTier<string, string> {
  readonly name = "picky";
  constructor(readonly store: MockCache<string, string>) {}
  get(key: string) {
    return this.store.get(key);
  }
  async insert(key: string, entry: CacheEntry<string>) {
    if (entry.value.startsWith("bad")) throw new CacheError("CODEC", "cannot encode", { tier: this.name });
    return this.store.insert(key, entry);
  }
  invalidate(key: string) {
    return this.store.invalidate(key);
  }
  clear() {
    return this.store.clear();
  }
}

function setup() {
  const clock = new ManualClock();
  const store = new MockCache<string, string>({ clock, name: "picky" });
  const events: CacheEvent[] = [];
  const cache = Cache.builder<string, string>({ clock })
    .name("partial")
    .memory({ maxEntries: 100 })
    .ttl(60_000)
    .fallback(Cache.builder<string, string>().storage(new PickyTier(store)).circuitBreaker(false))
    .onEvent((e) => events.push(e))
    .build();
  return { clock, store, cache, events };
}

describe("a value a tier's codec refuses", () => {
  test("insert rejects with CODEC and no tier keeps the value, L1 included", async () => {
    const { cache, store } = setup();
    const error = await cache.insert("k", "bad value").catch((e: unknown) => e);
    expect(isCacheError(error) && error.code).toBe("CODEC");
    expect(store.peek("k")).toBeUndefined();
    expect(await cache.get("k")).toBeUndefined();
    await cache.close();
  });

  test("an insert that fails this way leaves the previous value readable from the tier that kept it", async () => {
    const { cache, store } = setup();
    await cache.insert("k", "good");
    await expect(cache.insert("k", "bad")).rejects.toMatchObject({ code: "CODEC" });
    expect(store.peek("k")?.value).toBe("good");
    expect((await cache.get("k"))?.value).toBe("good");
    await cache.close();
  });

  test("a loaded value the shared tier refuses is served to the caller, reported, and cached nowhere", async () => {
    const { cache, store, events } = setup();
    let calls = 0;
    const loader = () => {
      calls++;
      return Promise.resolve("bad but real");
    };
    expect(await cache.getOrInsert("k", loader)).toBe("bad but real");
    await flush();
    expect(
      events.some((e) => e.type === "tier_error" && isCacheError(e.error) && e.error.code === "CODEC"),
    ).toBe(true);
    expect(store.peek("k")).toBeUndefined();
    expect(await cache.get("k")).toBeUndefined();
    // Not cached in L1 either: every instance would otherwise see a different value.
    expect(await cache.getOrInsert("k", loader)).toBe("bad but real");
    expect(calls).toBe(2);
    await cache.close();
  });

  test("a back-fill L1's codec refuses is reported as L1's tier_error, and the read still answers from below", async () => {
    const clock = new ManualClock();
    const store = new MockCache<string, string>({ clock, name: "picky" });
    const refusing = {
      name: "refusing",
      encode: (value: string): Uint8Array => {
        if (value.startsWith("bad")) throw new CacheError("CODEC", "cannot encode", { tier: "memory" });
        return new TextEncoder().encode(value);
      },
      decode: (bytes: Uint8Array): string => new TextDecoder().decode(bytes),
    };
    const events: CacheEvent[] = [];
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 100, codec: refusing })
      .ttl(60_000)
      .fallback(Cache.builder<string, string>().storage(new PickyTier(store)).circuitBreaker(false))
      .onEvent((e) => events.push(e))
      .build();
    await store.insert("k", new CacheEntryOf("bad but stored below", { ttl: 60_000 }));
    expect((await cache.get("k"))?.value).toBe("bad but stored below");
    const backFill = events.filter((e) => e.tier === "memory");
    expect(backFill.map((e) => e.type)).toEqual(["miss", "tier_error"]);
    expect(isCacheError(backFill[1]!.error) && backFill[1]!.error.code).toBe("CODEC");
    // Nothing reached L1: the next read asks the tier below again.
    expect((await cache.get("k"))?.value).toBe("bad but stored below");
    expect(events.filter((e) => e.type === "hit" && e.tier === "picky")).toHaveLength(2);
    expect(events.some((e) => e.type === "promotion")).toBe(false);
    await cache.close();
  });
});
