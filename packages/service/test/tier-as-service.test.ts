import { CacheEntry, CacheError, ManualClock } from "@cachet/tier";
import { MockCache } from "@cachet/tier/testing";
import type { CacheTier } from "@cachet/tier";
import { tierAsService } from "../src/index.js";
import type { CacheOperation } from "../src/index.js";
import { rejectionOf, thrownBy } from "./fixtures/scripted-service.js";

function setup(): {
  clock: ManualClock;
  tier: MockCache<string, number>;
  service: ReturnType<typeof tierAsService<string, number>>;
} {
  const clock = new ManualClock();
  const tier = new MockCache<string, number>({ clock });
  return { clock, tier, service: tierAsService(tier) };
}

/** A tier with only the four required methods, to exercise the batch fallbacks. */
function minimalTier(inner: MockCache<string, number>): CacheTier<string, number> {
  return {
    name: "minimal",
    get: (key) => inner.get(key),
    insert: (key, entry) => inner.insert(key, entry),
    invalidate: (key) => inner.invalidate(key),
    clear: () => inner.clear(),
  };
}

describe("tierAsService", () => {
  it("maps each operation to the tier method and answers with the same op", async () => {
    const { clock, tier, service } = setup();
    await expect(
      service.call({ op: "insert", key: "a", entry: new CacheEntry(1, { ttl: 1_000 }) }),
    ).resolves.toEqual({
      op: "insert",
    });
    const got = await service.call({ op: "get", key: "a" });
    expect(got.op).toBe("get");
    expect(got.op === "get" && got.entry?.value).toBe(1);
    expect(got.op === "get" && got.entry?.cachedAt).toBe(clock.now());
    await expect(service.call({ op: "get", key: "missing" })).resolves.toEqual({
      op: "get",
      entry: undefined,
    });

    await service.call({
      op: "insertMany",
      entries: [
        ["b", new CacheEntry(2)],
        ["c", new CacheEntry(3)],
      ],
    });
    const many = await service.call({ op: "getMany", keys: ["a", "x", "c"] });
    expect(many.op === "getMany" && many.entries.map((e) => e?.value)).toEqual([1, undefined, 3]);
    await expect(service.call({ op: "size" })).resolves.toEqual({ op: "size", size: 3 });

    await expect(service.call({ op: "invalidate", key: "a" })).resolves.toEqual({ op: "invalidate" });
    await expect(service.call({ op: "invalidateMany", keys: ["b"] })).resolves.toEqual({
      op: "invalidateMany",
    });
    expect(tier.peek("a")).toBeUndefined();
    expect(tier.peek("b")).toBeUndefined();
    expect(tier.peek("c")?.value).toBe(3);
    await expect(service.call({ op: "clear" })).resolves.toEqual({ op: "clear" });
    expect(tier.peek("c")).toBeUndefined();

    expect(tier.calls.map((c) => c.op)).toEqual([
      "insert",
      "get",
      "get",
      "insertMany",
      "getMany",
      "size",
      "invalidate",
      "invalidateMany",
      "clear",
    ]);
  });

  it("falls back to per-key calls when the tier has no batch methods, and answers size undefined", async () => {
    const { tier } = setup();
    const service = tierAsService(minimalTier(tier));
    await service.call({
      op: "insertMany",
      entries: [
        ["a", new CacheEntry(1)],
        ["b", new CacheEntry(2)],
      ],
    });
    const many = await service.call({ op: "getMany", keys: ["b", "a"] });
    expect(many.op === "getMany" && many.entries.map((e) => e?.value)).toEqual([2, 1]);
    await service.call({ op: "invalidateMany", keys: ["a", "b"] });
    await expect(service.call({ op: "size" })).resolves.toEqual({ op: "size", size: undefined });
    expect(tier.calls.map((c) => c.op)).toEqual([
      "insert",
      "insert",
      "get",
      "get",
      "invalidate",
      "invalidate",
    ]);
  });

  it("passes the tier's rejection through unchanged", async () => {
    const { tier, service } = setup();
    const failure = new CacheError("TIER_FAILURE", "boom", { tier: "mock" });
    tier.failNext("get", failure);
    await expect(service.call({ op: "get", key: "a" })).rejects.toBe(failure);
  });

  it("rejects (never throws) an unknown op with INVALID_OPTION", async () => {
    const { service } = setup();
    const bogus = { op: "drop", key: "a" } as unknown as CacheOperation<string, number>;
    let result: Promise<unknown> | undefined;
    expect(() => {
      result = service.call(bogus);
    }).not.toThrow();
    const error = await rejectionOf(result);
    expect(error.code).toBe("INVALID_OPTION");
    expect(error.message).toContain("`op`");
  });

  it("refuses something that is not a tier", () => {
    const error = thrownBy(() => tierAsService({ name: "x" } as unknown as CacheTier<string, number>));
    expect(error.code).toBe("INVALID_OPTION");
    expect(error.message).toContain("`tier`");
  });
});
