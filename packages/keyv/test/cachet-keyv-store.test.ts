import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "@jest/globals";
import { Cache, CacheEntry, ManualClock, MemoryBus, MemoryBusHub, isCacheError } from "@cachet/core";
import KeyvSqlite from "@keyv/sqlite";
import { createCache } from "cache-manager";
import Keyv from "keyv";
import { Keyv as Keyv6 } from "keyv6";
import { CachetKeyvStore, KeyvTier, keyvStore } from "../src/index.js";

function memoryCache(clock = new ManualClock()) {
  return Cache.builder<string, unknown>({ clock }).memory({ maxEntries: 1_000 }).build();
}

describe("keyvStore: Keyv's contract on a cachet Cache", () => {
  it("stores what Keyv serialized, under Keyv's prefixed key, with Keyv's ttl as the entry's ttl", async () => {
    const cache = memoryCache();
    const keyv = new Keyv({ store: keyvStore(cache), namespace: "users" });
    await keyv.set("u1", { name: "Ada" }, 60_000);
    const entry = await cache.get("users:u1");
    expect(entry?.ttl).toBe(60_000);
    // Keyv's serialized envelope, untouched: `{ value, expires }` as JSON.
    const stored = JSON.parse(entry?.value as string) as { value: unknown; expires: number };
    expect(stored.value).toEqual({ name: "Ada" });
    expect(typeof stored.expires).toBe("number");
    expect(await keyv.get("u1")).toEqual({ name: "Ada" });
    await cache.close();
  });

  it("expires on the cache's clock: a Keyv ttl ends the entry in every tier without sleeping", async () => {
    const clock = new ManualClock();
    const cache = memoryCache(clock);
    const keyv = new Keyv({ store: keyvStore(cache) });
    await keyv.set("k", "v", 1_000);
    await keyv.set("forever", "v"); // no ttl: lives as long as the cache keeps it
    clock.advance(999);
    expect(await keyv.get("k")).toBe("v");
    clock.advance(1);
    expect(await keyv.get("k")).toBeUndefined();
    clock.advance(365 * 24 * 3_600_000);
    expect(await keyv.get("forever")).toBe("v");
    await cache.close();
  });

  it("a Keyv ttl of 0 means no expiry, as Keyv documents; without one the cache's default ttl applies", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, unknown>({ clock }).memory({ maxEntries: 10 }).ttl("1m").build();
    const keyv = new Keyv({ store: keyvStore(cache) });
    await keyv.set("zero", "v", 0);
    expect((await cache.get("keyv:zero"))?.ttl).toBe(60_000);
    await cache.close();
  });

  it("namespaces: clear() removes only its namespace, in every tier, and a ':' in a namespace nests", async () => {
    const cache = memoryCache();
    const a = new Keyv({ store: keyvStore(cache), namespace: "a" });
    const ab = new Keyv({ store: keyvStore(cache), namespace: "a:b" });
    const other = new Keyv({ store: keyvStore(cache), namespace: "other" });
    await a.set("k", 1);
    await ab.set("k", 2);
    await other.set("k", 3);
    await ab.clear();
    expect([await a.get("k"), await ab.get("k"), await other.get("k")]).toEqual([1, undefined, 3]);
    await a.set("k2", 4);
    await a.clear(); // "a" contains "a:b"
    expect([await a.get("k2"), await other.get("k")]).toEqual([undefined, 3]);
    await cache.close();
  });

  it("without a namespace, keys are stored as given and clear() clears the whole cache", async () => {
    const cache = memoryCache();
    const keyv = new Keyv({ store: keyvStore(cache), namespace: undefined as unknown as string });
    await keyv.set("plain", "v");
    expect((await cache.get("plain"))?.value).toBeDefined();
    await cache.insert("unrelated", "x");
    await keyv.clear();
    expect(await cache.get("unrelated")).toBeUndefined();
    await cache.close();
  });

  it("delete and has report whether a live entry was there; a stale entry is a miss for Keyv", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, unknown>({ clock })
      .memory({ maxEntries: 10 })
      .staleWhileRevalidate("1m")
      .build();
    const store = keyvStore(cache);
    const keyv = new Keyv({ store });
    await keyv.set("k", "v", 1_000);
    expect(await keyv.has("k")).toBe(true);
    clock.advance(1_000);
    expect((await cache.get("keyv:k"))?.isStale).toBe(true); // the cache would serve it stale
    expect(await store.get("keyv:k")).toBeUndefined(); // Keyv does not
    expect(await keyv.has("k")).toBe(false);
    expect(await keyv.delete("k")).toBe(false);
    await keyv.set("k2", "v");
    expect(await keyv.delete(["k2", "nope"])).toBe(true);
    expect(await keyv.get(["k2", "nope"])).toEqual([undefined, undefined]);
    await cache.close();
  });

  it("values Keyv passes without serialization (serialize: undefined) are stored and returned as objects", async () => {
    const cache = memoryCache();
    const keyv = new Keyv({
      store: keyvStore(cache),
      serialize: undefined as never,
      deserialize: undefined as never,
    });
    await keyv.set("k", { deep: { n: 1 } });
    expect(await keyv.get("k")).toEqual({ deep: { n: 1 } });
    await cache.close();
  });

  it("a store error reaches Keyv: it emits it and, with throwOnErrors, rejects", async () => {
    const cache = memoryCache();
    await cache.close();
    const keyv = new Keyv({ store: keyvStore(cache), throwOnErrors: true });
    const errors: unknown[] = [];
    keyv.on("error", (e: unknown) => errors.push(e));
    await expect(keyv.set("k", "v")).rejects.toMatchObject({ code: "CLOSED" });
    expect(errors.some(isCacheError)).toBe(true);
  });

  it("disconnect() leaves the cache open unless closeOnDisconnect is set", async () => {
    const cache = memoryCache();
    await new Keyv({ store: keyvStore(cache) }).disconnect();
    expect(cache.isClosed).toBe(false);
    await new Keyv({ store: keyvStore(cache, { closeOnDisconnect: true }) }).disconnect();
    expect(cache.isClosed).toBe(true);
  });

  it("rejects bad construction with INVALID_OPTION naming the option", () => {
    const cache = memoryCache();
    expect(() => keyvStore(cache, { closeOnDisconect: true } as never)).toThrow(/closeOnDisconect/);
    expect(() => keyvStore(cache, { closeOnDisconnect: "yes" } as never)).toThrow(/closeOnDisconnect/);
    expect(() => new CachetKeyvStore(undefined as never)).toThrow(/cache/);
    let thrown: unknown;
    try {
      keyvStore(cache, { nope: 1 } as never);
    } catch (error) {
      thrown = error;
    }
    expect(isCacheError(thrown) && thrown.code).toBe("INVALID_OPTION");
  });

  it("a ttl Keyv would never pass (negative) is refused by the store, and Keyv reports set() as failed", async () => {
    const cache = memoryCache();
    const store = keyvStore(cache);
    await expect(store.set("k", "v", -5)).rejects.toMatchObject({ code: "INVALID_OPTION" });
    const keyv = new Keyv({ store });
    keyv.on("error", () => undefined);
    expect(await keyv.set("k", "v", -5)).toBe(false);
    await cache.close();
  });
});

describe("keyvStore for Keyv 6", () => {
  it("keyv: 6 is used by Keyv 6 as a native adapter: absolute expiry in, the time left as the entry's ttl", async () => {
    const clock = new ManualClock();
    const cache = memoryCache(clock);
    const store = keyvStore(cache, { keyv: 6 });
    const keyv = new Keyv6({ store, namespace: "v6" });
    expect(keyv.store).toBe(store); // no KeyvBridgeAdapter in between
    await keyv.set("k", "v", 60_000);
    const ttl = (await cache.get("v6:k"))?.ttl ?? 0;
    expect(ttl).toBeGreaterThan(59_000); // Keyv 6 passed Date.now() + 60 s; a few ms went by
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await keyv.get("k")).toBe("v");
    clock.advance(60_000);
    expect(await keyv.get("k")).toBeUndefined();
    // An expiry already past removes the key, as the Keyv 6 contract allows.
    await keyv.set("gone", "v");
    expect(await store.set("v6:gone", "x", Date.now() - 1)).toBe(true);
    expect(await cache.get("v6:gone")).toBeUndefined();
    await cache.close();
  });

  it("the default (Keyv 5) store also works under Keyv 6, through its bridge, relative ttl and all", async () => {
    const cache = memoryCache();
    const keyv = new Keyv6({ store: keyvStore(cache), namespace: "bridged" });
    expect((keyv.store as object).constructor.name).toBe("KeyvBridgeAdapter");
    await keyv.set("k", "v", 60_000);
    const ttl = (await cache.get("bridged:k"))?.ttl ?? 0;
    expect(ttl).toBeGreaterThan(59_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await keyv.clear();
    expect(await cache.get("bridged:k")).toBeUndefined();
    await cache.close();
  });

  it("rejects a `keyv` major other than 5 or 6", () => {
    expect(() => keyvStore(memoryCache(), { keyv: 7 as never })).toThrow(/`keyv` must be 5 or 6/);
  });
});

describe("keyvStore with cachet's tiers behind it", () => {
  const dir = mkdtempSync(join(tmpdir(), "cachet-keyv-store-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** An L2 on a SQLite file, counting the reads that reach it. */
  function sqliteL2(file: string, clock: ManualClock) {
    const sqlite = new KeyvSqlite({ uri: `sqlite://${join(dir, file)}` });
    const reads = { count: 0 };
    const get = sqlite.get.bind(sqlite);
    sqlite.get = (key: string) => {
      reads.count++;
      return get(key);
    };
    const tier = new KeyvTier<unknown>({ store: sqlite, clock, namespace: "l2", closeStore: true });
    return { tier, reads };
  }

  it("stampede protection: 100 concurrent Keyv reads of a key missing from L1 read the L2 once", async () => {
    const clock = new ManualClock();
    const { tier, reads } = sqliteL2("stampede.sqlite", clock);
    const cache = Cache.builder<string, unknown>({ clock })
      .memory({ maxEntries: 100 })
      .fallback(Cache.builder<string, unknown>().storage(tier))
      .build();
    await tier.insert("keyv:hot", new CacheEntry<unknown>(await serialize("value")));
    const keyv = new Keyv({ store: keyvStore(cache) });
    const values = await Promise.all(Array.from({ length: 100 }, () => keyv.get("hot")));
    expect(new Set(values)).toEqual(new Set(["value"]));
    expect(reads.count).toBe(1);
    await keyv.get("hot"); // promoted to L1: no further L2 read
    expect(reads.count).toBe(1);
    await cache.close();
  });

  it("the bus: a write through one instance's Keyv invalidates another instance's L1", async () => {
    const clock = new ManualClock();
    const { tier } = sqliteL2("bus.sqlite", clock);
    const hub = new MemoryBusHub();
    const instance = () =>
      Cache.builder<string, unknown>({ clock })
        .memory({ maxEntries: 100 })
        .fallback(Cache.builder<string, unknown>().storage(tier, { close: false }))
        .bus(new MemoryBus(hub))
        .build();
    const [a, b] = [instance(), instance()];
    const keyvA = new Keyv({ store: keyvStore(a) });
    const keyvB = new Keyv({ store: keyvStore(b) });
    await keyvA.set("user:1", "v1");
    expect(await keyvB.get("user:1")).toBe("v1"); // from the shared L2, now in B's L1
    await keyvA.set("user:1", "v2");
    expect(await keyvB.get("user:1")).toBe("v2");
    await keyvA.delete("user:1");
    expect(await keyvB.get("user:1")).toBeUndefined();
    await Promise.all([a.close(), b.close()]);
    await tier.close();
  });

  it("cache-manager 7 over Keyv over cachet: set, get, mget, ttl, del and wrap", async () => {
    const clock = new ManualClock();
    const cache = memoryCache(clock);
    const manager = createCache({ stores: [new Keyv({ store: keyvStore(cache) })] });
    await manager.set("a", { n: 1 }, 5_000);
    await manager.set("b", "two");
    expect(await manager.get("a")).toEqual({ n: 1 });
    expect(await manager.mget(["a", "b", "c"])).toEqual([{ n: 1 }, "two", undefined]);
    expect((await cache.get("keyv:a"))?.ttl).toBe(5_000);
    let loads = 0;
    const load = () => {
      loads++;
      return Promise.resolve("loaded");
    };
    expect(await manager.wrap("w", load, 10_000)).toBe("loaded");
    expect(await manager.wrap("w", load, 10_000)).toBe("loaded");
    expect(loads).toBe(1);
    clock.advance(5_000);
    expect(await manager.get("a")).toBeUndefined();
    await manager.del("b");
    expect(await manager.get("b")).toBeUndefined();
    await manager.disconnect();
    expect(cache.isClosed).toBe(false);
    await cache.close();
  });
});

/** What Keyv stores for a value without ttl (its default JSON serializer). */
async function serialize(value: unknown): Promise<string> {
  const keyv = new Keyv();
  return keyv.serializeData({ value, expires: undefined }) as Promise<string>;
}
