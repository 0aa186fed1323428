// No lost write or invalidation (CONSISTENCY.md, "After a shared tier outage"): what a shared tier
// could not take is recorded per key, replayed when it answers again, and only then announced.
import { Cache, CacheEntry, ManualClock, MemoryBus, MemoryBusHub } from "../src/index.js";
import type { CacheEvent, CacheTier } from "../src/index.js";
import { MockCache } from "@cachet/tier/testing";
import { PendingWrites } from "../src/pending-writes.js";
import { Connection, flush } from "./fixtures.js";

function instance(
  name: string,
  tier: CacheTier<string, string>,
  options: { clock: ManualClock; hub?: MemoryBusHub; breaker?: boolean },
) {
  const events: CacheEvent[] = [];
  let builder = Cache.builder<string, string>({ clock: options.clock })
    .name("users")
    .memory({ maxEntries: 1_000 })
    .ttl(60_000)
    .fallback(
      Cache.builder<string, string>()
        .storage(tier)
        .circuitBreaker(
          options.breaker === true ? { failureThreshold: 1, cooldown: 30_000, clock: options.clock } : false,
        ),
    )
    .onEvent((e) => events.push(e));
  if (options.hub !== undefined) builder = builder.bus(new MemoryBus(options.hub, name));
  return { cache: builder.build(), events };
}

function setup() {
  const clock = new ManualClock();
  const store = new MockCache<string, string>({ clock, name: "shared" });
  const hub = new MemoryBusHub();
  const linkA = new Connection(store);
  const a = instance("a", linkA, { clock, hub });
  const b = instance("b", new Connection(store), { clock, hub });
  return { clock, store, hub, linkA, a, b };
}

const types = (events: CacheEvent[]) => events.map((e) => e.type);

describe("a write a shared tier could not take", () => {
  test("invalidate resolves during the outage, is replayed on recovery, and only then announced", async () => {
    const { clock, store, linkA, a, b } = setup();
    await a.cache.insert("k", "v1");
    expect((await b.cache.get("k"))?.value).toBe("v1");
    b.events.length = 0;
    linkA.cut = true;
    await expect(a.cache.invalidate("k")).resolves.toBeUndefined();
    expect(types(a.events)).toContain("write_pending");
    expect(a.cache.stats().pendingWrites).toMatchObject({ pending: 1, recorded: 1, replayed: 0 });
    // Held back: had B heard the message now, it would have re-read v1 from the store.
    expect(types(b.events)).not.toContain("bus_received");
    expect(store.peek("k")?.value).toBe("v1");
    // The writer never serves what it removed, even from a store it cannot reach.
    expect(await a.cache.get("k")).toBeUndefined();

    let storeAtMessage: unknown = "not received";
    b.cache.on((e) => {
      if (e.type === "bus_received") storeAtMessage = store.peek("k");
    });
    linkA.cut = false;
    await clock.advanceAsync(500);
    await flush();
    expect(storeAtMessage).toBeUndefined();
    expect(store.peek("k")).toBeUndefined();
    expect(await b.cache.get("k")).toBeUndefined();
    expect(types(a.events)).toContain("write_replayed");
    expect(a.cache.stats().pendingWrites).toMatchObject({ pending: 0, recorded: 1, replayed: 1 });
    await a.cache.close();
    await b.cache.close();
  });

  test("insert resolves during the outage; the writer serves the new value; the fleet reads it after the heal", async () => {
    const { clock, store, linkA, a, b } = setup();
    await a.cache.insert("k", "v1");
    await b.cache.get("k");
    linkA.cut = true;
    await a.cache.insert("k", "v2");
    expect((await a.cache.get("k"))?.value).toBe("v2");
    expect(store.peek("k")?.value).toBe("v1");
    expect((await b.cache.get("k"))?.value).toBe("v1");
    linkA.cut = false;
    await clock.advanceAsync(500);
    await flush();
    expect(store.peek("k")?.value).toBe("v2");
    expect((await b.cache.get("k"))?.value).toBe("v2");
    await a.cache.close();
    await b.cache.close();
  });

  test("an owed insert of a key another instance wrote meanwhile is replayed as a removal, never over the newer value", async () => {
    const { clock, store, linkA, a, b } = setup();
    linkA.cut = true;
    await a.cache.insert("k", "v2"); // owed by A
    await b.cache.insert("k", "v3"); // B's write lands, and A hears it
    expect(store.peek("k")?.value).toBe("v3");
    linkA.cut = false;
    await clock.advanceAsync(500);
    await flush();
    // Without cross-process versions A cannot tell whose write is newer: it removes rather than
    // risk putting v2 over v3. Every reader then loads; nobody reads v2.
    expect(store.peek("k")).toBeUndefined();
    expect(await a.cache.get("k")).toBeUndefined();
    expect(await b.cache.get("k")).toBeUndefined();
    await a.cache.close();
    await b.cache.close();
  });

  test("the latest intent per key wins, and the replay starts at the first successful call to the tier", async () => {
    const { store, linkA, a } = setup();
    linkA.cut = true;
    await a.cache.insert("k", "v2");
    await a.cache.invalidate("k");
    await a.cache.insert("k", "v3");
    await a.cache.insert("j", "w");
    expect(a.cache.stats().pendingWrites.pending).toBe(2);
    linkA.cut = false;
    store.reset();
    // A read of another key reaches the tier: the replay follows at once, no timer needed.
    await a.cache.get("other");
    await flush();
    expect(store.peek("k")?.value).toBe("v3");
    expect(store.peek("j")?.value).toBe("w");
    expect(store.calls.filter((c) => c.op === "insert").map((c) => c.key)).toEqual(["k", "j"]);
    expect(a.cache.stats().pendingWrites).toMatchObject({ pending: 0, replayed: 2 });
    await a.cache.close();
  });

  test("a failed replay is retried with a growing delay until the tier answers", async () => {
    const { clock, store, linkA, a } = setup();
    linkA.cut = true;
    await a.cache.invalidate("k");
    await clock.advanceAsync(500); // attempt 1 fails
    await clock.advanceAsync(1_000); // attempt 2 fails
    expect(a.cache.stats().pendingWrites.pending).toBe(1);
    linkA.cut = false;
    store.reset();
    await clock.advanceAsync(1_999);
    expect(store.calls).toHaveLength(0);
    await clock.advanceAsync(1);
    await flush();
    expect(store.calls.map((c) => c.op)).toEqual(["invalidate"]);
    expect(a.cache.stats().pendingWrites.pending).toBe(0);
    await a.cache.close();
  });

  test("a write skipped by an open breaker is reported and recorded, and replayed after the cool-down", async () => {
    const clock = new ManualClock();
    const store = new MockCache<string, string>({ clock, name: "shared" });
    const link = new Connection(store);
    const { cache, events } = instance("a", link, { clock, breaker: true });
    link.cut = true;
    await cache.get("x"); // opens the breaker
    link.cut = false;
    await cache.insert("k", "v");
    const skipped = events.find((e) => e.type === "tier_skipped");
    expect(skipped?.operation).toBe("insert");
    expect(cache.stats().tiers[1]?.skipped).toBeGreaterThanOrEqual(1);
    expect(types(events)).toContain("write_pending");
    expect(store.peek("k")).toBeUndefined();
    // Retries back off to 8 s apart: the first one after the 30 s cool-down takes the write.
    await clock.advanceAsync(30_000 + 8_000);
    await flush();
    expect(store.peek("k")?.value).toBe("v");
    await cache.close();
  });

  test("clear and tag invalidations are recorded and replayed before their messages", async () => {
    const { clock, store, linkA, a, b } = setup();
    await a.cache.insert("t1", "x", { tags: ["team"] });
    await a.cache.insert("plain", "y");
    expect((await b.cache.get("t1"))?.value).toBe("x");
    b.events.length = 0;
    linkA.cut = true;
    await a.cache.invalidateTags(["team"]);
    expect(types(b.events)).not.toContain("bus_received");
    // The writer itself never serves the tagged entry.
    expect(await a.cache.get("t1")).toBeUndefined();
    await a.cache.clear();
    // A clear it owes: every read of the shared tier is a miss for the writer.
    expect(await a.cache.get("plain")).toBeUndefined();
    expect(store.peek("plain")?.value).toBe("y");
    linkA.cut = false;
    await clock.advanceAsync(500);
    await flush();
    expect(store.peek("plain")).toBeUndefined();
    expect(await b.cache.get("plain")).toBeUndefined();
    expect(await b.cache.get("t1")).toBeUndefined();
    expect(b.events.filter((e) => e.type === "bus_received")).toHaveLength(1);
    await a.cache.close();
    await b.cache.close();
  });

  test("close stops the retries: no timer is left and nothing is replayed after it", async () => {
    const { clock, store, linkA, a } = setup();
    linkA.cut = true;
    await a.cache.invalidate("k");
    await a.cache.close();
    linkA.cut = false;
    store.reset();
    await clock.advanceAsync(60_000);
    expect(store.calls).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe("the pending-writes queue", () => {
  const entry = (v: string) => new CacheEntry(v, { cachedAt: 0 });

  test("an earlier write that fails after a later one was issued is not recorded", () => {
    const queue = new PendingWrites<string, string>(10);
    const first = queue.begin({
      key: "k",
      entry: entry("1"),
      operation: "insert",
      notice: undefined,
      issuedAt: 0,
    });
    const second = queue.begin({
      key: "k",
      entry: entry("2"),
      operation: "insert",
      notice: undefined,
      issuedAt: 0,
    });
    queue.settle(second, "ok");
    expect(queue.settle(first, "failed")).toBeUndefined();
    expect(queue.pending).toBe(0);
    expect(queue.blocks("k")).toBe(false);
  });

  test("a refused value leaves the write it replaced owed", () => {
    const queue = new PendingWrites<string, string>(10);
    const removal = queue.begin({
      key: "k",
      entry: undefined,
      operation: "invalidate",
      notice: undefined,
      issuedAt: 0,
    });
    queue.settle(removal, "failed");
    const bad = queue.begin({
      key: "k",
      entry: entry("bad"),
      operation: "insert",
      notice: undefined,
      issuedAt: 0,
    });
    queue.settle(bad, "refused");
    expect(queue.failedIntents()).toEqual([removal]);
    expect(queue.blocks("k")).toBe(true);
  });

  test("past the bound the queue becomes one wipe, which blocks every read and holds no key", () => {
    const queue = new PendingWrites<string, string>(2);
    for (const key of ["a", "b", "c"]) {
      const intent = queue.begin({
        key,
        entry: undefined,
        operation: "invalidate",
        notice: undefined,
        issuedAt: 0,
      });
      queue.settle(intent, "failed");
    }
    expect(queue.wipe).toMatchObject({ overflow: true });
    expect(queue.failedIntents()).toEqual([]);
    expect(queue.pending).toBe(1);
    expect(queue.blocks("never-written")).toBe(true);
  });
});
