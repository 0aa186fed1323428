import { describe, expect, it } from "@jest/globals";
import { caughtCacheError } from "@cachet/test-utils";
import { CacheEntry, CacheError, ManualClock, isCacheError } from "../src/index.js";
import { MockCache } from "../src/testing/index.js";

async function rejection(promise: Promise<unknown>): Promise<CacheError> {
  const error = await caughtCacheError(promise);
  expect(isCacheError(error)).toBe(true);
  return error as CacheError;
}

/** Tracks whether a promise has settled, to observe delays without awaiting them. */
function track<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let settled = false;
  const tracked = promise.then(
    (value) => {
      settled = true;
      return value;
    },
    (error: unknown) => {
      settled = true;
      throw error;
    },
  );
  return { settled: () => settled, promise: tracked };
}

describe("MockCache", () => {
  it("stores, stamps cachedAt and applies the default ttl", async () => {
    const clock = new ManualClock(1_000);
    const tier = new MockCache<string, string>({ clock, ttl: "1s" });
    await tier.insert("a", new CacheEntry("A"));
    const entry = await tier.get("a");
    expect(entry?.value).toBe("A");
    expect(entry?.cachedAt).toBe(1_000);
    expect(entry?.ttl).toBe(1_000);
    clock.advance(999);
    expect((await tier.get("a"))?.value).toBe("A");
    clock.advance(1);
    expect(await tier.get("a")).toBeUndefined();
    expect(tier.peek("a")).toBeUndefined();
  });

  it("keeps an entry's own ttl, cachedAt and staleFor, and does not store isStale", async () => {
    const clock = new ManualClock(10_000);
    const tier = new MockCache<string, number>({ clock, ttl: 1 });
    const entry = new CacheEntry(1, { ttl: 100, cachedAt: 9_950, staleFor: 100, isStale: true, tags: ["t"] });
    await tier.insert("k", entry);
    const stored = await tier.get("k");
    expect(stored).toMatchObject({ ttl: 100, cachedAt: 9_950, staleFor: 100, isStale: false, tags: ["t"] });
    clock.advance(149);
    expect((await tier.get("k"))?.value).toBe(1);
    clock.advance(1);
    expect(await tier.get("k")).toBeUndefined();
  });

  it("never expires entries without a ttl when there is no default", async () => {
    const clock = new ManualClock();
    const tier = new MockCache<string, number>({ clock });
    await tier.insert("k", new CacheEntry(1));
    clock.advance(365 * 86_400_000);
    expect((await tier.get("k"))?.ttl).toBeUndefined();
    expect((await tier.get("k"))?.value).toBe(1);
  });

  it("records every call with its key and the clock's time, and reset() forgets them", async () => {
    const clock = new ManualClock(5);
    const tier = new MockCache<string, number>({ clock });
    await tier.get("a");
    clock.advance(10);
    await tier.insertMany([
      ["x", new CacheEntry(1)],
      ["y", new CacheEntry(2)],
    ]);
    expect(await tier.getMany(["y", "nope", "x"])).toEqual([
      expect.objectContaining({ value: 2 }),
      undefined,
      expect.objectContaining({ value: 1 }),
    ]);
    await tier.invalidateMany(["x"]);
    expect(await tier.size()).toBe(1);
    await tier.invalidate("y");
    await tier.clear();
    expect(tier.calls).toEqual([
      { op: "get", key: "a", at: 5 },
      { op: "insertMany", key: ["x", "y"], at: 15 },
      { op: "getMany", key: ["y", "nope", "x"], at: 15 },
      { op: "invalidateMany", key: ["x"], at: 15 },
      { op: "size", key: undefined, at: 15 },
      { op: "invalidate", key: "y", at: 15 },
      { op: "clear", key: undefined, at: 15 },
    ]);
    tier.reset();
    expect(tier.calls).toEqual([]);
  });

  it("failNext fails exactly the next calls of that operation, queued", async () => {
    const tier = new MockCache<string, number>({ clock: new ManualClock(), name: "fake" });
    const custom = new CacheError("TIMEOUT", "slow");
    tier.failNext("get").failNext("get", custom);
    const first = await rejection(tier.get("a"));
    expect(first).toMatchObject({ code: "TIER_FAILURE", message: "injected failure", tier: "fake" });
    expect(await rejection(tier.get("a"))).toBe(custom);
    expect(await tier.get("a")).toBeUndefined();
    await tier.insert("a", new CacheEntry(1)); // other operations are unaffected
    expect(tier.calls.map((c) => c.op)).toEqual(["get", "get", "get", "insert"]);
  });

  it("a failed insert stores nothing", async () => {
    const tier = new MockCache<string, number>({ clock: new ManualClock() });
    tier.failNext("insert");
    await rejection(tier.insert("a", new CacheEntry(1)));
    expect(await tier.get("a")).toBeUndefined();
  });

  it("failAll fails until heal, with a fresh default error or the given one", async () => {
    const tier = new MockCache<string, number>({ clock: new ManualClock() });
    tier.failAll("insert");
    const a = await rejection(tier.insert("a", new CacheEntry(1)));
    const b = await rejection(tier.insert("a", new CacheEntry(1)));
    expect(a.code).toBe("TIER_FAILURE");
    expect(a).not.toBe(b);
    const given = new Error("down");
    tier.failAll("get", given);
    await expect(tier.get("a")).rejects.toBe(given);
    await expect(tier.get("a")).rejects.toBe(given);
    tier.heal("get");
    expect(await tier.get("a")).toBeUndefined();
    await rejection(tier.insert("a", new CacheEntry(1)));
    tier.heal();
    await tier.insert("a", new CacheEntry(1));
    expect((await tier.get("a"))?.value).toBe(1);
  });

  it("delay holds the operation until the clock passes the delay", async () => {
    const clock = new ManualClock();
    const tier = new MockCache<string, number>({ clock });
    tier.delay("insert", "50ms");
    const pending = track(tier.insert("a", new CacheEntry(1)));
    await clock.advanceAsync(49);
    expect(pending.settled()).toBe(false);
    expect(tier.peek("a")).toBeUndefined(); // not applied yet
    await clock.advanceAsync(1);
    expect(pending.settled()).toBe(true);
    await pending.promise;
    expect(tier.peek("a")?.cachedAt).toBe(clock.now()); // stamped when it took effect
    tier.delay("insert", 0);
    await tier.insert("b", new CacheEntry(2)); // no clock advance needed any more
  });

  it("a delayed failure rejects only after the delay", async () => {
    const clock = new ManualClock();
    const tier = new MockCache<string, number>({ clock });
    tier.delay("get", 20).failNext("get");
    const pending = track(tier.get("a"));
    pending.promise.catch(() => undefined);
    await clock.advanceAsync(19);
    expect(pending.settled()).toBe(false);
    await clock.advanceAsync(1);
    expect((await rejection(pending.promise)).code).toBe("TIER_FAILURE");
  });

  it("rejects with CLOSED after close(), and close is idempotent", async () => {
    const tier = new MockCache<string, number>({ clock: new ManualClock(), name: "m" });
    await tier.insert("a", new CacheEntry(1));
    await tier.close();
    await tier.close();
    expect(tier.isClosed).toBe(true);
    for (const call of [
      () => tier.get("a"),
      () => tier.insert("a", new CacheEntry(1)),
      () => tier.invalidate("a"),
      () => tier.clear(),
      () => tier.size(),
      () => tier.getMany(["a"]),
      () => tier.insertMany([]),
      () => tier.invalidateMany(["a"]),
    ]) {
      const error = await rejection(call());
      expect(error.code).toBe("CLOSED");
      expect(error.tier).toBe("m");
    }
  });

  it("validates its options", () => {
    expect(() => new MockCache({ ttl: -1 })).toThrow(/`ttl`/);
    expect(() => new MockCache({ ttl: "soon" as never })).toThrow(/`ttl`/);
    expect(() => new MockCache({ name: "" })).toThrow(/`name`/);
    expect(() => new MockCache().delay("get", -5)).toThrow(/`ms`/);
    expect(new MockCache().name).toBe("mock");
  });
});
