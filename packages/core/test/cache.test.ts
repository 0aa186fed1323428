import type { CacheError } from "../src/index.js";
import { MockCache } from "@cachet/tier/testing";
import { Cache, CacheEntry, ManualClock, PromotionPolicy, isCacheError } from "../src/index.js";
import { CountingTier, deferred, flush, twoTier } from "./fixtures.js";

describe("get / insert across tiers", () => {
  it("returns an L1 hit at once and the same entry object each time", async () => {
    const { cache, l2 } = twoTier<string>();
    await cache.insert("a", "A");
    const first = await cache.get("a");
    const second = await cache.get("a");
    expect(first?.value).toBe("A");
    expect(second).toBe(first);
    expect(l2.gets).toBe(0);
  });

  it("insert writes every tier, invalidate and clear reach every tier", async () => {
    const { cache, l2 } = twoTier<string>();
    await cache.insert("a", "A");
    expect((await l2.inner.get("a"))?.value).toBe("A");
    await cache.invalidate("a");
    expect(await l2.inner.get("a")).toBeUndefined();
    expect(await cache.get("a")).toBeUndefined();
    await cache.insert("b", "B");
    await cache.clear();
    expect(await l2.inner.get("b")).toBeUndefined();
    expect(await cache.get("b")).toBeUndefined();
  });

  it("applies each tier's default ttl, and an entry's own ttl wins everywhere", async () => {
    const { cache, l2, clock } = twoTier<string>();
    await cache.insert("default", "d");
    await cache.insert("own", CacheEntry.expiresAfter("o", 10_000));
    expect((await l2.inner.get("default"))?.ttl).toBe(300_000);
    expect((await l2.inner.get("own"))?.ttl).toBe(10_000);
    expect((await cache.get("default"))?.ttl).toBe(60_000);
    clock.advance(10_000);
    expect(await cache.get("own")).toBeUndefined();
    expect((await cache.get("default"))?.value).toBe("d");
  });

  it("promotes an L2 hit into L1 with the remaining ttl, never longer than L2's", async () => {
    const { cache, l2, clock, events } = twoTier<string>();
    const cachedAt = clock.now();
    await l2.inner.insert("k", CacheEntry.expiresAt("v", 30_000, cachedAt));
    clock.advance(25_000);
    const entry = await cache.get("k");
    expect(entry?.value).toBe("v");
    expect(entry?.remainingTtl(clock.now())).toBe(5_000);
    await flush();
    expect(events.some((e) => e.type === "promotion" && e.tier === "memory")).toBe(true);
    // Served from L1 now.
    const gets = l2.gets;
    expect((await cache.get("k"))?.value).toBe("v");
    expect(l2.gets).toBe(gets);
    // And the L1 copy expires with the L2 original.
    clock.advance(5_000);
    expect(await cache.get("k")).toBeUndefined();
  });

  it("caps a promoted copy by the upper tier's own ttl", async () => {
    const { cache, l2, clock } = twoTier<string>();
    await l2.inner.insert("k", CacheEntry.expiresAt("v", 290_000, clock.now()));
    await cache.get("k");
    await flush();
    clock.advance(60_000);
    const before = l2.gets;
    expect((await cache.get("k"))?.value).toBe("v");
    expect(l2.gets).toBe(before + 1);
  });

  it("merges concurrent gets of one key into one L2 read", async () => {
    const { cache, l2 } = twoTier<string>();
    await l2.inner.insert("k", new CacheEntry("v", { ttl: 100_000 }));
    const entries = await Promise.all(Array.from({ length: 100 }, () => cache.get("k")));
    expect(entries.map((e) => e?.value)).toEqual(entries.map(() => "v"));
    expect(l2.gets).toBe(1);
  });

  it("a get that starts after an invalidate does not join a read that began before it", async () => {
    const { cache, l2 } = twoTier<string>();
    await l2.inner.insert("k", new CacheEntry("old", { ttl: 100_000 }));
    const gate = deferred();
    l2.gate = gate.promise;
    const before = cache.get("k");
    await flush();
    l2.gate = undefined;
    await cache.invalidate("k");
    expect(await cache.get("k")).toBeUndefined();
    gate.resolve();
    expect((await before)?.value).toBe("old");
    expect(l2.gets).toBe(2);
  });

  it("a settled shared read leaves the table: the next get reads the lower tier again", async () => {
    const { cache, l2 } = twoTier<string>((b) => b.promotionPolicy(PromotionPolicy.never<string>()));
    await l2.inner.insert("k", new CacheEntry("v", { ttl: 100_000 }));
    expect((await cache.get("k"))?.value).toBe("v");
    expect((await cache.get("k"))?.value).toBe("v");
    expect(l2.gets).toBe(2);
  });

  it("a superseded read settling does not take a newer read of the key out of the table", async () => {
    const { cache, l2 } = twoTier<string>((b) => b.promotionPolicy(PromotionPolicy.never<string>()));
    await l2.inner.insert("k", new CacheEntry("old", { ttl: 100_000 }));
    const first = deferred();
    l2.gate = first.promise;
    const before = cache.get("k");
    await flush();
    await cache.insert("k", "new");
    await cache.invalidate("k");
    await l2.inner.insert("k", new CacheEntry("newer", { ttl: 100_000 }));
    const second = deferred();
    l2.gate = second.promise;
    const after = cache.get("k");
    await flush();
    first.resolve();
    expect((await before)?.value).toBe("old");
    // The newer read is still in flight: a get now joins it rather than reading again.
    const joined = cache.get("k");
    expect(l2.gets).toBe(2);
    second.resolve();
    expect((await after)?.value).toBe("newer");
    expect((await joined)?.value).toBe("newer");
    expect(l2.gets).toBe(2);
  });

  it("follows the promotion policy", async () => {
    for (const [policy, promoted] of [
      [PromotionPolicy.never<string>(), false],
      [PromotionPolicy.when<string>((e) => e.value === "yes"), true],
      [PromotionPolicy.when<string>((e) => e.value === "no"), false],
    ] as const) {
      const { cache, l2 } = twoTier<string>((b) => b.promotionPolicy(policy));
      await l2.inner.insert("k", new CacheEntry("yes", { ttl: 100_000 }));
      await cache.get("k");
      await flush();
      const before = l2.gets;
      await cache.get("k");
      expect(l2.gets === before).toBe(promoted);
    }
  });

  it("chains more than two tiers", async () => {
    const clock = new ManualClock();
    const l2 = new CountingTier<string>(clock, "l2");
    const l3 = new CountingTier<string>(clock, "l3");
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .fallback(
        Cache.builder<string, string>().storage(l2).fallback(Cache.builder<string, string>().storage(l3)),
      )
      .build();
    expect(cache.tiers).toEqual(["memory", "l2", "l3"]);
    await l3.inner.insert("deep", new CacheEntry("x", { ttl: 1_000 }));
    expect((await cache.get("deep"))?.value).toBe("x");
    await flush();
    expect((await l2.inner.get("deep"))?.value).toBe("x");
    expect(l3.gets).toBe(1);
  });

  it("accepts duration strings", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, number>({ clock }).memory({ maxEntries: 10 }).ttl("30s").build();
    await cache.insert("k", 1);
    clock.advance(29_999);
    expect((await cache.get("k"))?.value).toBe(1);
    clock.advance(1);
    expect(await cache.get("k")).toBeUndefined();
  });
});

describe("getOrInsert and stampede protection", () => {
  it("runs the loader once for 1,000 concurrent misses and shares the value", async () => {
    const { cache, l2 } = twoTier<string>();
    const gate = deferred<string>();
    let calls = 0;
    const callers = Array.from({ length: 1_000 }, () =>
      cache.getOrInsert("k", () => {
        calls++;
        return gate.promise;
      }),
    );
    await flush();
    gate.resolve("v");
    const values = await Promise.all(callers);
    expect(calls).toBe(1);
    expect(l2.gets).toBe(1);
    expect(new Set(values)).toEqual(new Set(["v"]));
    expect(cache.stats().coalesced).toBe(999);
  });

  it("shares a loader error with every caller and does not cache it", async () => {
    const { cache } = twoTier<string>();
    let calls = 0;
    const fail = async () => {
      calls++;
      await flush();
      throw new Error("db down");
    };
    const results = await Promise.allSettled([cache.getOrInsert("k", fail), cache.getOrInsert("k", fail)]);
    expect(calls).toBe(1);
    for (const r of results) {
      expect(r.status).toBe("rejected");
      const reason = (r as PromiseRejectedResult).reason as CacheError;
      expect(isCacheError(reason) && reason.code).toBe("LOADER");
      expect((reason.cause as Error).message).toBe("db down");
    }
    expect(await cache.getOrInsert("k", () => "ok")).toBe("ok");
    expect(calls).toBe(1);
  });

  it("never makes different keys wait on each other", async () => {
    const { cache } = twoTier<string>();
    const slow = deferred<string>();
    const a = cache.getOrInsert("a", () => slow.promise);
    const b = await cache.getOrInsert("b", () => "B");
    expect(b).toBe("B");
    slow.resolve("A");
    expect(await a).toBe("A");
  });

  it("without stampede protection every caller runs the loader", async () => {
    const { cache } = twoTier<string>((b) => b.stampedeProtection(false));
    let calls = 0;
    await Promise.all([1, 2, 3].map(() => cache.getOrInsert("k", async () => (calls++, "v"))));
    expect(calls).toBe(3);
  });

  it("passes key, signal and stale entry to the loader, and honours a returned CacheEntry", async () => {
    const { cache, clock, l2 } = twoTier<string>();
    const seen: unknown[] = [];
    await cache.getOrInsert("k", (key, ctx) => {
      seen.push(key, ctx.signal instanceof AbortSignal, ctx.stale);
      return new CacheEntry("v", { ttl: 5_000, tags: ["t"] });
    });
    expect(seen).toEqual(["k", true, undefined]);
    expect((await l2.inner.get("k"))?.tags).toEqual(["t"]);
    clock.advance(5_000);
    let calls = 0;
    expect(await cache.getOrInsert("k", () => (calls++, "w"))).toBe("w");
    expect(calls).toBe(1);
  });

  it("finds the value in L2 before calling the loader, and reads L2 once for a stampede", async () => {
    const { cache, l2 } = twoTier<string>();
    await l2.inner.insert("k", new CacheEntry("from-l2", { ttl: 100_000 }));
    let calls = 0;
    const values = await Promise.all(
      Array.from({ length: 50 }, () => cache.getOrInsert("k", () => (calls++, "loaded"))),
    );
    expect(calls).toBe(0);
    expect(l2.gets).toBe(1);
    expect(new Set(values)).toEqual(new Set(["from-l2"]));
  });

  it("optionallyGetOrInsert does not cache undefined", async () => {
    const { cache } = twoTier<string>();
    let calls = 0;
    expect(await cache.optionallyGetOrInsert("k", () => (calls++, undefined))).toBeUndefined();
    expect(await cache.optionallyGetOrInsert("k", () => (calls++, undefined))).toBeUndefined();
    expect(calls).toBe(2);
    expect(await cache.get("k")).toBeUndefined();
  });
});

describe("cancellation", () => {
  it("a caller that aborts stops waiting at once; the shared load goes on for the others", async () => {
    const { cache } = twoTier<string>();
    const gate = deferred<string>();
    let loaderSignal: AbortSignal | undefined;
    const controller = new AbortController();
    const quitter = cache.getOrInsert(
      "k",
      (_, ctx) => {
        loaderSignal = ctx.signal;
        return gate.promise;
      },
      { signal: controller.signal },
    );
    const stayer = cache.getOrInsert("k", () => "never", { signal: new AbortController().signal });
    await flush();
    controller.abort();
    await expect(quitter).rejects.toMatchObject({ code: "ABORTED" });
    expect(loaderSignal?.aborted).toBe(false);
    gate.resolve("v");
    expect(await stayer).toBe("v");
  });

  it("aborts the shared load when every waiter has aborted, and a new caller starts afresh", async () => {
    const { cache } = twoTier<string>();
    const gate = deferred<string>();
    let loaderSignal: AbortSignal | undefined;
    const a = new AbortController();
    const b = new AbortController();
    const pa = cache.getOrInsert("k", (_, ctx) => ((loaderSignal = ctx.signal), gate.promise), {
      signal: a.signal,
    });
    const pb = cache.getOrInsert("k", () => "x", { signal: b.signal });
    await flush();
    a.abort();
    await expect(pa).rejects.toMatchObject({ code: "ABORTED" });
    expect(loaderSignal?.aborted).toBe(false);
    b.abort();
    await expect(pb).rejects.toMatchObject({ code: "ABORTED" });
    expect(loaderSignal?.aborted).toBe(true);
    expect(await cache.getOrInsert("k", () => "fresh")).toBe("fresh");
    gate.resolve("late");
    await flush();
    expect((await cache.get("k"))?.value).toBe("fresh");
  });

  it("an already aborted signal rejects without loading", async () => {
    const { cache } = twoTier<string>();
    let calls = 0;
    await expect(
      cache.getOrInsert("k", () => (calls++, "v"), { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({
      code: "ABORTED",
    });
    expect(calls).toBe(0);
  });
});

describe("no resurrection", () => {
  it("a load that started before an insert does not overwrite it in any tier", async () => {
    const { cache, l2 } = twoTier<string>();
    const gate = deferred<string>();
    const load = cache.getOrInsert("k", () => gate.promise);
    await flush();
    await cache.insert("k", "new");
    gate.resolve("old");
    expect(await load).toBe("old");
    await flush();
    expect((await cache.get("k"))?.value).toBe("new");
    expect((await l2.inner.get("k"))?.value).toBe("new");
  });

  it("a load that started before an invalidate does not bring the value back", async () => {
    const { cache, l2 } = twoTier<string>();
    const gate = deferred<string>();
    const load = cache.getOrInsert("k", () => gate.promise);
    await flush();
    await cache.invalidate("k");
    gate.resolve("old");
    await load;
    await flush();
    expect(await cache.get("k")).toBeUndefined();
    expect(await l2.inner.get("k")).toBeUndefined();
  });

  it("a promotion read before an invalidate does not resurrect the L1 copy", async () => {
    const { cache, l2 } = twoTier<string>();
    await l2.inner.insert("k", new CacheEntry("old", { ttl: 100_000 }));
    const gate = deferred();
    l2.gate = gate.promise;
    const read = cache.get("k");
    await flush();
    await l2.inner.invalidate("k");
    await cache.invalidate("k");
    gate.resolve();
    l2.gate = undefined;
    expect((await read)?.value).toBe("old");
    await flush();
    expect(await cache.get("k")).toBeUndefined();
  });

  it("a load in flight during clear() does not write back", async () => {
    const { cache } = twoTier<string>();
    const gate = deferred<string>();
    const load = cache.getOrInsert("k", () => gate.promise);
    await flush();
    await cache.clear();
    gate.resolve("old");
    await load;
    await flush();
    expect(await cache.get("k")).toBeUndefined();
  });
});

describe("time-to-refresh", () => {
  it("serves the current value at once and refreshes once in the background with the loader", async () => {
    const { cache, clock } = twoTier<number>((b) => b.timeToRefresh(20_000));
    let version = 0;
    const gate = deferred<number>();
    const loader = () => (version === 0 ? ++version : gate.promise);
    expect(await cache.getOrInsert("k", loader)).toBe(1);
    clock.advance(20_000);
    const seen = await Promise.all([cache.getOrInsert("k", loader), cache.getOrInsert("k", loader)]);
    expect(seen).toEqual([1, 1]);
    expect(cache.stats().inFlight).toBe(1);
    gate.resolve(2);
    await flush();
    await flush();
    expect(await cache.getOrInsert("k", loader)).toBe(2);
  });

  it("a failed refresh keeps the old entry and is reported, never thrown", async () => {
    const { cache, clock, events } = twoTier<number>((b) => b.timeToRefresh(20_000));
    await cache.insert("k", 1);
    clock.advance(20_000);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      expect(
        await cache.getOrInsert("k", () => {
          throw new Error("refresh failed");
        }),
      ).toBe(1);
      await flush();
      await flush();
      expect((await cache.get("k"))?.value).toBe(1);
      expect(events.some((e) => e.type === "loader_failed" && e.background === true)).toBe(true);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("get() refreshes from the next tier", async () => {
    const { cache, clock, l2 } = twoTier<string>((b) => b.timeToRefresh(20_000));
    await cache.insert("k", "v1");
    clock.advance(20_000);
    await l2.inner.insert("k", new CacheEntry("v2", { ttl: 300_000 }));
    expect((await cache.get("k"))?.value).toBe("v1");
    await flush();
    await flush();
    expect((await cache.get("k"))?.value).toBe("v2");
  });
});

describe("batch", () => {
  it("getMany asks L2 once for the L1 misses and keeps order", async () => {
    const { cache, l2 } = twoTier<string>();
    await cache.insert("a", "A");
    await l2.inner.insert("b", new CacheEntry("B", { ttl: 100_000 }));
    const entries = await cache.getMany(["a", "b", "c"]);
    expect(entries.map((e) => e?.value)).toEqual(["A", "B", undefined]);
    expect(l2.getManys).toBe(1);
    expect(l2.gets).toBe(0);
  });

  it("getOrInsertMany loads only the missing keys in one call and coalesces with loads in flight", async () => {
    const { cache } = twoTier<string>();
    await cache.insert("a", "A");
    const gate = deferred<string>();
    const inFlight = cache.getOrInsert("b", () => gate.promise);
    await flush();
    const asked: string[][] = [];
    const batch = cache.getOrInsertMany(["a", "b", "c", "d", "c"], (keys) => {
      asked.push([...keys]);
      return new Map([["c", "C"]]);
    });
    await flush();
    gate.resolve("B");
    expect(await batch).toEqual(["A", "B", "C", undefined, "C"]);
    expect(await inFlight).toBe("B");
    expect(asked).toEqual([["c", "d"]]);
    expect((await cache.get("c"))?.value).toBe("C");
  });
});

describe("shared values", () => {
  it("freezes values by default so a mutation throws instead of corrupting the cache", async () => {
    const { cache } = twoTier<{ name: string; tags: string[] }>();
    const user = await cache.getOrInsert("u", () => ({ name: "ada", tags: ["x"] }));
    expect(() => {
      user.name = "mallory";
    }).toThrow(TypeError);
    expect(() => user.tags.push("y")).toThrow(TypeError);
    expect((await cache.get("u"))?.value.name).toBe("ada");
  });

  it("deep-freezes a value read from a lower tier (codec output) before sharing or promoting it", async () => {
    type Decoded = {
      list: { a: number }[];
      deep: { inner: { xs: number[] } };
      map: Map<string, { v: number }>;
    };
    const { cache, l2, clock } = twoTier<Decoded>();
    // What a codec hands back: fresh, unfrozen objects (JSON for the plain part, a Map beside it).
    const value = JSON.parse('{"list":[{"a":1},{"a":2}],"deep":{"inner":{"xs":[1,2]}}}') as Decoded;
    value.map = new Map([["k", { v: 1 }]]);
    await l2.inner.insert("k", new CacheEntry(value, { cachedAt: clock.now(), ttl: 60_000 }));
    const got = (await cache.get("k"))!.value;
    expect(got).toBe(value);
    for (const part of [got, got.list, got.list[0], got.list[1], got.deep, got.deep.inner, got.deep.inner.xs])
      expect(Object.isFrozen(part)).toBe(true);
    expect(Object.isFrozen(got.map.get("k"))).toBe(true);
    expect(() => got.list.push({ a: 3 })).toThrow(TypeError);
    // The L1 copy promoted from that read is the same frozen object.
    expect((await cache.get("k"))!.value).toBe(value);
    expect(l2.gets).toBe(1);
  });

  it("clone mode hands out copies", async () => {
    const { cache } = twoTier<{ n: number }>((b) => b.valueMode("clone"));
    await cache.insert("k", { n: 1 });
    const a = (await cache.get("k"))!.value;
    a.n = 2;
    expect((await cache.get("k"))?.value.n).toBe(1);
  });

  it("reference mode shares the stored object", async () => {
    const { cache } = twoTier<{ n: number }>((b) => b.valueMode("reference"));
    const obj = { n: 1 };
    await cache.insert("k", obj);
    expect((await cache.get("k"))?.value).toBe(obj);
    expect(Object.isFrozen(obj)).toBe(false);
  });
});

describe("close", () => {
  it("rejects later calls with CLOSED and aborts loads in flight", async () => {
    const { cache } = twoTier<string>();
    let signal: AbortSignal | undefined;
    const pending = cache.getOrInsert(
      "k",
      (_, ctx) => ((signal = ctx.signal), new Promise<string>(() => {})),
    );
    await flush();
    await cache.close();
    await expect(pending).rejects.toMatchObject({ code: "CLOSED" });
    expect(signal?.aborted).toBe(true);
    await expect(cache.get("k")).rejects.toMatchObject({ code: "CLOSED" });
    await expect(cache.insert("k", "v")).rejects.toMatchObject({ code: "CLOSED" });
    await expect(cache.getOrInsert("k", () => "v")).rejects.toMatchObject({ code: "CLOSED" });
    await cache.close();
    expect(cache.isClosed).toBe(true);
  });
});

describe("close and tier ownership", () => {
  it("closes every tier, except a storage tier passed with close: false", async () => {
    const clock = new ManualClock();
    const owned = new CountingTier<string>(clock, "owned");
    const shared = new MockCache<string, string>({ clock, name: "shared" });
    let closedOwned = 0;
    (owned as unknown as { close: () => Promise<void> }).close = () => (closedOwned++, Promise.resolve());
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .fallback(
        Cache.builder<string, string>()
          .storage(owned)
          .fallback(Cache.builder<string, string>().storage(shared, { close: false })),
      )
      .build();
    await cache.close();
    expect(closedOwned).toBe(1);
    expect(shared.isClosed).toBe(false);
  });
});

describe("builder validation", () => {
  const clock = new ManualClock();
  const cases: [string, () => unknown, RegExp][] = [
    ["no tier", () => Cache.builder().build(), /no tier/],
    ["negative ttl", () => Cache.builder().memory({ maxEntries: 1 }).ttl(-1).build(), /`ttl`/],
    ["zero capacity", () => Cache.builder().memory({ maxEntries: 0 }).build(), /`maxEntries`/],
    ["no capacity", () => Cache.builder().memory({}).build(), /`maxEntries` or `maxBytes`/],
    [
      "refresh age >= ttl",
      () => Cache.builder().memory({ maxEntries: 1 }).ttl(1_000).timeToRefresh(1_000).build(),
      /`timeToRefresh`/,
    ],
    [
      "bad duration string",
      () =>
        Cache.builder()
          .memory({ maxEntries: 1 })
          .ttl("5 minutes" as never)
          .build(),
      /`ttl`/,
    ],
    [
      "unknown tier",
      () =>
        Cache.builder()
          .storage({} as never)
          .build(),
      /`storage`/,
    ],
    [
      "bad value mode",
      () =>
        Cache.builder()
          .memory({ maxEntries: 1 })
          .valueMode("deep" as never)
          .build(),
      /`valueMode`/,
    ],
    [
      "fallback without tier",
      () => Cache.builder({ clock }).memory({ maxEntries: 1 }).fallback(Cache.builder()).build(),
      /fallback #1/,
    ],
    [
      "cache-wide option on a fallback",
      () =>
        Cache.builder()
          .memory({ maxEntries: 1 })
          .fallback(Cache.builder().memory({ maxEntries: 1 }).timeToRefresh(1))
          .build(),
      /`timeToRefresh` is a cache-wide option/,
    ],
    [
      "soft >= hard",
      () => Cache.builder().memory({ maxEntries: 1 }).timeouts({ soft: 10, hard: 5 }).build(),
      /`timeouts.soft`/,
    ],
  ];
  it.each(cases)("rejects %s with INVALID_OPTION naming the option", (_, build, message) => {
    let error: unknown;
    try {
      build();
    } catch (e) {
      error = e;
    }
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
    expect((error as Error).message).toMatch(message);
  });
});
