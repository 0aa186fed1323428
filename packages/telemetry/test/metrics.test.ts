import { CacheEntry, ManualClock, MemoryBus, MemoryBusHub, Cache } from "@cachet/core";
import { MockCache } from "@cachet/tier/testing";
import { cacheTelemetry } from "../src/index.js";
import { TestOtel } from "./fixtures/otel.js";
import { finish, scenario } from "./fixtures/cache.js";
import type { Scenario } from "./fixtures/cache.js";

// Each scenario drives a real two-tier cache (memory over a MockCache named "mock") with a
// ManualClock and reads the metrics back from the real OpenTelemetry SDK. Keys in eventCounts()
// read "<cache.activity> <cache.operation> <cache.tier or ->[ <error.type>]".

let s: Scenario | undefined;
afterEach(async () => {
  if (s !== undefined) await finish(s);
  s = undefined;
});

describe("cache.event.count", () => {
  it("counts an explicit insert and an L1 hit", async () => {
    s = scenario();
    await s.cache.insert("a", "1");
    expect(await s.cache.get("a")).toMatchObject({ value: "1" });

    expect(await s.otel.eventCounts()).toEqual({
      "inserted insert -": 1,
      "hit get memory": 1,
    });
    const [point] = await s.otel.points("cache.event.count");
    expect(point?.attributes["cache.name"]).toBe("users");
  });

  it("counts a miss in every tier, then a load", async () => {
    s = scenario();
    expect(await s.cache.get("k")).toBeUndefined();
    expect(await s.cache.getOrInsert("k", () => Promise.resolve("v"))).toBe("v");
    expect(await s.cache.getOrInsert("k", () => Promise.resolve("unused"))).toBe("v");

    expect(await s.otel.eventCounts()).toEqual({
      "miss get memory": 1,
      "miss getOrInsert memory": 1,
      "miss getOrInsert -": 1,
      "fallback get mock": 1,
      "miss get mock": 1,
      "miss get -": 1,
      "fallback getOrInsert mock": 1,
      "miss getOrInsert mock": 1,
      "loader_started getOrInsert -": 1,
      "loaded getOrInsert -": 1,
      "hit getOrInsert memory": 1,
    });
  });

  it("counts an L2 hit and the promotion into memory", async () => {
    s = scenario();
    const { clock, l2, cache } = s;
    await l2.insert("b", new CacheEntry("2", { cachedAt: clock.now(), ttl: 60_000 }));
    expect(await cache.get("b")).toMatchObject({ value: "2" });
    await clock.advanceAsync(0); // the promotion is written in the background
    expect(await cache.get("b")).toMatchObject({ value: "2" });

    expect(await s.otel.eventCounts()).toEqual({
      "miss get memory": 1,
      "fallback get mock": 1,
      "hit get mock": 1,
      "promotion get memory": 1,
      "hit get memory": 1,
    });
  });

  it("counts a time-to-refresh background refresh", async () => {
    s = scenario((b) => b.timeToRefresh(30_000));
    const { clock, cache } = s;
    await cache.getOrInsert("k", () => Promise.resolve("v1"));
    await clock.advanceAsync(31_000);
    expect(await cache.getOrInsert("k", () => Promise.resolve("v2"))).toBe("v1");
    await clock.advanceAsync(0);
    expect(await cache.getOrInsert("k", () => Promise.resolve("v3"))).toBe("v2");

    expect(await s.otel.eventCounts()).toEqual({
      "miss getOrInsert -": 1,
      "miss getOrInsert memory": 1,
      "fallback getOrInsert mock": 1,
      "miss getOrInsert mock": 1,
      "loader_started getOrInsert -": 2,
      "loaded getOrInsert -": 2,
      "refresh_started refresh -": 1,
      "refresh_hit refresh -": 1,
      "hit getOrInsert memory": 2,
    });
    expect(await s.otel.histogram("cache.loader.duration")).toEqual({
      "cache.name=users,cache.operation=getOrInsert": { count: 2, sum: 0 },
    });
  });

  it("counts a stale answer and its revalidation", async () => {
    s = scenario((b) => b.staleWhileRevalidate(30_000));
    const { clock, cache } = s;
    await cache.getOrInsert("k", () => Promise.resolve("v1"));
    await clock.advanceAsync(70_000); // past the ttl, inside the stale window
    expect(await cache.getOrInsert("k", () => Promise.resolve("v2"))).toBe("v1");
    await clock.advanceAsync(0);
    expect(await cache.getOrInsert("k", () => Promise.resolve("v3"))).toBe("v2");

    expect(await s.otel.eventCounts()).toEqual({
      "fallback getOrInsert mock": 2,
      "miss getOrInsert mock": 1,
      "expired getOrInsert mock": 1,
      "stale_served getOrInsert -": 1,
      "refresh_started refresh -": 1,
      "expired getOrInsert memory": 1,
      "miss getOrInsert -": 2,
      "miss getOrInsert memory": 1,
      "loader_started getOrInsert -": 2,
      "loaded getOrInsert -": 2,
      "refresh_hit refresh -": 1,
      "hit getOrInsert memory": 1,
    });
  });

  it("counts a tier failure with its error type, and the cache carries on", async () => {
    s = scenario();
    s.l2.failNext("get");
    expect(await s.cache.get("x")).toBeUndefined();

    expect(await s.otel.eventCounts()).toEqual({
      "miss get memory": 1,
      "fallback get mock": 1,
      "tier_error get mock TIER_FAILURE": 1,
      "miss get mock": 1,
      "miss get -": 1,
    });
    expect(await s.otel.histogram("cache.operation.duration")).toEqual({
      "cache.name=users,cache.operation=get,cache.tier=mock,error.type=TIER_FAILURE": { count: 1, sum: 0 },
    });
  });

  it("counts a loader failure with the error's name", async () => {
    s = scenario();
    const failing = s.cache.getOrInsert("k", async () => {
      await new Promise<void>((resolve) => s!.clock.setTimeout(resolve, 250));
      throw new TypeError("db down");
    });
    const rejected = expect(failing).rejects.toMatchObject({ code: "LOADER" });
    await s.clock.advanceAsync(250);
    await rejected;

    expect(await s.otel.eventCounts()).toEqual({
      "miss getOrInsert -": 1,
      "miss getOrInsert memory": 1,
      "fallback getOrInsert mock": 1,
      "miss getOrInsert mock": 1,
      "loader_started getOrInsert -": 1,
      "loader_failed getOrInsert - TypeError": 1,
    });
    expect(await s.otel.histogram("cache.loader.duration")).toEqual({
      "cache.name=users,cache.operation=getOrInsert,error.type=TypeError": { count: 1, sum: 0.25 },
    });
  });

  it("counts a fail-safe answer when the loader fails past the ttl", async () => {
    s = scenario((b) => b.failSafe({ maxStaleAge: 60_000, backoff: 5_000 }));
    const { clock, cache } = s;
    await cache.getOrInsert("k", () => Promise.resolve("v1"));
    await clock.advanceAsync(61_000);
    expect(await cache.getOrInsert("k", () => Promise.reject(new Error("db down")))).toBe("v1");
    await clock.advanceAsync(0);

    expect(await s.otel.eventCounts()).toEqual({
      "expired getOrInsert memory": 1,
      "miss getOrInsert -": 2,
      "miss getOrInsert memory": 1,
      "fallback getOrInsert mock": 2,
      "miss getOrInsert mock": 1,
      "expired getOrInsert mock": 1,
      "loader_started getOrInsert -": 2,
      "loaded getOrInsert -": 1,
      "loader_failed getOrInsert - Error": 1,
      "fail_safe getOrInsert - Error": 1,
      "stale_served getOrInsert -": 1,
    });
  });

  it("counts bus events: messages received and a reconnect that may have lost some", async () => {
    const hub = new MemoryBusHub();
    const busA = new MemoryBus(hub);
    const busB = new MemoryBus(hub);
    const a = Cache.builder<string, string>().name("users").memory({ maxEntries: 10 }).bus(busA).build();
    s = scenario((b) => b.bus(busB));
    try {
      await a.insert("x", "1");
      await a.invalidate("x");
      busB.simulateReconnect();

      expect(await s.otel.eventCounts()).toEqual({
        "bus_received bus -": 2,
        "bus_reconnected bus -": 1,
      });
    } finally {
      await a.close();
    }
  });

  it("counts tier errors until the breaker opens, then the breaker's state changes", async () => {
    // A breaker the cache builds from options reports its state changes as events.
    const clock = new ManualClock();
    const l2 = new MockCache<string, string>({ clock });
    const otel = new TestOtel();
    const cache = Cache.builder<string, string>({ clock })
      .name("users")
      .memory({ maxEntries: 100 })
      .fallback(
        Cache.builder<string, string>().storage(l2).circuitBreaker({ failureThreshold: 2, cooldown: 1_000 }),
      )
      .instrument(cacheTelemetry({ meter: otel.meter, clock }))
      .build();
    try {
      l2.failAll("get");
      for (let i = 0; i < 3; i++) expect(await cache.get("x")).toBeUndefined();
      expect(l2.calls.filter((c) => c.op === "get")).toHaveLength(2); // the third call was refused
      l2.heal();
      clock.advance(1_000);
      expect(await cache.get("x")).toBeUndefined(); // the probe succeeds: closed again

      expect(await otel.eventCounts()).toEqual({
        "miss get memory": 4,
        "fallback get mock": 4,
        "tier_error get mock TIER_FAILURE": 2,
        // The call made while the breaker was open is not an error, but it is reported.
        "tier_skipped get mock CIRCUIT_OPEN": 1,
        "breaker_open get mock": 1,
        "breaker_closed get mock": 1,
        "miss get mock": 4,
        "miss get -": 4,
      });
      expect(await otel.histogram("cache.operation.duration")).toEqual({
        "cache.name=users,cache.operation=get,cache.tier=mock,error.type=TIER_FAILURE": { count: 2, sum: 0 },
        "cache.name=users,cache.operation=get,cache.tier=mock": { count: 1, sum: 0 },
      });
    } finally {
      await cache.close();
      await otel.shutdown();
    }
  });
});

describe("cache.operation.duration", () => {
  it("times lower-tier calls with the telemetry clock, in seconds", async () => {
    s = scenario();
    const { clock, l2, cache } = s;
    l2.delay("get", 40);
    const pending = cache.get("k");
    await clock.advanceAsync(40);
    expect(await pending).toBeUndefined();
    l2.delay("insert", 15);
    const inserting = cache.insert("k", "v");
    await clock.advanceAsync(15);
    await inserting;

    expect(await s.otel.histogram("cache.operation.duration")).toEqual({
      "cache.name=users,cache.operation=get,cache.tier=mock": { count: 1, sum: 0.04 },
      "cache.name=users,cache.operation=insert,cache.tier=mock": { count: 1, sum: 0.015 },
    });
    const [metric] = [(await s.otel.metrics()).get("cache.operation.duration")];
    expect(metric?.descriptor.unit).toBe("s");
  });
});

describe("cache.loader.active and cache.loader.duration", () => {
  it("counts loaders in flight and records how long each ran", async () => {
    s = scenario();
    const { clock, cache } = s;
    let release!: (value: string) => void;
    const loading = cache.getOrInsert("k", () => new Promise<string>((resolve) => (release = resolve)));
    const joined = cache.getOrInsert("k", () => Promise.resolve("never"));
    await clock.advanceAsync(0);
    expect(await s.otel.values("cache.loader.active")).toEqual({
      "cache.name=users,cache.operation=getOrInsert": 1,
    });

    clock.advance(1_500);
    release("v");
    expect(await loading).toBe("v");
    expect(await joined).toBe("v");
    expect(await s.otel.values("cache.loader.active")).toEqual({
      "cache.name=users,cache.operation=getOrInsert": 0,
    });
    expect(await s.otel.histogram("cache.loader.duration")).toEqual({
      "cache.name=users,cache.operation=getOrInsert": { count: 1, sum: 1.5 },
    });
    expect((await s.otel.eventCounts())["coalesced getOrInsert -"]).toBe(1);
  });
});

describe("cache.size", () => {
  it("reports the first tier by default, never counting the shared one, and stops after close", async () => {
    s = scenario();
    const { cache, otel } = s;
    await cache.insert("a", "1");
    await cache.insert("b", "2");
    await cache.insert("c", "3");
    await cache.invalidate("c");

    expect(await otel.values("cache.size")).toEqual({ "cache.name=users,cache.tier=memory": 2 });
    expect((await otel.metrics()).get("cache.size")?.descriptor.unit).toBe("{entry}");
    await cache.close();
    const sizes = jest.spyOn(cache, "sizes");
    await otel.metrics();
    expect(sizes).not.toHaveBeenCalled(); // detached: no longer asked
  });

  it('with `sizes: "all"`, reports shared tiers too, counted at most once per sharedSizeMaxAge', async () => {
    s = scenario((b) => b, { sizes: "all", sharedSizeMaxAge: 60_000 });
    const { cache, otel, clock } = s;
    await cache.insert("a", "1");
    expect(await otel.values("cache.size")).toEqual({
      "cache.name=users,cache.tier=memory": 1,
      "cache.name=users,cache.tier=mock": 1,
    });
    await cache.insert("b", "2");
    const sizes = jest.spyOn(cache, "sizes");
    // Within the max age: the sample is reused, nothing is counted again.
    clock.advance(30_000);
    expect(await otel.values("cache.size")).toEqual({
      "cache.name=users,cache.tier=memory": 1,
      "cache.name=users,cache.tier=mock": 1,
    });
    expect(sizes).not.toHaveBeenCalled();
    // Past it: this scrape gets the old figure at once and refreshes in the background.
    clock.advance(30_000);
    await otel.metrics();
    expect(sizes).toHaveBeenCalledTimes(1);
    expect(await otel.values("cache.size")).toEqual({
      "cache.name=users,cache.tier=memory": 2,
      "cache.name=users,cache.tier=mock": 2,
    });
  });

  it("counts only what it reports when the cache can count one tier (sizeOf)", async () => {
    const otel = new TestOtel();
    let now = 0;
    const counted: number[] = [];
    const cache = {
      name: "c",
      tiers: ["memory", "redis"],
      sizes: jest.fn(() => Promise.resolve([0, 0])),
      sizeOf: (index: number) => {
        counted.push(index);
        return Promise.resolve(index === 0 ? 3 : 500_000);
      },
    };
    const first = cacheTelemetry({ meter: otel.meter, clock: { now: () => now } });
    first.attach(cache);
    expect(await otel.values("cache.size")).toEqual({ "cache.name=c,cache.tier=memory": 3 });
    expect(counted).toEqual([0]); // the shared tier is never counted by default
    first.detach(cache);

    counted.length = 0;
    const all = cacheTelemetry({
      meter: otel.meter,
      sizes: "all",
      sharedSizeMaxAge: "1m",
      clock: { now: () => now },
    });
    all.attach(cache);
    await otel.metrics();
    await otel.metrics();
    expect(counted).toEqual([0, 1, 0]); // the shared count is reused within a minute
    now += 60_000;
    expect(await otel.values("cache.size")).toEqual({
      "cache.name=c,cache.tier=memory": 3,
      "cache.name=c,cache.tier=redis": 500_000,
    });
    expect(counted).toEqual([0, 1, 0, 0, 1]);
    expect(cache.sizes).not.toHaveBeenCalled();
    await otel.shutdown();
  });

  it("removes exactly the detached cache's callback", async () => {
    const otel = new TestOtel();
    const telemetry = cacheTelemetry({ meter: otel.meter });
    const one = {
      name: "one",
      tiers: ["memory"],
      sizeOf: jest.fn(() => Promise.resolve(5)),
      sizes: jest.fn(),
    };
    const two = {
      name: "two",
      tiers: ["memory", "redis"],
      sizeOf: jest.fn(() => Promise.resolve(1)),
      sizes: jest.fn(),
    };
    telemetry.attach(one);
    telemetry.attach(one); // a second attach of the same cache is ignored
    telemetry.attach(two);
    expect(await otel.values("cache.size")).toEqual({
      "cache.name=one,cache.tier=memory": 5,
      "cache.name=two,cache.tier=memory": 1,
    });
    expect(one.sizeOf).toHaveBeenCalledTimes(1);

    telemetry.detach(one);
    await otel.metrics();
    expect(one.sizeOf).toHaveBeenCalledTimes(1);
    expect(two.sizeOf).toHaveBeenCalledTimes(2);
    await otel.shutdown();
  });
});
