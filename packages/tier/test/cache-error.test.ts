import { describe, expect, it } from "@jest/globals";
import { CacheError, isCacheError } from "../src/index.js";

describe("CacheError", () => {
  it("carries code, message, tier and cause", () => {
    const cause = new Error("ECONNREFUSED");
    const error = new CacheError("TIER_FAILURE", "redis `get` failed", { tier: "redis", cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: "CacheError",
      code: "TIER_FAILURE",
      tier: "redis",
      message: "redis `get` failed",
    });
    expect(error.cause).toBe(cause);
    expect(new CacheError("TIMEOUT", "slow").tier).toBeUndefined();
    expect("cause" in new CacheError("TIMEOUT", "slow")).toBe(false);
  });

  it("isCacheError is true for this copy's errors and false for others", () => {
    expect(isCacheError(new CacheError("CODEC", "bad bytes"))).toBe(true);
    expect(isCacheError(new Error("plain"))).toBe(false);
    expect(isCacheError({ code: "CODEC", name: "CacheError" })).toBe(false);
    expect(isCacheError(null)).toBe(false);
    expect(isCacheError("CacheError")).toBe(false);
  });

  it("isCacheError recognises an error from a second copy of the package by its global brand", () => {
    // A second copy (the CJS build next to the ESM one) has its own class but the same Symbol.for brand.
    class OtherCopyError extends Error {
      readonly code = "CLOSED";
    }
    const foreign = new OtherCopyError("closed");
    Object.defineProperty(foreign, Symbol.for("cachet.CacheError"), { value: true });
    expect(foreign).not.toBeInstanceOf(CacheError);
    expect(isCacheError(foreign)).toBe(true);
    const plain = { code: "CLOSED", [Symbol.for("cachet.CacheError")]: true };
    expect(isCacheError(plain)).toBe(true);
  });
});
