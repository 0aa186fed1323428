// What the cache tells its tiers when it is built (`attach`), and what a tier's `onReady` signal
// does to the tier's circuit breaker.
import { CacheError } from "@cachet/tier";
import type { CacheTier, TierAttachContext } from "@cachet/tier";
import { thrownCacheError } from "@cachet/test-utils";
import { Cache, ManualClock, MemoryTier } from "../src/index.js";

/** A memory tier that records `attach` calls, can be switched off, and has an `onReady` signal. */
function hookedTier(clock: ManualClock, refuse?: string) {
  const inner = new MemoryTier<string, string>({ maxEntries: 100, clock, name: "shared" });
  const attached: TierAttachContext[] = [];
  const listeners = new Set<() => void>();
  const state = { down: false, gets: 0 };
  const fail = () => Promise.reject(new Error("backend down"));
  const tier: CacheTier<string, string> = {
    name: "shared",
    attach(context) {
      if (refuse !== undefined && context.cacheName === refuse) {
        throw new CacheError("INVALID_OPTION", `refusing cache "${refuse}"`);
      }
      attached.push(context);
    },
    onReady(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get: (key) => {
      state.gets++;
      return state.down ? fail() : inner.get(key);
    },
    insert: (key, entry) => (state.down ? fail() : inner.insert(key, entry)),
    invalidate: (key) => (state.down ? fail() : inner.invalidate(key)),
    clear: () => (state.down ? fail() : inner.clear()),
  };
  return { tier, attached, listeners, state };
}

describe("tier hooks", () => {
  it("build() attaches every tier with the cache's name, before any call", async () => {
    const clock = new ManualClock();
    const { tier, attached, state } = hookedTier(clock);
    const named = Cache.builder<string, string>({ clock })
      .name("users")
      .memory({ maxEntries: 10 })
      .fallback(Cache.builder<string, string>().storage(tier, { close: false }))
      .build();
    expect(attached).toEqual([{ cacheName: "users", isNamed: true }]);
    expect(state.gets).toBe(0);
    await named.close();
    const unnamed = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .fallback(Cache.builder<string, string>().storage(tier, { close: false }))
      .build();
    expect(attached[1]).toEqual({ cacheName: "cache", isNamed: false });
    await unnamed.close();
  });

  it("a tier that refuses the cache makes build() throw its INVALID_OPTION", () => {
    const clock = new ManualClock();
    const { tier } = hookedTier(clock, "orders");
    const error = thrownCacheError(() =>
      Cache.builder<string, string>({ clock })
        .name("orders")
        .memory({ maxEntries: 10 })
        .fallback(Cache.builder<string, string>().storage(tier))
        .build(),
    );
    expect(error.code).toBe("INVALID_OPTION");
    expect(error.message).toMatch(/refusing cache "orders"/);
  });

  it("onReady makes an open breaker probe at once, without waiting out the cool-down", async () => {
    const clock = new ManualClock();
    const { tier, listeners, state } = hookedTier(clock);
    const cache = Cache.builder<string, string>({ clock })
      .name("users")
      .memory({ maxEntries: 10 })
      .fallback(
        Cache.builder<string, string>()
          .storage(tier, { close: false })
          .circuitBreaker({ failureThreshold: 2, cooldown: "1h" }),
      )
      .build();
    expect(listeners.size).toBe(1);
    state.down = true;
    await cache.get("a");
    await cache.get("b");
    const callsWhenOpen = state.gets;
    await cache.get("c"); // open: the tier is skipped
    expect(state.gets).toBe(callsWhenOpen);
    state.down = false;
    for (const listener of listeners) listener(); // the client says it is ready again
    await cache.get("d"); // half-open: one probe goes through, and succeeds
    expect(state.gets).toBe(callsWhenOpen + 1);
    await cache.get("e"); // closed again
    expect(state.gets).toBe(callsWhenOpen + 2);
    await cache.close();
    expect(listeners.size).toBe(0); // close() unsubscribes
  });
});
