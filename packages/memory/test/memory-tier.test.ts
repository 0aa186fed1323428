import { CacheEntry, ManualClock, isCacheError, jsonCodec } from "@cachet/tier";
import { MemoryTier } from "../src/index.js";

describe("MemoryTier", () => {
  it("requires a bound and validates options, naming them", () => {
    const expectInvalid = (build: () => unknown, option: string) => {
      let error: unknown;
      try {
        build();
      } catch (e) {
        error = e;
      }
      expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
      expect((error as Error).message).toContain(option);
    };
    expectInvalid(() => new MemoryTier({}), "`maxEntries` or `maxBytes`");
    expectInvalid(() => new MemoryTier({ maxEntries: 0 }), "`maxEntries`");
    expectInvalid(() => new MemoryTier({ maxEntries: 1.5 }), "`maxEntries`");
    expectInvalid(() => new MemoryTier({ maxBytes: -1, sizeOf: () => 1 }), "`maxBytes`");
    expectInvalid(() => new MemoryTier({ maxBytes: 100 }), "`sizeOf`");
    expectInvalid(() => new MemoryTier({ maxEntries: 1, ttl: -5 }), "`ttl`");
  });

  it("answers synchronously, evicts the least recently used entry at maxEntries", async () => {
    const tier = new MemoryTier<string, number>({ maxEntries: 2 });
    await tier.insert("a", new CacheEntry(1));
    await tier.insert("b", new CacheEntry(2));
    expect(tier.getSync("a")?.value).toBe(1);
    await tier.insert("c", new CacheEntry(3));
    expect(tier.getSync("b")).toBeUndefined();
    expect(tier.getSync("a")?.value).toBe(1);
    expect(tier.size()).toBe(2);
  });

  it("bounds by bytes with sizeOf and refuses an entry larger than the whole budget", async () => {
    const tier = new MemoryTier<string, string>({ maxBytes: 10, sizeOf: (v) => v.length });
    await tier.insert("a", new CacheEntry("12345"));
    await tier.insert("b", new CacheEntry("12345"));
    await tier.insert("c", new CacheEntry("123"));
    expect(tier.getSync("a")).toBeUndefined();
    expect(tier.getSync("c")?.value).toBe("123");
    await tier.insert("c", new CacheEntry("x".repeat(11)));
    expect(tier.getSync("c")).toBeUndefined();
  });

  it("expires by per-entry and default ttl on its clock, keeping staleFor", async () => {
    const clock = new ManualClock();
    const tier = new MemoryTier<string, string>({ maxEntries: 10, ttl: 1_000, clock });
    await tier.insert("default", new CacheEntry("d"));
    await tier.insert("own", new CacheEntry("o", { ttl: 5_000, staleFor: 2_000 }));
    expect(tier.getSync("default")?.ttl).toBe(1_000);
    expect(tier.getSync("default")?.cachedAt).toBe(clock.now());
    clock.advance(1_000);
    expect(tier.getSync("default")).toBeUndefined();
    clock.advance(5_999);
    expect(tier.getSync("own")?.value).toBe("o");
    clock.advance(1);
    expect(tier.getSync("own")).toBeUndefined();
  });

  it("with a codec, stores copies so callers cannot mutate cached objects", async () => {
    const tier = new MemoryTier<string, { n: number }>({
      maxBytes: 1_000,
      codec: jsonCodec,
    });
    const original = { n: 1 };
    await tier.insert("k", new CacheEntry(original));
    original.n = 2;
    const first = tier.getSync("k")!.value;
    first.n = 3;
    expect(tier.getSync("k")!.value).toEqual({ n: 1 });
  });

  it("rejects a value its codec cannot encode, storing nothing", async () => {
    const tier = new MemoryTier<string, unknown>({ maxEntries: 10, codec: jsonCodec });
    await tier.insert("k", new CacheEntry({ ok: true }));
    await expect(tier.insert("k", new CacheEntry({ bad: 10n }))).rejects.toMatchObject({ code: "CODEC" });
    expect(tier.getSync("k")?.value).toEqual({ ok: true });
    await expect(
      tier.insertMany([
        ["x", new CacheEntry(1)],
        ["y", new CacheEntry(() => 1)],
      ]),
    ).rejects.toMatchObject({
      code: "CODEC",
    });
    expect(tier.getSync("x")).toBeUndefined();
  });

  it("rejects every call after close with CLOSED", async () => {
    const tier = new MemoryTier<string, number>({ maxEntries: 10 });
    await tier.close();
    await expect(tier.get("k")).rejects.toMatchObject({ code: "CLOSED" });
    await expect(tier.insert("k", new CacheEntry(1))).rejects.toMatchObject({ code: "CLOSED" });
    expect(() => tier.getSync("k")).toThrow(/closed/);
  });
});
