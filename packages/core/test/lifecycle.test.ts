import { MockCache } from "@cachet/tier/testing";
import { Cache, ManualClock, MemoryBus, MemoryBusHub, systemClock } from "../src/index.js";
import type { BusReconnectInfo, CacheBus, CacheBusMessage, Clock } from "../src/index.js";

/** A bus that counts its live subscriptions, so a test can see whether a closed cache still listens. */
class CountingBus implements CacheBus {
  subscriptions = 0;
  constructor(private readonly inner: MemoryBus) {}
  get instanceId(): string {
    return this.inner.instanceId;
  }
  publish(message: CacheBusMessage): Promise<void> {
    return this.inner.publish(message);
  }
  subscribe(handler: (message: CacheBusMessage) => void): () => void {
    return this.#counted(this.inner.subscribe(handler));
  }
  onReconnect(handler: (info: BusReconnectInfo) => void): () => void {
    return this.#counted(this.inner.onReconnect(handler));
  }
  #counted(unsubscribe: () => void): () => void {
    this.subscriptions++;
    let live = true;
    return () => {
      if (live) this.subscriptions--;
      live = false;
      unsubscribe();
    };
  }
}

/**
 * The system clock, counting the real timers set through it and not yet cleared or fired. (The
 * system clock `unref`s its timers, so `process.getActiveResourcesInfo()` never lists them: a count
 * of active resources could not change, whatever the cache leaked.)
 */
function countingSystemClock(): Clock & { readonly pending: number } {
  const live = new Set<unknown>();
  return {
    now: () => systemClock.now(),
    setTimeout(callback: () => void, ms: number): unknown {
      const handle: unknown = systemClock.setTimeout(() => {
        live.delete(handle);
        callback();
      }, ms);
      live.add(handle);
      return handle;
    },
    clearTimeout(handle: unknown): void {
      live.delete(handle);
      systemClock.clearTimeout(handle);
    },
    get pending() {
      return live.size;
    },
  };
}

describe("lifecycle", () => {
  it("building and closing 1,000 caches leaves no timers, handles or bus subscriptions behind", async () => {
    const clock = new ManualClock();
    const hub = new MemoryBusHub();
    const bus = new CountingBus(new MemoryBus(hub));
    const peer = new MemoryBus(hub);
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
      // The count is live: an open cache holds subscriptions (messages, reconnects).
      expect(bus.subscriptions).toBeGreaterThan(0);
      await cache.getOrInsert("a", () => i);
      await cache.insert("b", i);
      // A load still running when the cache closes.
      const pending = cache.getOrInsert("slow", () => new Promise<number>(() => {})).catch(() => "closed");
      await cache.close();
      expect(await pending).toBe("closed");
      expect(bus.subscriptions).toBe(0);
    }
    expect(clock.pendingTimers).toBe(0);
    // Closed caches no longer listen: a message from a peer reaches no handler and no listener.
    const seen = events;
    await peer.publish({ type: "clear", cache: "c" });
    expect(events).toBe(seen);
    expect(bus.subscriptions).toBe(0);
    expect(hub.published.length).toBeGreaterThanOrEqual(1_000);
  });

  it("closing caches on the system clock clears the real timers their loads and tier calls set", async () => {
    // The one place real timers are needed: the check is that close() clears them. They are an
    // hour long, so none fires during the test; nothing waits on time.
    const clock = countingSystemClock();
    for (let i = 0; i < 50; i++) {
      const cache = Cache.builder<string, number>({ clock })
        .memory({ maxEntries: 10 })
        .fallback(Cache.builder<string, number>().storage(new MockCache({ clock })).tierTimeout(3_600_000))
        .timeouts({ hard: 3_600_000 })
        .build();
      let loaderStarted!: () => void;
      const started = new Promise<void>((resolve) => (loaderStarted = resolve));
      const pending = cache
        .getOrInsert("slow", () => {
          loaderStarted();
          return new Promise<number>(() => {});
        })
        .catch(() => "closed");
      await started;
      // The count is live: the running loader's hard timeout is a real timer.
      expect(clock.pending).toBeGreaterThan(0);
      await cache.close();
      expect(await pending).toBe("closed");
      expect(clock.pending).toBe(0);
    }
  });
});
