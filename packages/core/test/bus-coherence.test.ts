// Coherence between instances over an invalidation bus (MemoryBus here; RedisBus in @cachet/redis).
import { Cache, ManualClock, MemoryBus, MemoryBusHub } from "../src/index.js";
import type { CacheEvent } from "../src/index.js";
import { fleet, flush } from "./fixtures.js";

describe("invalidation bus", () => {
  it("after A inserts, B's L1 copy is expired and B reads the new value from L2", async () => {
    const { a, b } = fleet();
    await a.insert("k", "v1");
    expect((await b.get("k"))?.value).toBe("v1"); // B promotes v1 into its L1
    await a.insert("k", "v2");
    expect((await b.get("k"))?.value).toBe("v2");
  });

  it("after A invalidates, B misses even with stale-while-revalidate on", async () => {
    const { a, b } = fleet({ swr: 30_000, failSafe: true });
    await a.insert("k", "v1");
    await b.get("k");
    await a.invalidate("k");
    expect(await b.get("k")).toBeUndefined();
  });

  it("keeps B's expired copy for fail-safe: a failing loader on B serves it", async () => {
    const { a, b, shared } = fleet({ failSafe: true });
    await a.insert("k", "v1");
    await b.get("k");
    shared.failing = true; // L2 down: A's invalidation reached the bus, L2 is unreachable
    await a.invalidate("k");
    expect(await b.getOrInsert("k", () => Promise.reject(new Error("db down")))).toBe("v1");
  });

  it("an instance ignores its own messages and messages carry keys, never values", async () => {
    const { a, hub } = fleet();
    await a.insert("k", "secret value");
    expect(hub.published).toEqual([{ from: "a", message: { type: "set", cache: "users", keys: ["k"] } }]);
    expect((await a.get("k"))?.value).toBe("secret value");
  });

  it("clear on A empties B's L1", async () => {
    const { a, b, shared } = fleet();
    await b.insert("x", "1");
    const gets = shared.gets;
    await a.clear();
    expect(await b.get("x")).toBeUndefined();
    expect(shared.gets).toBe(gets + 1);
  });

  it("a reconnect that may have lost messages clears L1 and is reported", async () => {
    const clock = new ManualClock();
    const hub = new MemoryBusHub();
    const bus = new MemoryBus(hub);
    const events: CacheEvent[] = [];
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .bus(bus)
      .onEvent((e) => events.push(e))
      .build();
    await cache.insert("k", "v");
    bus.simulateReconnect({ mayHaveMissedMessages: false });
    expect((await cache.get("k"))?.value).toBe("v");
    bus.simulateReconnect({ mayHaveMissedMessages: true });
    await flush();
    expect(await cache.get("k")).toBeUndefined();
    expect(events.filter((e) => e.type === "bus_reconnected")).toHaveLength(2);
  });

  it("a thousand keys invalidated in a burst all arrive", async () => {
    const { a, b } = fleet();
    const keys = Array.from({ length: 1_000 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k) => a.insert(k, "old")));
    await Promise.all(keys.map((k) => b.get(k)));
    await Promise.all(keys.map((k) => a.invalidate(k)));
    const seen = await Promise.all(keys.map((k) => b.get(k)));
    expect(seen.filter((e) => e !== undefined)).toEqual([]);
  });
});
