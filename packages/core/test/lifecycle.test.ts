import { Cache, ManualClock, MemoryBus, MemoryBusHub, MockCache } from "../src/index.js";

describe("lifecycle", () => {
  it("building and closing 1,000 caches leaves no timers, handles or bus subscriptions behind", async () => {
    const clock = new ManualClock();
    const hub = new MemoryBusHub();
    const bus = new MemoryBus(hub);
    const peer = new MemoryBus(hub);
    const before = process.getActiveResourcesInfo().length;
    let events = 0;
    for (let i = 0; i < 1_000; i++) {
      const cache = Cache.builder<string, number>({ clock })
        .name("c")
        .memory({ maxEntries: 10 })
        .ttl(1_000)
        .fallback(Cache.builder<string, number>().storage(new MockCache({ clock })).tierTimeout(500))
        .timeToRefresh(500)
        .staleWhileRevalidate(1_000)
        .timeouts({ soft: 50, hard: 200 })
        .failSafe({ maxStaleAge: 5_000 })
        .bus(bus)
        .onEvent(() => events++)
        .build();
      await cache.getOrInsert("a", () => i);
      await cache.insert("b", i);
      // A load still running when the cache closes.
      const pending = cache.getOrInsert("slow", () => new Promise<number>(() => {})).catch(() => "closed");
      await cache.close();
      expect(await pending).toBe("closed");
    }
    expect(clock.pendingTimers).toBe(0);
    expect(process.getActiveResourcesInfo().length).toBeLessThanOrEqual(before);
    // Closed caches no longer listen: a message from a peer reaches no handler and no listener.
    const seen = events;
    await peer.publish({ type: "clear", cache: "c" });
    expect(events).toBe(seen);
    expect(hub.published.length).toBeGreaterThanOrEqual(1_000);
  });
});
