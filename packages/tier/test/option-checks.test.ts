import { describe, expect, it } from "@jest/globals";
import { CacheEntry, CircuitBreaker, assertKnownKeys, assertTagList, isTagList } from "../src/index.js";
import type { Duration } from "../src/index.js";

const invalid = (message: string | RegExp) =>
  expect.objectContaining({ code: "INVALID_OPTION", message: expect.stringMatching(message) });

describe("assertKnownKeys", () => {
  it.each([
    ["sotf", ["soft", "hard"], "timeouts", "`sotf` is not a timeouts option; did you mean `soft`?"],
    ["maxStaleAg", ["maxStaleAge", "backoff", "fallback"], "failSafe", "did you mean `maxStaleAge`?"],
    ["maxEntrys", ["maxEntries", "maxBytes", "sizeOf"], "memory", "did you mean `maxEntries`?"],
    ["tll", ["ttl", "tags"], "insert", "did you mean `ttl`?"],
    ["meterprovider", ["meterProvider", "tracerProvider"], "cacheTelemetry", "did you mean `meterProvider`?"],
  ])("refuses %p naming it and the closest known key", (key, known, owner, text) => {
    expect(() => assertKnownKeys({ [key]: 1 }, known, owner)).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", message: expect.stringContaining(text) }),
    );
  });

  it("lists the known keys when none is close", () => {
    expect(() => assertKnownKeys({ colour: "red" }, ["soft", "hard"], "timeouts")).toThrow(
      "`colour` is not a timeouts option; known options: `soft`, `hard`",
    );
  });

  it("accepts known keys, undefined values of known keys, and non-objects", () => {
    expect(() => assertKnownKeys({ soft: 1, hard: undefined }, ["soft", "hard"], "timeouts")).not.toThrow();
    expect(() => assertKnownKeys(undefined, ["soft"], "timeouts")).not.toThrow();
    expect(() => assertKnownKeys(5, ["soft"], "timeouts")).not.toThrow();
  });

  it("ignores inherited keys but refuses an own key set to undefined", () => {
    const inherited = Object.create({ sotf: 1 }) as object;
    expect(() => assertKnownKeys(inherited, ["soft"], "timeouts")).not.toThrow();
    expect(() => assertKnownKeys({ sotf: undefined }, ["soft"], "timeouts")).toThrow(invalid(/`sotf`/));
  });
});

describe("tag lists", () => {
  it.each([[[]], [["a"]], [["a", "b:c"]]])("accepts %p", (tags) => {
    expect(isTagList(tags)).toBe(true);
    expect(() => assertTagList(tags, "tags")).not.toThrow();
  });

  it.each([
    ["oops", /`tags` must be an array of non-empty strings, got the string "oops"/],
    [[""], /`tags` must be an array .*empty or non-string tag/],
    [["a", 1], /`tags` must be an array/],
    [null, /got null/],
    [{ 0: "a", length: 1 }, /got object/],
  ])("refuses %p with INVALID_OPTION naming the option", (tags, message) => {
    expect(isTagList(tags)).toBe(false);
    expect(() => assertTagList(tags, "tags")).toThrow(invalid(message));
  });
});

describe("CacheEntry options", () => {
  it("takes the same duration forms as every other option", () => {
    const entry = new CacheEntry("v", { ttl: "5m", staleFor: "30s" });
    expect(entry.ttl).toBe(300_000);
    expect(entry.staleFor).toBe(30_000);
    expect(CacheEntry.expiresAfter("v", "2h").ttl).toBe(7_200_000);
    expect(CacheEntry.expiresAt("v", "1s", 10).expiresAt).toBe(1_010);
  });

  it("refuses a bad duration with the same text as the builder's parser", () => {
    expect(() => new CacheEntry("v", { ttl: "5 minutes" as Duration })).toThrow(
      '`ttl` must be milliseconds or a duration string like "30s" or "5m", got "5 minutes"',
    );
    expect(() => new CacheEntry("v", { ttl: -1 })).toThrow("`ttl` must be zero or more milliseconds, got -1");
    expect(() => new CacheEntry("v", { staleFor: "-1s" as Duration })).toThrow(invalid(/`staleFor`/));
  });

  it("refuses a tag list that is not an array of strings, instead of spreading a string into letters", () => {
    expect(() => new CacheEntry("v", { tags: "oops" as unknown as string[] })).toThrow(
      invalid('`tags` must be an array of strings, got the string "oops"'),
    );
    expect(() => new CacheEntry("v", { tags: ["ok", 1] as unknown as string[] })).toThrow(invalid(/`tags`/));
    // Any string is kept: an entry decoded from storage must not fail on a tag; the caches refuse
    // empty tags where users give them.
    expect(new CacheEntry("v", { tags: ["ok", ""] }).tags).toEqual(["ok", ""]);
  });

  it("keeps its own frozen copy of the tags", () => {
    const tags = ["a"];
    const entry = new CacheEntry("v", { tags });
    tags.push("b");
    expect(entry.tags).toEqual(["a"]);
    expect(Object.isFrozen(entry.tags)).toBe(true);
    expect(entry.with({ ttl: 1 }).tags).toBe(entry.tags);
  });
});

describe("CircuitBreaker options", () => {
  it("refuses unknown keys, nested ones included", () => {
    expect(() => new CircuitBreaker({ cooldwn: "1s" } as never)).toThrow(
      invalid(/`cooldwn` is not a circuitBreaker option; did you mean `cooldown`\?/),
    );
    expect(
      () => new CircuitBreaker({ failureRate: { threshold: 0.5, window: "10s", minimumCall: 5 } } as never),
    ).toThrow(invalid(/`minimumCall` is not a circuitBreaker.failureRate option/));
  });
});
