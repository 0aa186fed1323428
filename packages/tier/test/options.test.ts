import { describe, expect, it } from "@jest/globals";
import { assertKnownOptions, closestKey, isCacheError } from "../src/index.js";

function thrown(run: () => void): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("closestKey", () => {
  it.each([
    ["prefx", "prefix"], // deletion
    ["prefixx", "prefix"], // insertion
    ["prefox", "prefix"], // substitution
    ["perfix", "prefix"], // swap of neighbours
    ["meterprovider", "meterProvider"], // case only
    ["maxEntrys", "maxEntries"],
    ["sotf", "soft"],
  ])("suggests the known key for a typo: %s → %s", (typo, expected) => {
    expect(closestKey(typo, ["prefix", "codec", "meterProvider", "maxEntries", "soft", "hard"])).toBe(
      expected,
    );
  });

  it("picks the nearest of several candidates", () => {
    expect(closestKey("ttk", ["ttl", "tags", "ttlx"])).toBe("ttl");
  });

  it("suggests nothing for a key that is not a typo of any known one", () => {
    expect(closestKey("banana", ["prefix", "codec"])).toBeUndefined();
    expect(closestKey("x", ["ttl"])).toBeUndefined();
    expect(closestKey("anything", [])).toBeUndefined();
  });
});

describe("assertKnownOptions", () => {
  it("accepts known keys, including ones set to undefined", () => {
    expect(() =>
      assertKnownOptions({ prefix: "a", codec: undefined }, ["prefix", "codec"], { owner: "T" }),
    ).not.toThrow();
  });

  it("ignores values that are not objects (their owner reports those)", () => {
    expect(() => assertKnownOptions(undefined, ["a"], { owner: "T" })).not.toThrow();
    expect(() => assertKnownOptions("text", ["a"], { owner: "T" })).not.toThrow();
  });

  it("refuses an unknown key with INVALID_OPTION naming it and the closest known key", () => {
    const error = thrown(() =>
      assertKnownOptions({ prefx: "a" }, new Set(["prefix", "codec"]), { owner: "RedisTier", tier: "redis" }),
    );
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
    expect(isCacheError(error) && error.tier).toBe("redis");
    expect((error as Error).message).toBe("`prefx` is not a RedisTier option; did you mean `prefix`?");
  });

  it("lists the known keys when nothing is close, and names nested paths", () => {
    const error = thrown(() =>
      assertKnownOptions({ size: 1 }, ["maxSize", "interval"], { owner: "RedisBus", path: "retryQueue" }),
    );
    expect((error as Error).message).toBe(
      "`retryQueue.size` is not a RedisBus option; known options: `retryQueue.maxSize`, `retryQueue.interval`",
    );
  });

  it("refuses an undefined value under a misspelled key too", () => {
    expect(() => assertKnownOptions({ tll: undefined }, ["ttl"], { owner: "T" })).toThrow(
      "did you mean `ttl`?",
    );
  });
});
