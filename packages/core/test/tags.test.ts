// Tag invalidation and expiry across tiers and instances (no scan: tag times, markers, the bus).
import { Cache, CacheEntry, ManualClock, MemoryTier, isCacheError } from "../src/index.js";
import { deferred, fleet, flush } from "./fixtures.js";

describe("tags", () => {
  it("invalidateTags makes tagged entries a miss in every tier and instance, untagged ones stay", async () => {
    const { a, b } = fleet();
    await a.insert("t1", "x", { tags: ["team:7"] });
    await a.insert("t2", new CacheEntry("y", { tags: ["team:7", "other"] }));
    await a.insert("plain", "z");
    await b.get("t1");
    await a.invalidateTags(["team:7"]);
    for (const cache of [a, b]) {
      expect(await cache.get("t1")).toBeUndefined();
      expect(await cache.get("t2")).toBeUndefined();
      expect((await cache.get("plain"))?.value).toBe("z");
    }
    // A new entry with the tag, written after the invalidation, is valid.
    await a.insert("t1", "new", { tags: ["team:7"] });
    expect((await b.get("t1"))?.value).toBe("new");
  });

  it("an instance started after invalidateTags honours it through the marker in the shared tier", async () => {
    const clock = new ManualClock();
    const shared = new MemoryTier<string, string>({ maxEntries: 100, clock, name: "shared" });
    const build = () =>
      Cache.builder<string, string>({ clock })
        .name("c")
        .memory({ maxEntries: 10 })
        .ttl(60_000)
        .fallback(Cache.builder<string, string>().storage(shared))
        .build();
    const first = build();
    await first.insert("k", "v", { tags: ["t"] });
    clock.advance(1);
    await first.invalidateTags(["t"]);
    const late = build();
    expect(await late.get("k")).toBeUndefined();
    expect(await late.getOrInsert("k", () => "fresh", { tags: ["t"] })).toBe("fresh");
  });

  it("expireTags marks entries stale: fail-safe can still serve them, a working loader replaces them", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .ttl(60_000)
      .failSafe({ maxStaleAge: 60_000 })
      .build();
    await cache.insert("k", "old", { tags: ["t"] });
    clock.advance(1);
    await cache.expireTags(["t"]);
    expect(await cache.getOrInsert("k", () => Promise.reject(new Error("down")))).toBe("old");
    clock.advance(10_000); // past the fail-safe backoff
    expect(await cache.getOrInsert("k", () => "new")).toBe("new");
  });

  it("a load in flight when its tag is invalidated does not write back", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, string>({ clock }).memory({ maxEntries: 10 }).build();
    const gate = deferred<string>();
    const load = cache.getOrInsert("k", () => gate.promise, { tags: ["t"] });
    await flush();
    await cache.invalidateTags(["t"]);
    gate.resolve("old");
    expect(await load).toBe("old");
    expect(await cache.get("k")).toBeUndefined();
  });

  it("rejects invalid tag lists", async () => {
    const { a } = fleet();
    const error = await a.invalidateTags(["ok", ""]).catch((e: unknown) => e);
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
  });
});
