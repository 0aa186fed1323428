// Write recovery's two options (CONSISTENCY.md, "After a partition or a shared-tier outage"): the
// bound on owed writes (`.maxPendingWrites(n)`), end to end through a Cache, and what
// `.tierErrors("throw")` does to an explicit write a shared tier could not take.
import { Cache, CacheEntry, ManualClock, MemoryBus, MemoryBusHub } from "../src/index.js";
import type { CacheEvent } from "../src/index.js";
import { MockCache } from "@cachet/tier/testing";
import { thrownCacheError } from "@cachet/test-utils";
import { Connection, flush } from "./fixtures.js";

type Builder = ReturnType<typeof Cache.builder<string, string>>;

function setup(configure: (b: Builder) => Builder = (b) => b) {
  const clock = new ManualClock();
  const store = new MockCache<string, string>({ clock, name: "shared" });
  const hub = new MemoryBusHub();
  const make = (name: string, link: Connection<string>) => {
    const events: CacheEvent[] = [];
    const cache = configure(
      Cache.builder<string, string>({ clock })
        .name("users")
        .memory({ maxEntries: 1_000 })
        .ttl(60_000)
        .fallback(Cache.builder<string, string>().storage(link).circuitBreaker(false))
        .bus(new MemoryBus(hub, name))
        .onEvent((e) => events.push(e)),
    ).build();
    return { cache, events };
  };
  const linkA = new Connection(store);
  return { clock, store, linkA, a: make("a", linkA), b: make("b", new Connection(store)) };
}

const types = (events: CacheEvent[]) => events.map((e) => e.type);

describe("the bound on owed writes", () => {
  test("past `.maxPendingWrites(n)` the owed writes become one owed clear: A reads nothing from the tier until it is replayed, then the tier is empty and B's L1 is dropped", async () => {
    const { store, linkA, a, b } = setup((builder) => builder.maxPendingWrites(3));
    for (const key of ["k0", "k1", "k2", "k3", "other"]) await a.cache.insert(key, `${key} v1`);
    for (const key of ["k0", "other"]) expect((await b.cache.get(key))?.value).toBe(`${key} v1`);
    linkA.cut = true;
    for (const key of ["k0", "k1", "k2"]) await a.cache.invalidate(key);
    expect(a.cache.stats().pendingWrites).toMatchObject({ pending: 3, overflows: 0 });
    await a.cache.invalidate("k3");
    expect(types(a.events)).toContain("write_overflow");
    expect(a.cache.stats().pendingWrites).toMatchObject({ pending: 1, overflows: 1 });
    // While the clear is owed, A reads nothing from the tier: not even a key it never wrote.
    linkA.cut = false;
    const reads = store.calls.length;
    await a.cache.invalidate("noise"); // A's first successful call: the replay starts
    await flush();
    await flush();
    expect(store.calls.slice(reads).map((c) => c.op)).toContain("clear");
    expect(await store.size()).toBe(0);
    expect(a.cache.stats().pendingWrites.pending).toBe(0);
    // The overflow wipe was announced as a clear: B no longer serves what it held.
    expect(await b.cache.get("other")).toBeUndefined();
    expect(await b.cache.get("k0")).toBeUndefined();
  });

  test("while the overflow clear is owed, A's reads of that tier are misses", async () => {
    const { store, linkA, a } = setup((builder) => builder.maxPendingWrites(1));
    await store.insert("untouched", new CacheEntry("in the store"));
    linkA.cut = true;
    await a.cache.invalidate("x");
    await a.cache.invalidate("y"); // past the bound of 1
    expect(a.cache.stats().pendingWrites.overflows).toBe(1);
    // The link works again, but no call has succeeded to start the replay: A must not read the tier.
    linkA.cut = false;
    store.reset();
    expect(await a.cache.get("untouched")).toBeUndefined();
    expect(store.calls.filter((c) => c.op === "get")).toEqual([]);
  });

  test("`maxPendingWrites` must be a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, "10" as unknown as number]) {
      const build = () =>
        Cache.builder<string, string>()
          .memory({ maxEntries: 10 })
          .fallback(Cache.builder<string, string>().storage(new MockCache<string, string>()))
          .maxPendingWrites(bad)
          .build();
      expect(thrownCacheError(build, "INVALID_OPTION").message).toContain("maxPendingWrites");
    }
  });
});

describe('.tierErrors("throw") and an explicit write the shared tier could not take', () => {
  test("insert rejects with the tier's error, yet the write is recorded, served by this process meanwhile, and replayed", async () => {
    const { store, linkA, a, b } = setup((builder) => builder.tierErrors("throw"));
    await a.cache.insert("k", "v1");
    linkA.cut = true;
    await expect(a.cache.insert("k", "v2")).rejects.toMatchObject({ code: "TIER_FAILURE" });
    expect(a.cache.stats().pendingWrites.pending).toBe(1);
    expect((await a.cache.get("k"))?.value).toBe("v2");
    linkA.cut = false;
    await a.cache.get("other"); // the first successful call starts the replay
    await flush();
    await flush();
    expect((await store.get("k"))?.value).toBe("v2");
    expect((await b.cache.get("k"))?.value).toBe("v2");
    expect(a.cache.stats().pendingWrites).toMatchObject({ pending: 0, replayed: 1 });
  });

  test("invalidate rejects likewise, and the removal is replayed", async () => {
    const { store, linkA, a } = setup((builder) => builder.tierErrors("throw"));
    await a.cache.insert("k", "v1");
    linkA.cut = true;
    await expect(a.cache.invalidate("k")).rejects.toMatchObject({ code: "TIER_FAILURE" });
    expect(a.cache.stats().pendingWrites.pending).toBe(1);
    expect(await a.cache.get("k")).toBeUndefined(); // owed: not read from the tier
    linkA.cut = false;
    await a.cache.get("other");
    await flush();
    await flush();
    expect(await store.get("k")).toBeUndefined();
  });
});
