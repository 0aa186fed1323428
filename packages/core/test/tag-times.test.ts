// Tag times against this instance's own stamps, and tag vetting on batch reads of lower tiers.
import { Cache, ManualClock, MemoryTier } from "../src/index.js";

describe("tag times", () => {
  it("a second invalidation in the same millisecond covers entries written since the first", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, string>({ clock }).memory({ maxEntries: 10 }).build();
    const users = cache.namespace("users");
    await users.insert("a", "1");
    await users.clear();
    await users.insert("a", "2"); // same millisecond: stamped just after the first clear
    await users.clear();
    expect(await users.get("a")).toBeUndefined();
    await users.insert("a", "3");
    expect((await users.get("a"))?.value).toBe("3");
    // The same after the clock steps back (a wall clock corrected by NTP).
    clock.set(clock.now() - 1_000);
    await users.insert("b", "4");
    await users.clear();
    expect(await users.get("b")).toBeUndefined();
    await cache.close();
  });

  it("getMany treats a lower tier's entry cached before a tag invalidation as a miss, like get", async () => {
    const clock = new ManualClock();
    const shared = new MemoryTier<string, string>({ maxEntries: 100, clock, name: "shared" });
    const build = () =>
      Cache.builder<string, string>({ clock })
        .memory({ maxEntries: 10 })
        .fallback(Cache.builder<string, string>().storage(shared, { close: false }))
        .build();
    const cache = build();
    await cache.insert("old", "x", { tags: ["t"] });
    await cache.insert("plain", "y");
    clock.advance(1);
    await cache.invalidateTags(["t"]);
    await cache.insert("new", "z", { tags: ["t"] });
    expect((await cache.getMany(["old", "plain", "new"])).map((e) => e?.value)).toEqual([
      undefined,
      "y",
      "z",
    ]);
    // With L1 emptied, the answers come from the shared tier and must be the same.
    await cache.close();
    const fresh = build();
    expect((await fresh.getMany(["old", "plain", "new"])).map((e) => e?.value)).toEqual([
      undefined,
      "y",
      "z",
    ]);
    expect(await fresh.get("old")).toBeUndefined();
    await fresh.close();
  });
});
