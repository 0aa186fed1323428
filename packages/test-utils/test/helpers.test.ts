import { describe, expect, it } from "@jest/globals";
import { caughtCacheError, seededRandom, thrownCacheError } from "../src/index.js";

/** A stand-in with the brand `isCacheError` checks (this package does not depend on @cachet/tier). */
function brandedError(code: string): Error {
  return Object.assign(new Error(code), { code, tier: undefined, [Symbol.for("cachet.CacheError")]: true });
}

describe("seededRandom", () => {
  it("repeats its sequence for a seed, differs across seeds, and stays in [0, 1)", () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const first = Array.from({ length: 1000 }, () => a());
    expect(first).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededRandom(8)()).not.toBe(first[0]);
  });

  it("is mulberry32 (the sequence the repo's fixtures were written against)", () => {
    const r = seededRandom(42);
    expect([r(), r(), r()].map((x) => Math.floor(x * 2 ** 32))).toEqual([2581720956, 1925393290, 3661312704]);
  });
});

describe("caughtCacheError / thrownCacheError", () => {
  it("returns the CacheError and checks its code", async () => {
    const error = await caughtCacheError(Promise.reject(brandedError("CLOSED")), "CLOSED");
    expect(error.code).toBe("CLOSED");
    expect(
      thrownCacheError(() => {
        throw brandedError("CODEC");
      }).code,
    ).toBe("CODEC");
  });

  it("fails on a resolve, a plain error and a wrong code", async () => {
    await expect(caughtCacheError(Promise.resolve(1))).rejects.toThrow("nothing was thrown");
    await expect(caughtCacheError(Promise.reject(new Error("plain")))).rejects.toThrow(
      "expected a CacheError",
    );
    await expect(caughtCacheError(Promise.reject(brandedError("CLOSED")), "TIMEOUT")).rejects.toThrow();
    expect(() => thrownCacheError(() => undefined)).toThrow("nothing was thrown");
  });
});
