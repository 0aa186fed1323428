import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { Cache, CacheEntry, ManualClock, isCacheError } from "@cachet/core";
import { describeRedis, startRedis } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";
import KeyvRedis from "@keyv/redis";
import KeyvSqlite from "@keyv/sqlite";
import { KeyvMemoryAdapter } from "keyv6";
import { KeyvTier } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "cachet-keyv-tier-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sqlite = (file = "tier.sqlite") => new KeyvSqlite({ uri: `sqlite://${join(dir, file)}` });

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

describe("KeyvTier options", () => {
  it("rejects unknown and invalid options with INVALID_OPTION naming the option", () => {
    const store = sqlite();
    const cases: [unknown, RegExp][] = [
      [{ store, ttll: 5 }, /unknown option `ttll`/],
      [{}, /`store` must be a Keyv storage adapter/],
      [{ store: { get() {} } }, /`store` must be a Keyv storage adapter/],
      [{ store, namespace: "a_b" }, /`namespace` must be letters/],
      [{ store, namespace: "a*" }, /`namespace` must be letters/],
      [{ store, namespace: "" }, /`namespace` must be letters/],
      [{ store, codec: {} }, /`codec` must have/],
      [{ store, ttl: -1 }, /ttl/],
      [{ store, closeStore: "yes" }, /`closeStore` must be a boolean/],
      [{ store, name: "" }, /`name`/],
    ];
    for (const [options, message] of cases) {
      let thrown: unknown;
      try {
        new KeyvTier(options as never);
      } catch (error) {
        thrown = error;
      }
      expect(isCacheError(thrown) && thrown.code).toBe("INVALID_OPTION");
      expect((thrown as Error).message).toMatch(message);
    }
    void store.disconnect();
  });
});

describe("KeyvTier on @keyv/sqlite", () => {
  it("keeps entries in the database file: a second tier (another process) on the file reads them", async () => {
    const clock = new ManualClock();
    const first = new KeyvTier<{ n: number }>({ store: sqlite("shared.sqlite"), clock, closeStore: true });
    await first.insert("k", new CacheEntry({ n: 1 }, { ttl: 60_000, tags: ["t"] }));
    await first.close();
    const second = new KeyvTier<{ n: number }>({ store: sqlite("shared.sqlite"), clock, closeStore: true });
    const entry = await second.get("k");
    expect(entry?.value).toEqual({ n: 1 });
    expect(entry?.tags).toEqual(["t"]);
    await second.close();
  });

  it("stores a readable text row under `<namespace>:<key>`, with a `:` in the namespace stored as `.`", async () => {
    const store = sqlite();
    const tier = new KeyvTier<{ name: string }>({ store, namespace: "app:users", clock: new ManualClock() });
    await tier.insert("u1", new CacheEntry({ name: "Ada" }));
    const raw = (await store.get("app.users:u1")) as string;
    expect(raw.startsWith("cachet:1 ")).toBe(true);
    expect(raw.endsWith('\n{"name":"Ada"}')).toBe(true);
    await tier.close();
    await store.disconnect();
  });

  it("a read that finds an expired row deletes it (SQLite has no native expiry)", async () => {
    const clock = new ManualClock();
    const store = sqlite();
    const tier = new KeyvTier<string>({ store, namespace: "expiry", clock });
    await tier.insert("k", CacheEntry.expiresAfter("v", 1_000));
    expect(await store.get("expiry:k")).toBeDefined();
    clock.advance(1_000);
    expect(await tier.get("k")).toBeUndefined();
    expect(await store.get("expiry:k")).toBeUndefined();
    await tier.close();
    await store.disconnect();
  });

  it("a value the tier did not write is a CODEC error, not a wrong value", async () => {
    const store = sqlite();
    const tier = new KeyvTier<string>({ store, namespace: "foreign", clock: new ManualClock() });
    await store.set("foreign:k", JSON.stringify({ value: "written by Keyv", expires: null }));
    const error = await rejection(tier.get("k"));
    expect(isCacheError(error) && error.code).toBe("CODEC");
    await tier.close();
    await store.disconnect();
  });

  it("a failing adapter rejects with TIER_FAILURE carrying its error; its error events go to onError", async () => {
    const events: unknown[] = [];
    const store = new KeyvSqlite({ uri: `sqlite://${join(dir, "missing-dir", "x.sqlite")}` });
    const tier = new KeyvTier<string>({ store, onError: (e) => events.push(e) });
    const error = await rejection(tier.get("k"));
    expect(isCacheError(error) && error.code).toBe("TIER_FAILURE");
    expect((error as Error).cause).toMatchObject({ code: "SQLITE_CANTOPEN" });
    expect(events.length).toBeGreaterThan(0);
    await tier.close();
  });

  it("close() leaves the adapter open unless closeStore is set", async () => {
    const store = sqlite();
    const tier = new KeyvTier<string>({ store, namespace: "kept" });
    await tier.close();
    await store.set("kept:x", "still usable");
    expect(await store.get("kept:x")).toBe("still usable");
    await store.disconnect();
  });

  it("as the L2 of a Cache: loads land in SQLite, and a new Cache on the file gets them without loading", async () => {
    const clock = new ManualClock();
    const build = () =>
      Cache.builder<string, string>({ clock })
        .memory({ maxEntries: 100 })
        .ttl("1m")
        .fallback(
          Cache.builder<string, string>()
            .storage(new KeyvTier<string>({ store: sqlite("l2.sqlite"), clock, closeStore: true }))
            .ttl("1h"),
        )
        .build();
    let loads = 0;
    const load = () => {
      loads++;
      return `value-${loads}`;
    };
    const first = build();
    expect(await first.getOrInsert("k", load)).toBe("value-1");
    await first.close();
    const second = build();
    expect(await second.getOrInsert("k", load)).toBe("value-1");
    expect(loads).toBe(1);
    await second.close();
  });
});

describe("KeyvTier on a Keyv 6 adapter", () => {
  it("hands an adapter that declares capabilities.expires an absolute wall-clock expiry", async () => {
    const clock = new ManualClock(); // far from the wall clock: the tier converts, it does not mix
    const v6 = new KeyvMemoryAdapter(new Map());
    const seen: (number | undefined)[] = [];
    const set = v6.set.bind(v6);
    v6.set = (key: string, value: unknown, expires?: number) => {
      seen.push(expires);
      return set(key, value, expires);
    };
    const tier = new KeyvTier<string>({ store: v6, clock });
    const before = Date.now();
    await tier.insert("k", new CacheEntry("v", { ttl: 60_000, staleFor: 1_000 }));
    const after = Date.now();
    expect(seen[0]).toBeGreaterThanOrEqual(before + 61_000);
    expect(seen[0]).toBeLessThanOrEqual(after + 61_000);
    expect((await tier.get("k"))?.value).toBe("v");
    clock.advance(61_000);
    expect(await tier.get("k")).toBeUndefined();
    await tier.close();
  });
});

describeRedis("KeyvTier on @keyv/redis", () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it("passes the time left to the adapter, so Redis expires the key by itself", async () => {
    const clock = new ManualClock();
    const store = new KeyvRedis(redis.url, { throwOnErrors: true });
    const tier = new KeyvTier<string>({ store, namespace: "native", clock, closeStore: true });
    await tier.insert("k", new CacheEntry("v", { ttl: 60_000, staleFor: 30_000 }));
    const client = await store.getClient();
    // @keyv/redis adds its own `<namespace>::` in front of the tier's `<namespace>:` key.
    const pttl = await client.pTTL("native::native:k");
    expect(pttl).toBeGreaterThan(89_000);
    expect(pttl).toBeLessThanOrEqual(90_000);
    await tier.insert("none", new CacheEntry("v"));
    expect(await client.pTTL("native::native:none")).toBe(-1);
    await tier.close();
  });
});
