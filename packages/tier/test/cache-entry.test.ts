import { describe, expect, it } from "@jest/globals";
import { CacheEntry, isCacheEntry } from "../src/index.js";

describe("CacheEntry", () => {
  it("holds a value with defaults: no ttl, no cachedAt, no tags, not stale", () => {
    const entry = new CacheEntry({ id: 1 });
    expect(entry).toMatchObject({
      value: { id: 1 },
      ttl: undefined,
      cachedAt: undefined,
      staleFor: 0,
      isStale: false,
    });
    expect(entry.tags).toEqual([]);
    expect(entry.expiresAt).toBeUndefined();
    expect(entry.retainUntil).toBeUndefined();
    expect(entry.isExpiredAt(Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(entry.remainingTtl(0)).toBeUndefined();
  });

  it("expiresAfter and expiresAt set ttl and cachedAt", () => {
    expect(CacheEntry.expiresAfter("v", 500)).toMatchObject({ value: "v", ttl: 500, cachedAt: undefined });
    const entry = CacheEntry.expiresAt("v", 500, 1_000);
    expect(entry).toMatchObject({ ttl: 500, cachedAt: 1_000, expiresAt: 1_500, retainUntil: 1_500 });
    expect(entry.isExpiredAt(1_499)).toBe(false);
    expect(entry.isExpiredAt(1_500)).toBe(true);
    expect(entry.remainingTtl(1_200)).toBe(300);
    expect(entry.remainingTtl(9_999)).toBe(0);
  });

  it("retains until expiresAt + staleFor", () => {
    const entry = new CacheEntry("v", { ttl: 100, cachedAt: 0, staleFor: 50 });
    expect(entry.expiresAt).toBe(100);
    expect(entry.retainUntil).toBe(150);
  });

  it("is immutable, including its tags, and copies the tags it is given", () => {
    const tags = ["a"];
    const entry = new CacheEntry("v", { tags });
    tags.push("b");
    expect(entry.tags).toEqual(["a"]);
    expect(Object.isFrozen(entry)).toBe(true);
    expect(Object.isFrozen(entry.tags)).toBe(true);
    expect(() => {
      (entry as { value: string }).value = "changed";
    }).toThrow(TypeError);
  });

  it("with() replaces only the given fields, and can clear ttl or cachedAt explicitly", () => {
    const entry = new CacheEntry("v", { ttl: 10, cachedAt: 5, tags: ["t"], staleFor: 3 });
    expect(entry.with({ isStale: true })).toMatchObject({
      ttl: 10,
      cachedAt: 5,
      tags: ["t"],
      staleFor: 3,
      isStale: true,
    });
    expect(entry.with({ ttl: undefined })).toMatchObject({ ttl: undefined, cachedAt: 5 });
    expect(entry.with({ cachedAt: 9 }).cachedAt).toBe(9);
    expect(entry.ttl).toBe(10);
  });

  it.each([
    [{ ttl: -1 }, /`ttl`/],
    [{ ttl: Infinity }, /`ttl`/],
    [{ ttl: NaN }, /`ttl`/],
    [{ staleFor: -5 }, /`staleFor`/],
    [{ cachedAt: NaN }, /`cachedAt`/],
  ])("rejects invalid options %p with INVALID_OPTION", (options, message) => {
    expect(() => new CacheEntry("v", options)).toThrow(message);
    expect(() => new CacheEntry("v", options)).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
  });

  it("isCacheEntry recognises entries, including structurally identical ones from another copy", () => {
    expect(isCacheEntry(new CacheEntry(1))).toBe(true);
    const foreign = { value: 1, cachedAt: undefined, ttl: undefined, staleFor: 0, isStale: false, tags: [] };
    expect(isCacheEntry(foreign)).toBe(true);
    expect(isCacheEntry({ value: 1 })).toBe(false);
    expect(isCacheEntry(null)).toBe(false);
    expect(isCacheEntry("entry")).toBe(false);
  });
});
