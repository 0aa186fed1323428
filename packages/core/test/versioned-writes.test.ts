// Conditional writes (CONSISTENCY.md, "Across processes, with conditional writes"): work based on
// an old read (a load, a refresh, SWR, a promotion, a batch load, a replay) never lands over a
// newer write or invalidation made by another process, even without a bus. Two caches over one
// MockCache with the conditional-writes capability stand in for two processes on one Redis.
import { Cache, CacheEntry, ManualClock } from "../src/index.js";
import type { CacheEvent, CacheTier } from "../src/index.js";
import { MockCache } from "@cachet/tier/testing";
import { thrownCacheError } from "@cachet/test-utils";
import { Connection, deferred, flush } from "./fixtures.js";

type Builder = ReturnType<typeof Cache.builder<string, string>>;

function instance(tier: CacheTier<string, string>, clock: ManualClock, configure: (b: Builder) => Builder) {
  const events: CacheEvent[] = [];
  const builder = Cache.builder<string, string>({ clock })
    .name("users")
    .memory({ maxEntries: 1_000 })
    .ttl(60_000)
    .fallback(Cache.builder<string, string>().storage(tier).circuitBreaker(false))
    .onEvent((e) => events.push(e));
  return { cache: configure(builder).build(), events };
}

/** Processes A, B and a fresh C over one store, no bus. */
function setup(options: { conditional?: boolean; configure?: (b: Builder) => Builder } = {}) {
  const clock = new ManualClock(1_000_000);
  const store = new MockCache<string, string>({
    clock,
    name: "shared",
    ...(options.conditional === false ? {} : { conditionalWrites: { tombstoneTtl: 60_000 } }),
  });
  const configure = options.configure ?? ((b: Builder) => b);
  const linkA = new Connection(store);
  const a = instance(linkA, clock, configure);
  const b = instance(new Connection(store), clock, configure);
  const fresh = () => instance(new Connection(store), clock, configure);
  return { clock, store, linkA, a, b, fresh };
}

const types = (events: CacheEvent[]) => events.map((e) => e.type);

/** Starts `cache.getOrInsert(key)` with a loader that returns `value` when released. */
function gatedLoad(cache: Cache<string, string>, key: string, value: string) {
  const started = deferred();
  const release = deferred();
  const answer = cache.getOrInsert(key, async () => {
    started.resolve();
    await release.promise;
    return value;
  });
  return { started: started.promise, release: () => release.resolve(), answer };
}

describe("a load racing another process's write, without a bus", () => {
  test("a load that began before B's insert answers its caller but leaves B's value in the store, in A and in a fresh instance", async () => {
    const { store, a, b, fresh } = setup();
    const load = gatedLoad(a.cache, "k", "old");
    await load.started;
    await b.cache.insert("k", "new");
    load.release();
    await expect(load.answer).resolves.toBe("old");
    await flush();
    expect((await store.get("k"))?.value).toBe("new");
    expect(types(a.events)).toContain("write_refused");
    expect(a.cache.stats().tiers[1]).toMatchObject({ name: "shared", refused: 1 });
    // A took back its L1 copy of the refused value.
    expect((await a.cache.get("k"))?.value).toBe("new");
    expect((await fresh().cache.get("k"))?.value).toBe("new");
    expect(await a.cache.getOrInsert("k", async () => "loaded again")).toBe("new");
  });

  test("a load that began before B's invalidate does not bring the value back (tombstone)", async () => {
    const { store, a, b, fresh } = setup();
    const race = gatedLoad(a.cache, "k", "old");
    await race.started;
    await b.cache.invalidate("k");
    race.release();
    await expect(race.answer).resolves.toBe("old");
    await flush();
    expect(await store.get("k")).toBeUndefined();
    expect(types(a.events)).toContain("write_refused");
    expect(await a.cache.get("k")).toBeUndefined();
    expect(await fresh().cache.get("k")).toBeUndefined();
  });

  test("a load that outlives the tombstone of an invalidation after its read is still refused (expired token)", async () => {
    const { clock, store, a, b, fresh } = setup();
    const race = gatedLoad(a.cache, "k", "old");
    await race.started;
    await b.cache.invalidate("k");
    clock.advance(61_000); // past the 60 s tombstone: the key is absent again
    race.release();
    await expect(race.answer).resolves.toBe("old");
    await flush();
    expect(await store.get("k")).toBeUndefined();
    expect(a.cache.stats().tiers[1]!.refused).toBe(1);
    expect(await fresh().cache.get("k")).toBeUndefined();
  });

  test("a tier without conditional writes gives this up: the older load overwrites B's insert (the documented limit)", async () => {
    const { store, a, b } = setup({ conditional: false });
    const load = gatedLoad(a.cache, "k", "old");
    await load.started;
    await b.cache.insert("k", "new");
    load.release();
    await load.answer;
    await flush();
    expect((await store.get("k"))?.value).toBe("old");
    expect(types(a.events)).not.toContain("write_refused");
  });

  test("a load whose versioned read failed does not write the shared tier back", async () => {
    const { store, linkA, a } = setup();
    linkA.cut = true;
    const load = gatedLoad(a.cache, "k", "loaded");
    await load.started;
    linkA.cut = false;
    load.release();
    await expect(load.answer).resolves.toBe("loaded");
    await flush();
    expect(store.calls.filter((c) => c.op === "insertIfVersion" || c.op === "insert")).toEqual([]);
    expect(await store.get("k")).toBeUndefined();
  });
});

describe("what reads cost with conditional writes", () => {
  test("`get`'s L2 hit is a plain get; a load's read is the versioned read, one call, and its write-back one conditional write", async () => {
    const { store, a, b } = setup();
    await b.cache.insert("k", "v");
    store.reset();
    expect((await a.cache.get("k"))?.value).toBe("v");
    expect(store.calls.map((c) => c.op)).toEqual(["get"]);
    store.reset();
    expect(await b.cache.getOrInsert("m", async () => "loaded")).toBe("loaded");
    await flush();
    expect(store.calls.map((c) => c.op)).toEqual(["getVersioned", "insertIfVersion"]);
    store.reset();
    expect(await a.cache.getOrInsert("m", async () => "never")).toBe("loaded");
    expect(store.calls.map((c) => c.op)).toEqual(["getVersioned"]);
  });
});

describe("background work racing another process's write", () => {
  test("a refresh by the loader (time-to-refresh) that began before B's insert is refused", async () => {
    const { clock, store, a, b } = setup({ configure: (builder) => builder.timeToRefresh(10_000) });
    await a.cache.insert("k", "v1");
    clock.advance(11_000);
    const release = deferred();
    const started = deferred();
    // An L1 hit that is due: answers v1 and refreshes in the background.
    expect(
      await a.cache.getOrInsert("k", async () => {
        started.resolve();
        await release.promise;
        return "refreshed-old";
      }),
    ).toBe("v1");
    await started.promise;
    await b.cache.insert("k", "v2");
    release.resolve();
    await flush();
    await flush();
    expect((await store.get("k"))?.value).toBe("v2");
    expect(a.cache.stats().tiers[1]!.refused).toBe(1);
    expect((await a.cache.get("k"))?.value).toBe("v2");
  });

  test("a stale-while-revalidate load that began before B's insert is refused", async () => {
    const { clock, store, a, b } = setup({
      configure: (builder) => builder.staleWhileRevalidate(30_000),
    });
    await a.cache.insert("k", "v1");
    clock.advance(61_000); // expired, within the SWR window
    const release = deferred();
    const started = deferred();
    expect(
      await a.cache.getOrInsert("k", async () => {
        started.resolve();
        await release.promise;
        return "revalidated-old";
      }),
    ).toBe("v1");
    await started.promise;
    await b.cache.insert("k", "v2");
    release.resolve();
    await flush();
    expect((await store.get("k"))?.value).toBe("v2");
    expect(a.cache.stats().tiers[1]!.refused).toBe(1);
  });

  test("a batch load (getOrInsertMany) that began before B's insert leaves B's value", async () => {
    const { store, a, b } = setup();
    const release = deferred();
    const started = deferred();
    const answer = a.cache.getOrInsertMany(["k1", "k2"], async (keys) => {
      started.resolve();
      await release.promise;
      return new Map(keys.map((key) => [key, `old ${key}`]));
    });
    await started.promise;
    await b.cache.insert("k1", "new");
    release.resolve();
    expect(await answer).toEqual(["old k1", "old k2"]);
    await flush();
    expect((await store.get("k1"))?.value).toBe("new");
    expect((await store.get("k2"))?.value).toBe("old k2");
    expect(a.cache.stats().tiers[1]!.refused).toBe(1);
    expect((await a.cache.get("k1"))?.value).toBe("new");
  });

  test("a promotion from L3 into a conditional L2 does not overwrite a write another process made in between", async () => {
    const clock = new ManualClock(1_000_000);
    const l2 = new MockCache<string, string>({
      clock,
      name: "l2",
      conditionalWrites: { tombstoneTtl: 60_000 },
    });
    const l3 = new MockCache<string, string>({ clock, name: "l3" });
    const events: CacheEvent[] = [];
    const cache = Cache.builder<string, string>({ clock })
      .name("users")
      .memory({ maxEntries: 100 })
      .ttl(60_000)
      .fallback(
        Cache.builder<string, string>()
          .storage(l2)
          .circuitBreaker(false)
          .fallback(Cache.builder<string, string>().storage(l3).circuitBreaker(false)),
      )
      .onEvent((e) => events.push(e))
      .build();
    await l3.insert("k", new CacheEntry("from l3", { ttl: 60_000 }));
    l3.delay("get", 10);
    const read = cache.get("k");
    await flush();
    // Another process writes L2 after A's versioned read of L2 missed, before A promotes.
    await l2.insert("k", new CacheEntry("newer", { ttl: 60_000 }));
    clock.advance(10);
    expect((await read)?.value).toBe("from l3");
    await flush();
    expect((await l2.get("k"))?.value).toBe("newer");
    expect(types(events)).toContain("write_refused");
    expect((await cache.get("k"))?.value).toBe("newer");
    await cache.close();
  });
});

describe("replays of recorded writes, ordered by the tier's versions", () => {
  test("a recorded insert is not replayed over a newer write another process made during the outage (no bus)", async () => {
    const { clock, store, linkA, a, b, fresh } = setup();
    await a.cache.insert("k", "v1");
    linkA.cut = true;
    await a.cache.insert("k", "v2 (A, owed)");
    expect(a.cache.stats().pendingWrites.pending).toBe(1);
    clock.advance(2_000);
    await b.cache.insert("k", "v3 (B, newer)");
    linkA.cut = false;
    await a.cache.get("unrelated"); // A's first successful call to the tier starts the replay
    await flush();
    await flush();
    expect((await store.get("k"))?.value).toBe("v3 (B, newer)");
    expect(types(a.events)).toContain("write_refused");
    expect(a.cache.stats().pendingWrites.pending).toBe(0);
    // A's L1 no longer holds its owed value: it reads B's.
    expect((await a.cache.get("k"))?.value).toBe("v3 (B, newer)");
    expect((await fresh().cache.get("k"))?.value).toBe("v3 (B, newer)");
  });

  test("a recorded insert newer than what the tier holds is replayed (conditionally)", async () => {
    const { clock, store, linkA, a, b } = setup();
    await b.cache.insert("k", "v1 (B)");
    clock.advance(2_000);
    linkA.cut = true;
    await a.cache.insert("k", "v2 (A, newer)");
    linkA.cut = false;
    clock.advance(500);
    await flush();
    await flush();
    expect((await store.get("k"))?.value).toBe("v2 (A, newer)");
    expect(a.cache.stats().pendingWrites).toMatchObject({ pending: 0, replayed: 1 });
    expect(store.calls.map((c) => c.op)).toContain("insertIfVersion");
  });

  test("when the two writes are closer than the clock margin, the replay removes the key instead", async () => {
    const { clock, store, linkA, a, b } = setup();
    linkA.cut = true;
    await a.cache.insert("k", "A");
    clock.advance(100);
    await b.cache.insert("k", "B");
    linkA.cut = false;
    clock.advance(500);
    await flush();
    await flush();
    expect(await store.get("k")).toBeUndefined();
    expect(a.cache.stats().pendingWrites).toMatchObject({ pending: 0, replayed: 1 });
  });
});

describe("builder checks", () => {
  test("a tombstone shorter than the hard loader timeout is refused, naming both", () => {
    const clock = new ManualClock();
    const store = new MockCache<string, string>({ clock, conditionalWrites: { tombstoneTtl: 5_000 } });
    const build = () =>
      Cache.builder<string, string>({ clock })
        .memory({ maxEntries: 10 })
        .fallback(Cache.builder<string, string>().storage(store))
        .timeouts({ hard: 10_000 })
        .build();
    expect(thrownCacheError(build, "INVALID_OPTION").message).toMatch(
      /tombstoneTtl.*5000 ms.*timeouts\.hard.*10000 ms/,
    );
  });

  test("a conditionalWrites object without its methods is refused", () => {
    const clock = new ManualClock();
    const store = new MockCache<string, string>({ clock });
    const broken = Object.assign(Object.create(store) as MockCache<string, string>, {
      conditionalWrites: { tombstoneTtl: 1_000 },
    });
    expect(() =>
      Cache.builder<string, string>({ clock })
        .memory({ maxEntries: 10 })
        .fallback(Cache.builder<string, string>().storage(broken))
        .build(),
    ).toThrow(/conditionalWrites.*getVersioned/);
  });
});
