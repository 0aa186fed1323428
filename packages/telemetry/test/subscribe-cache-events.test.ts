import { channel } from "node:diagnostics_channel";
import { CACHE_EVENT_CHANNEL as CORE_CHANNEL, Cache, ManualClock, hashKey } from "@cachet/core";
import { CACHE_EVENT_CHANNEL, cacheTelemetry, subscribeCacheEvents } from "../src/index.js";
import type { CacheEventLike } from "../src/index.js";
import { TestOtel } from "./fixtures/otel.js";

function plainCache(name: string, clock: ManualClock): Cache<string, string> {
  return Cache.builder<string, string>({ clock }).name(name).memory({ maxEntries: 10 }).ttl(1_000).build();
}

describe("subscribeCacheEvents", () => {
  it("uses the channel the core publishes on", () => {
    expect(CACHE_EVENT_CHANNEL).toBe(CORE_CHANNEL);
  });

  it("receives the events of every cache, none after unsubscribing", async () => {
    const clock = new ManualClock();
    const a = plainCache("a", clock);
    const b = plainCache("b", clock);
    const seen: CacheEventLike[] = [];
    const stop = subscribeCacheEvents((event) => seen.push(event));
    expect(channel(CACHE_EVENT_CHANNEL).hasSubscribers).toBe(true);

    await a.insert("k", "1");
    await b.get("k");
    expect(seen.map((e) => [e.cache, e.type, e.tier, e.operation, e.keyHash])).toEqual([
      ["a", "inserted", undefined, "insert", hashKey("k")],
      ["b", "miss", "memory", "get", hashKey("k")],
      ["b", "miss", undefined, "get", hashKey("k")],
    ]);
    expect(seen[0]!.key).toBeUndefined(); // raw keys only with .eventKeys(true)

    stop();
    stop(); // harmless
    expect(channel(CACHE_EVENT_CHANNEL).hasSubscribers).toBe(false);
    await a.get("k");
    expect(seen).toHaveLength(3);
    await a.close();
    await b.close();
  });

  it("swallows listener errors and ignores foreign messages", async () => {
    const clock = new ManualClock();
    const cache = plainCache("c", clock);
    const uncaught = jest.fn();
    process.on("uncaughtException", uncaught);
    const calls: string[] = [];
    const stopThrowing = subscribeCacheEvents(() => {
      throw new Error("listener bug");
    });
    const stop = subscribeCacheEvents((event) => calls.push(event.type));
    try {
      channel(CACHE_EVENT_CHANNEL).publish({ not: "an event" });
      channel(CACHE_EVENT_CHANNEL).publish("text");
      await cache.insert("k", "1");
      expect(await cache.get("k")).toMatchObject({ value: "1" });
      await new Promise((resolve) => setImmediate(resolve));
      expect(calls).toEqual(["inserted", "hit"]);
      expect(uncaught).not.toHaveBeenCalled();
    } finally {
      stop();
      stopThrowing();
      process.off("uncaughtException", uncaught);
      await cache.close();
    }
  });

  it("feeds cacheTelemetry's onEvent for caches built without .instrument()", async () => {
    const clock = new ManualClock();
    const otel = new TestOtel();
    const cache = plainCache("orders", clock);
    const stop = subscribeCacheEvents(cacheTelemetry({ meter: otel.meter }).onEvent);
    try {
      await cache.getOrInsert("k", () => Promise.resolve("v"));
      await cache.getOrInsert("k", () => Promise.resolve("v"));
      expect(await otel.eventCounts()).toEqual({
        "miss getOrInsert memory": 1,
        "miss getOrInsert -": 1,
        "loader_started getOrInsert -": 1,
        "loaded getOrInsert -": 1,
        "hit getOrInsert memory": 1,
      });
    } finally {
      stop();
      await cache.close();
      await otel.shutdown();
    }
  });

  it("rejects a listener that is not a function", () => {
    expect(() => subscribeCacheEvents("nope" as never)).toThrow("`listener` must be a function");
  });
});
