// Mistakes users make with options, each refused with INVALID_OPTION naming the option (issue 18).
import { caughtCacheError, thrownCacheError } from "@cachet/test-utils";
import { Cache, CacheEntry, ManualClock, MemoryBus, MemoryBusHub, MemoryTier } from "../src/index.js";
import type { Duration } from "../src/index.js";

const builder = () => Cache.builder<string, string>({ clock: new ManualClock() });
const cache = () => builder().memory({ maxEntries: 10 }).build();
/** For JavaScript callers and spread objects: what the types would have refused. */
const loose = <T>(value: unknown): T => value as T;

describe("unknown option keys are refused, naming the key and the closest known one", () => {
  it.each([
    [
      "Cache.builder",
      () => Cache.builder(loose({ clok: new ManualClock() })),
      "`clok` is not a Cache.builder option; did you mean `clock`?",
    ],
    [
      "memory",
      () => builder().memory(loose({ maxEntrys: 10 })),
      "`maxEntrys` is not a memory option; did you mean `maxEntries`?",
    ],
    [
      "failSafe",
      () => builder().failSafe(loose({ maxStaleAg: "1m" })),
      "`maxStaleAg` is not a failSafe option; did you mean `maxStaleAge`?",
    ],
    [
      "timeouts",
      () => builder().timeouts(loose({ sotf: "1s" })),
      "`sotf` is not a timeouts option; did you mean `soft`?",
    ],
    [
      "storage",
      () => builder().storage(new MemoryTier({ maxEntries: 1 }), loose({ clsoe: false })),
      "`clsoe` is not a storage option; did you mean `close`?",
    ],
    [
      "bus",
      () => builder().bus(new MemoryBus(new MemoryBusHub(), "a"), loose({ key: {} })),
      "`key` is not a bus option; did you mean `keys`?",
    ],
    [
      "distributedStampedeProtection",
      () => builder().distributedStampedeProtection(loose({ lock: {}, leese: "1s" })),
      "`leese` is not a distributedStampedeProtection option; did you mean `lease`?",
    ],
  ])("%s", (_, run, message) => {
    const error = thrownCacheError(run, "INVALID_OPTION");
    expect(error.message).toBe(message);
  });

  it("circuitBreaker options are checked when the cache is built", () => {
    const b = builder()
      .memory({ maxEntries: 10 })
      .fallback(
        Cache.builder<string, string>()
          .storage(new MemoryTier({ maxEntries: 1 }))
          .circuitBreaker(loose({ coldown: "1s" })),
      );
    expect(thrownCacheError(() => b.build(), "INVALID_OPTION").message).toContain(
      "`coldown` is not a circuitBreaker option; did you mean `cooldown`?",
    );
  });

  it("memory() says where ttl and clock go instead", () => {
    expect(
      thrownCacheError(() => builder().memory(loose({ maxEntries: 1, ttl: 5 })), "INVALID_OPTION").message,
    ).toBe("`memory` takes no `ttl`: set it with `.ttl()`");
    expect(
      thrownCacheError(() => builder().memory(loose({ maxEntries: 1, clock: new ManualClock() }))).message,
    ).toContain("Cache.builder({ clock })");
  });

  it("insert options", async () => {
    const c = cache();
    const error = await caughtCacheError(c.insert("k", "v", loose({ tll: 5 })), "INVALID_OPTION");
    expect(error.message).toBe("`tll` is not an insert option; did you mean `ttl`?");
    expect(await c.get("k")).toBeUndefined();
    await c.close();
  });

  it("getOrInsert options, nested ones included, before the loader runs", async () => {
    const c = cache();
    const loader = jest.fn(() => "v");
    for (const [options, message] of [
      [{ tll: 5 }, "`tll` is not a getOrInsert option; did you mean `ttl`?"],
      [{ failSafe: { maxStaleAg: 5 } }, "`maxStaleAg` is not a failSafe option; did you mean `maxStaleAge`?"],
      [{ timeouts: { sotf: 5 } }, "`sotf` is not a timeouts option; did you mean `soft`?"],
      [{ staleWhileRevalidat: 5 }, "did you mean `staleWhileRevalidate`?"],
    ] as const) {
      const error = await caughtCacheError(c.getOrInsert("k", loader, loose(options)), "INVALID_OPTION");
      expect(error.message).toContain(message);
      await caughtCacheError(c.optionallyGetOrInsert("k", loader, loose(options)), "INVALID_OPTION");
      await caughtCacheError(
        c.getOrInsertMany(["k"], () => new Map(), loose(options)),
        "INVALID_OPTION",
      );
    }
    expect(loader).not.toHaveBeenCalled();
    await c.close();
  });

  it("known keys set to undefined (spread defaults) are accepted", async () => {
    const c = builder()
      .memory({ maxEntries: 10, maxBytes: undefined })
      .failSafe({ maxStaleAge: "1m", backoff: undefined })
      .timeouts({ soft: undefined, hard: "1s" })
      .build();
    await c.insert("k", "v", { ttl: undefined, tags: undefined });
    expect(await c.getOrInsert("j", () => "w", { signal: undefined, ttl: undefined })).toBe("w");
    await c.close();
  });
});

describe("tag lists must be arrays of non-empty strings", () => {
  const oops = loose<string[]>("oops");

  it("insert refuses a string instead of spreading it into letters", async () => {
    const c = cache();
    const error = await caughtCacheError(c.insert("k", "v", { tags: oops }), "INVALID_OPTION");
    expect(error.message).toBe('`tags` must be an array of non-empty strings, got the string "oops"');
    await caughtCacheError(c.insert("k", "v", { tags: ["ok", ""] }), "INVALID_OPTION");
    await caughtCacheError(c.insertMany([["k", "v"]], { tags: oops }), "INVALID_OPTION");
    await caughtCacheError(
      c.insert("k", new CacheEntry("v", { tags: ["ok"] }), { tags: oops }),
      "INVALID_OPTION",
    );
    expect(await c.get("k")).toBeUndefined();
    await c.close();
  });

  it("getOrInsert options, invalidateTags, expireTags", async () => {
    const c = cache();
    expect(
      (
        await caughtCacheError(
          c.getOrInsert("k", () => "v", { tags: oops }),
          "INVALID_OPTION",
        )
      ).message,
    ).toMatch(/^`tags` must be an array/);
    expect((await caughtCacheError(c.invalidateTags(oops), "INVALID_OPTION")).message).toMatch(
      /^`invalidateTags` must be/,
    );
    expect((await caughtCacheError(c.expireTags([""]), "INVALID_OPTION")).message).toMatch(
      /^`expireTags` must be/,
    );
    await c.close();
  });

  it("a namespace checks the call's tags before adding its own", async () => {
    const c = cache();
    const users = c.namespace("users");
    await caughtCacheError(users.insert("k", "v", { tags: oops }), "INVALID_OPTION");
    await caughtCacheError(
      users.getOrInsert("k", () => "v", { tags: oops }),
      "INVALID_OPTION",
    );
    await caughtCacheError(users.invalidateTags(oops), "INVALID_OPTION");
    await caughtCacheError(users.insertMany([["k", "v"]], { tags: oops }), "INVALID_OPTION");
    expect(await users.get("k")).toBeUndefined();
    await c.close();
  });

  it("a loader's ctx.setTags and a CacheEntry the loader returns", async () => {
    const c = cache();
    const viaCtx = await caughtCacheError(
      c.getOrInsert("k", (_, ctx) => {
        ctx.setTags(oops);
        return "v";
      }),
      "LOADER",
    );
    expect(viaCtx.cause).toMatchObject({ code: "INVALID_OPTION" });
    expect((viaCtx.cause as Error).message).toMatch(/^`ctx.setTags` must be/);
    const viaEntry = await caughtCacheError(
      c.getOrInsert("j", () => new CacheEntry("v", { tags: oops })),
      "LOADER",
    );
    expect(viaEntry.cause).toMatchObject({ code: "INVALID_OPTION" });
    expect(await c.get("k")).toBeUndefined();
    await c.close();
  });
});

describe("durations take the same forms everywhere, with the same error text", () => {
  it("a CacheEntry ttl string is what the builder's ttl string is", async () => {
    const clock = new ManualClock();
    const c = Cache.builder<string, string>({ clock }).memory({ maxEntries: 10 }).ttl("5m").build();
    await c.insert("builder", "a");
    await c.insert("entry", new CacheEntry("b", { ttl: "5m" }));
    await c.insert("option", "c", { ttl: "5m" });
    const entries = await c.getMany(["builder", "entry", "option"]);
    expect(entries.map((e) => e?.ttl)).toEqual([300_000, 300_000, 300_000]);
    clock.advance(300_000);
    expect(await c.getMany(["builder", "entry", "option"])).toEqual([undefined, undefined, undefined]);
    await c.close();
  });

  it("one error text for one bad duration, wherever it is given", async () => {
    const bad = loose<Duration>("5 minutes");
    const text = '`ttl` must be milliseconds or a duration string like "30s" or "5m", got "5 minutes"';
    const c = cache();
    expect(thrownCacheError(() => builder().memory({ maxEntries: 1 }).ttl(bad).build()).message).toBe(text);
    expect(thrownCacheError(() => new CacheEntry("v", { ttl: bad })).message).toBe(text);
    expect((await caughtCacheError(c.insert("k", "v", { ttl: bad }))).message).toBe(text);
    expect((await caughtCacheError(c.getOrInsert("k", () => "v", { ttl: bad }))).message).toBe(text);
    await c.close();
  });
});
