// What users coming from BentoCache, cache-manager and Keyv reach for (issue 18): has, getValue,
// insertMany, invalidateMany, and a loader context that sets ttl and tags or skips caching.
import { MockCache } from "@cachet/tier/testing";
import { Cache, CacheEntry, CacheError, ManualClock, MemoryBus, MemoryBusHub } from "../src/index.js";
import type { CacheBusMessage } from "../src/index.js";
import { fleet, flush, twoTier } from "./fixtures.js";

describe("reads", () => {
  it("getValue returns the value, not the entry; undefined on a miss and for a remembered absence", async () => {
    const { cache, clock } = twoTier<string>((b) => b.negativeTtl(1_000));
    await cache.insert("k", "v");
    expect(await cache.getValue("k")).toBe("v");
    expect(await cache.getValue("missing")).toBeUndefined();
    expect(await cache.optionallyGetOrInsert("absent", () => undefined)).toBeUndefined();
    expect(await cache.getValue("absent")).toBeUndefined();
    clock.advance(60_000);
    expect(await cache.getValue("k")).toBe("v"); // L1 expired, L2 (ttl 300 s) still has it
    await cache.close();
  });

  it("has is true only for a fresh entry in some tier", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .ttl(1_000)
      .staleWhileRevalidate(5_000)
      .negativeTtl(1_000)
      .build();
    expect(await cache.has("k")).toBe(false);
    await cache.insert("k", "v");
    expect(await cache.has("k")).toBe(true);
    clock.advance(1_000);
    expect((await cache.get("k"))?.isStale).toBe(true); // still served stale by get
    expect(await cache.has("k")).toBe(false);
    await cache.optionallyGetOrInsert("absent", () => undefined);
    expect(await cache.has("absent")).toBe(false);
    await cache.close();
  });

  it("has looks past L1 and counts as a read", async () => {
    const { cache, l2 } = twoTier<string>();
    await l2.insert("below", new CacheEntry("v", { cachedAt: 0 }));
    expect(await cache.has("below")).toBe(true);
    expect(cache.stats()).toMatchObject({ hits: 1 });
    await cache.close();
  });
});

describe("batch writes", () => {
  it("insertMany writes every tier with the options given, one bus message for all keys", async () => {
    const { a, b, shared, hub } = fleet();
    const messages: CacheBusMessage[] = [];
    const spy = new MemoryBus(hub, "spy");
    spy.subscribe((message) => messages.push(message));
    await b.insert("x", "old");
    const before = { inserts: shared.inserts, messages: messages.length };
    await a.insertMany(
      [
        ["x", "1"],
        ["y", new CacheEntry("2", { ttl: 5_000 })],
      ],
      { tags: ["t"] },
    );
    expect(shared.inserts - before.inserts).toBe(2);
    expect(messages.slice(before.messages)).toEqual([{ type: "set", cache: "users", keys: ["x", "y"] }]);
    // b's L1 copy of x was expired by the bus message; it reads the new value from L2.
    expect(await b.getValue("x")).toBe("1");
    expect((await a.get("y"))?.ttl).toBe(5_000);
    await a.invalidateTags(["t"]);
    expect(await b.getMany(["x", "y"])).toEqual([undefined, undefined]);
    await Promise.all([a.close(), b.close(), spy.close?.()]);
  });

  it("insertMany with tierErrors('throw'): rejects with the failure, still announces the keys written", async () => {
    const clock = new ManualClock();
    const hub = new MemoryBusHub();
    const l2 = new MockCache<string, string>({ clock });
    const cache = Cache.builder<string, string>({ clock })
      .name("c")
      .memory({ maxEntries: 10 })
      .fallback(Cache.builder<string, string>().storage(l2).circuitBreaker(false))
      .tierErrors("throw")
      .bus(new MemoryBus(hub, "a"))
      .build();
    const messages: CacheBusMessage[] = [];
    const spy = new MemoryBus(hub, "spy");
    spy.subscribe((message) => messages.push(message));
    l2.failNext("insert", new CacheError("TIER_FAILURE", "injected", { tier: "mock" }));
    await expect(
      cache.insertMany([
        ["a", "1"],
        ["b", "2"],
      ]),
    ).rejects.toMatchObject({ code: "TIER_FAILURE" });
    expect(messages).toEqual([{ type: "set", cache: "c", keys: ["b"] }]);
    expect((await l2.get("b"))?.value).toBe("2");
    await cache.close();
    await spy.close();
  });

  it("invalidateMany removes the keys from every tier and every instance", async () => {
    const { a, b, shared } = fleet();
    await a.insertMany([
      ["x", "1"],
      ["y", "2"],
      ["z", "3"],
    ]);
    expect(await b.getValue("x")).toBe("1");
    await a.invalidateMany(["x", "y"]);
    expect(await shared.inner.get("x")).toBeUndefined();
    expect(await b.getMany(["x", "y", "z"]).then((es) => es.map((e) => e?.value))).toEqual([
      undefined,
      undefined,
      "3",
    ]);
    await a.invalidateMany([]);
    await Promise.all([a.close(), b.close()]);
  });

  it("a load in flight when its key is invalidated by invalidateMany does not write back", async () => {
    const { cache } = twoTier<string>();
    let release!: (value: string) => void;
    const loading = cache.getOrInsert("k", () => new Promise<string>((resolve) => (release = resolve)));
    await flush();
    await cache.invalidateMany(["k"]);
    release("late");
    expect(await loading).toBe("late");
    await flush();
    expect(await cache.get("k")).toBeUndefined();
    await cache.close();
  });

  it("a namespace prefixes the keys of insertMany and invalidateMany and tags them", async () => {
    const { cache } = twoTier<string>();
    const users = cache.namespace("users");
    await users.insertMany([
      ["1", "ann"],
      ["2", "bob"],
    ]);
    expect(await cache.getValue("users:1")).toBe("ann");
    expect(await users.has("2")).toBe(true);
    await users.invalidateMany(["1"]);
    expect(await users.getValue("1")).toBeUndefined();
    await users.clear();
    expect(await users.has("2")).toBe(false);
    await cache.close();
  });
});

describe("the loader context", () => {
  it("setTtl sets the entry's ttl, over the call's option and a returned entry's own", async () => {
    const { cache, clock } = twoTier<string>();
    expect(
      await cache.getOrInsert(
        "k",
        (_, ctx) => {
          ctx.setTtl("2s");
          return new CacheEntry("v", { ttl: 50_000 });
        },
        { ttl: 30_000 },
      ),
    ).toBe("v");
    expect((await cache.get("k"))?.ttl).toBe(2_000);
    clock.advance(2_000);
    expect(await cache.get("k")).toBeUndefined(); // expired in L1 and L2 alike
    await cache.close();
  });

  it("setTags sets the entry's tags; the call's tags (and a namespace's) are still added", async () => {
    const { cache } = twoTier<string>();
    const users = cache.namespace("users");
    await users.getOrInsert(
      "1",
      (_, ctx) => {
        ctx.setTags(["team:7"]);
        return new CacheEntry("ann", { tags: ["replaced"] });
      },
      { tags: ["call"] },
    );
    expect([...((await users.get("1"))?.tags ?? [])].sort()).toEqual(["cachet:ns:users", "call", "team:7"]);
    await cache.invalidateTags(["team:7"]);
    expect(await users.get("1")).toBeUndefined();
    await cache.close();
  });

  it("skip hands the value to every waiting caller and caches it nowhere", async () => {
    const { cache, l2 } = twoTier<string>((b) => b.negativeTtl(1_000));
    let runs = 0;
    const loader = (_: string, ctx: { skip(): void }) => {
      runs++;
      ctx.skip();
      return "partial";
    };
    const answers = await Promise.all([cache.getOrInsert("k", loader), cache.getOrInsert("k", loader)]);
    expect(answers).toEqual(["partial", "partial"]);
    expect(runs).toBe(1);
    await flush();
    expect(l2.inserts).toBe(0);
    expect(await cache.get("k")).toBeUndefined();
    // A skipped absence is not remembered either.
    expect(await cache.optionallyGetOrInsert("gone", (_, { skip }) => (skip(), undefined))).toBeUndefined();
    expect(await cache.optionallyGetOrInsert("gone", () => "found")).toBe("found");
    await cache.close();
  });

  it("works destructured, and refuses a bad ttl", async () => {
    const { cache } = twoTier<string>();
    expect(
      await cache.getOrInsert("k", (_, { setTtl, setTags }) => {
        setTtl(1_000);
        setTags(["a"]);
        return "v";
      }),
    ).toBe("v");
    expect((await cache.get("k"))?.ttl).toBe(1_000);
    await expect(
      cache.getOrInsert("j", (_, ctx) => {
        ctx.setTtl("soon" as never);
        return "v";
      }),
    ).rejects.toMatchObject({ code: "LOADER", cause: { code: "INVALID_OPTION" } });
    await cache.close();
  });
});
