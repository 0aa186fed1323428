import {
  Cache,
  CacheEntry,
  ManualClock,
  MemoryBus,
  MemoryBusHub,
  MemoryTier,
  isCacheError,
} from "../src/index.js";
import type { CacheEvent, DistributedLock, LockLease } from "../src/index.js";
import { CountingTier, deferred, flush } from "./fixtures.js";

/** Two instances (each its own L1) over one shared L2, connected by an in-process bus. */
function fleet(options: { failSafe?: boolean; swr?: number } = {}) {
  const clock = new ManualClock();
  const shared = new CountingTier<string>(clock, "shared");
  const hub = new MemoryBusHub();
  const events: Record<string, CacheEvent[]> = { a: [], b: [] };
  const make = (name: "a" | "b") => {
    let builder = Cache.builder<string, string>({ clock })
      .name("users")
      .memory({ maxEntries: 1_000 })
      .ttl(60_000)
      .fallback(Cache.builder<string, string>().storage(shared).circuitBreaker(false))
      .bus(new MemoryBus(hub, name))
      .onEvent((e) => events[name]!.push(e));
    if (options.failSafe) builder = builder.failSafe({ maxStaleAge: 600_000 });
    if (options.swr !== undefined) builder = builder.staleWhileRevalidate(options.swr);
    return builder.build();
  };
  return { clock, shared, hub, a: make("a"), b: make("b"), events };
}

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

describe("tags", () => {
  it("invalidateTags makes tagged entries a miss in every tier and instance, untagged ones stay", async () => {
    const { a, b } = fleet();
    await a.insert("t1", "x", { tags: ["team:7"] });
    await a.insert("t2", new CacheEntry("y", { tags: ["team:7", "other"] }));
    await a.insert("plain", "z");
    await b.get("t1");
    await a.invalidateTags(["team:7"]);
    for (const cache of [a, b]) {
      expect(await cache.get("t1")).toBeUndefined();
      expect(await cache.get("t2")).toBeUndefined();
      expect((await cache.get("plain"))?.value).toBe("z");
    }
    // A new entry with the tag, written after the invalidation, is valid.
    await a.insert("t1", "new", { tags: ["team:7"] });
    expect((await b.get("t1"))?.value).toBe("new");
  });

  it("a second invalidation in the same millisecond covers entries written since the first", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, string>({ clock }).memory({ maxEntries: 10 }).build();
    const users = cache.namespace("users");
    await users.insert("a", "1");
    await users.clear();
    await users.insert("a", "2"); // same millisecond: stamped just after the first clear
    await users.clear();
    expect(await users.get("a")).toBeUndefined();
    await users.insert("a", "3");
    expect((await users.get("a"))?.value).toBe("3");
    // The same after the clock steps back (a wall clock corrected by NTP).
    clock.set(clock.now() - 1_000);
    await users.insert("b", "4");
    await users.clear();
    expect(await users.get("b")).toBeUndefined();
    await cache.close();
  });

  it("getMany treats a lower tier's entry cached before a tag invalidation as a miss, like get", async () => {
    const clock = new ManualClock();
    const shared = new MemoryTier<string, string>({ maxEntries: 100, clock, name: "shared" });
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .fallback(Cache.builder<string, string>().storage(shared, { close: false }))
      .build();
    await cache.insert("old", "x", { tags: ["t"] });
    await cache.insert("plain", "y");
    clock.advance(1);
    await cache.invalidateTags(["t"]);
    await cache.insert("new", "z", { tags: ["t"] });
    expect((await cache.getMany(["old", "plain", "new"])).map((e) => e?.value)).toEqual([
      undefined,
      "y",
      "z",
    ]);
    // With L1 emptied, the answers come from the shared tier and must be the same.
    await cache.close();
    const fresh = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .fallback(Cache.builder<string, string>().storage(shared, { close: false }))
      .build();
    expect((await fresh.getMany(["old", "plain", "new"])).map((e) => e?.value)).toEqual([
      undefined,
      "y",
      "z",
    ]);
    expect(await fresh.get("old")).toBeUndefined();
    await fresh.close();
  });

  it("an instance started after invalidateTags honours it through the marker in the shared tier", async () => {
    const clock = new ManualClock();
    const shared = new MemoryTier<string, string>({ maxEntries: 100, clock, name: "shared" });
    const build = () =>
      Cache.builder<string, string>({ clock })
        .name("c")
        .memory({ maxEntries: 10 })
        .ttl(60_000)
        .fallback(Cache.builder<string, string>().storage(shared))
        .build();
    const first = build();
    await first.insert("k", "v", { tags: ["t"] });
    clock.advance(1);
    await first.invalidateTags(["t"]);
    const late = build();
    expect(await late.get("k")).toBeUndefined();
    expect(await late.getOrInsert("k", () => "fresh", { tags: ["t"] })).toBe("fresh");
  });

  it("expireTags marks entries stale: fail-safe can still serve them, a working loader replaces them", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .ttl(60_000)
      .failSafe({ maxStaleAge: 60_000 })
      .build();
    await cache.insert("k", "old", { tags: ["t"] });
    clock.advance(1);
    await cache.expireTags(["t"]);
    expect(await cache.getOrInsert("k", () => Promise.reject(new Error("down")))).toBe("old");
    clock.advance(10_000); // past the fail-safe backoff
    expect(await cache.getOrInsert("k", () => "new")).toBe("new");
  });

  it("a load in flight when its tag is invalidated does not write back", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, string>({ clock }).memory({ maxEntries: 10 }).build();
    const gate = deferred<string>();
    const load = cache.getOrInsert("k", () => gate.promise, { tags: ["t"] });
    await flush();
    await cache.invalidateTags(["t"]);
    gate.resolve("old");
    expect(await load).toBe("old");
    expect(await cache.get("k")).toBeUndefined();
  });

  it("rejects invalid tag lists", async () => {
    const { a } = fleet();
    const error = await a.invalidateTags(["ok", ""]).catch((e: unknown) => e);
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
  });
});

describe("namespaces", () => {
  it("prefixes keys and clears only its own entries, in every instance", async () => {
    const { a, b, shared } = fleet();
    const usersA = a.namespace("users");
    const usersB = b.namespace("users");
    const orders = a.namespace("orders");
    await usersA.insert("1", "ada");
    await orders.insert("1", "order");
    expect((await shared.inner.get("users:1"))?.value).toBe("ada");
    expect((await usersB.get("1"))?.value).toBe("ada");
    await usersA.clear();
    expect(await usersA.get("1")).toBeUndefined();
    expect(await usersB.get("1")).toBeUndefined();
    expect((await orders.get("1"))?.value).toBe("order");
    expect(await usersA.getOrInsert("1", (id) => `reloaded ${id}`)).toBe("reloaded 1");
  });

  it("clear() also forgets absences remembered in the namespace (negative caching)", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .negativeTtl(60_000)
      .build();
    const users = cache.namespace("users");
    let calls = 0;
    expect(await users.optionallyGetOrInsert("u", () => (calls++, undefined))).toBeUndefined();
    expect(await users.optionallyGetOrInsert("u", () => (calls++, undefined))).toBeUndefined();
    expect(calls).toBe(1);
    clock.advance(1);
    await users.clear();
    expect(await users.optionallyGetOrInsert("u", () => (calls++, "found"))).toBe("found");
    expect(calls).toBe(2);
  });

  it("nested namespaces are cleared with their parent", async () => {
    const { a } = fleet();
    const tenant = a.namespace("tenant-1");
    const users = tenant.namespace("users");
    await users.insert("u", "x");
    expect(users.keyOf("u")).toBe("tenant-1:users:u");
    await tenant.clear();
    expect(await users.get("u")).toBeUndefined();
  });

  it("rejects a name with a separator", () => {
    const { a } = fleet();
    expect(() => a.namespace("a:b")).toThrow(/`namespace`/);
  });
});

/** An in-process lock with leases on the test clock, standing in for RedisLock. */
class FakeLock implements DistributedLock {
  readonly #held = new Map<string, { token: string; until: number }>();
  #next = 0;
  acquired = 0;
  down = false;
  constructor(private readonly clock: ManualClock) {}
  tryAcquire(key: string, lease: number): Promise<LockLease | undefined> {
    if (this.down) return Promise.reject(new Error("lock service down"));
    const held = this.#held.get(key);
    if (held && held.until > this.clock.now()) return Promise.resolve(undefined);
    const token = String(++this.#next);
    this.#held.set(key, { token, until: this.clock.now() + lease });
    this.acquired++;
    return Promise.resolve({ key, token });
  }
  release(lease: LockLease): Promise<void> {
    if (this.#held.get(lease.key)?.token === lease.token) this.#held.delete(lease.key);
    return Promise.resolve();
  }
}

describe("distributed stampede protection", () => {
  function processes(count: number, lock: FakeLock, clock: ManualClock, shared: CountingTier<string>) {
    return Array.from({ length: count }, (_, i) =>
      Cache.builder<string, string>({ clock })
        .name("fleet")
        .memory({ maxEntries: 100 })
        .ttl(60_000)
        .fallback(Cache.builder<string, string>().storage(shared).circuitBreaker(false))
        .distributedStampedeProtection({ lock, lease: 5_000, pollInterval: 50 })
        .onEvent(() => void i)
        .build(),
    );
  }

  it("runs the loader once across processes; the others read its result from the shared tier", async () => {
    const clock = new ManualClock();
    const shared = new CountingTier<string>(clock, "shared");
    const lock = new FakeLock(clock);
    const fleetCaches = processes(4, lock, clock, shared);
    let loads = 0;
    const loader = () =>
      new Promise<string>((resolve) => {
        loads++;
        clock.setTimeout(() => resolve("v"), 120);
      });
    const calls = fleetCaches.flatMap((cache) =>
      Array.from({ length: 25 }, () => cache.getOrInsert("k", loader)),
    );
    for (let i = 0; i < 10; i++) await clock.advanceAsync(50);
    expect(await Promise.all(calls)).toEqual(calls.map(() => "v"));
    expect(loads).toBe(1);
    expect(lock.acquired).toBe(1);
  });

  it("loads locally when the lock service is down", async () => {
    const clock = new ManualClock();
    const shared = new CountingTier<string>(clock, "shared");
    const lock = new FakeLock(clock);
    lock.down = true;
    const [cache] = processes(1, lock, clock, shared);
    expect(await cache!.getOrInsert("k", () => "local")).toBe("local");
  });

  it("validates its options", () => {
    const lock = new FakeLock(new ManualClock());
    expect(() =>
      Cache.builder().memory({ maxEntries: 1 }).distributedStampedeProtection({ lock }).build(),
    ).toThrow(/needs a fallback tier/);
    expect(() =>
      Cache.builder()
        .memory({ maxEntries: 1 })
        .fallback(Cache.builder().memory({ maxEntries: 1 }))
        .timeouts({ hard: 1_000 })
        .distributedStampedeProtection({ lock, lease: 5_000 })
        .build(),
    ).toThrow(/must not exceed `timeouts.hard`/);
  });
});
