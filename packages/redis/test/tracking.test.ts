import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { Cache } from "@cachet/core";
import type { CacheEvent } from "@cachet/core";
import { describeRedis, startRedis } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";
import { CacheEntry } from "@cachet/tier";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { RedisTier, ioredisAdapter, nodeRedisAdapter } from "../src/index.js";
import type { RedisAdapter, RedisTierEvent } from "../src/index.js";
import { tierConformanceCases } from "@cachet/tier/testing";
import { uniquePrefix } from "./fixtures/shared-cases.js";
import { EVICTION_BOUND, trackedCache } from "./fixtures/tracked-cache.js";
import { waitFor } from "./coherence/fixtures/wait.js";

// `tracking`: Redis CLIENT TRACKING keeps a cache's L1 coherent with writes made outside it, with
// no bus. Real redis-server, both clients; the jest projects run it on ioredis/redis 5 and 6.
//
// Bounds: an outside write must reach the cache (its `external_change` event) within
// EVICTION_BOUND of the writer's reply (fixtures/tracked-cache.ts).

type ClientKind = "ioredis" | "node-redis";

interface Harness {
  cache: Cache<string, string>;
  tier: RedisTier<string, string>;
  events: CacheEvent[];
  tierEvents: RedisTierEvent[];
  /** How many reads reached Redis. */
  l2Reads(): number;
  /** Runs `write`; resolves once the cache heard of it, with the delay (see `trackedCache`). */
  outsideWrite(write: () => Promise<unknown>): Promise<number>;
}

describeRedis(
  "RedisTier tracking: L1 coherent with writes made outside the cache",
  () => {
    let redis: RedisHandle;
    let raw: Redis;
    const cleanup: (() => Promise<unknown>)[] = [];

    beforeAll(async () => {
      redis = await startRedis({ own: true });
      raw = new Redis(redis.clientOptions);
    });
    afterEach(async () => {
      for (const close of cleanup.splice(0).reverse()) await close().catch(() => undefined);
    });
    afterAll(async () => {
      raw.disconnect();
      await redis.stop();
    });

    async function adapterFor(kind: ClientKind): Promise<RedisAdapter> {
      if (kind === "ioredis") {
        const client = new Redis({
          ...redis.clientOptions,
          retryStrategy: () => 50,
          maxRetriesPerRequest: 0,
        });
        client.on("error", () => undefined);
        cleanup.push(async () => client.disconnect());
        return ioredisAdapter(client);
      }
      const client = createClient({
        socket: { host: redis.host, port: redis.port, reconnectStrategy: () => 50 },
      });
      client.on("error", () => undefined);
      await client.connect();
      cleanup.push(async () => client.destroy());
      return nodeRedisAdapter(client);
    }

    /** A cache (L1 + tracked RedisTier, no bus), watching once this resolves. */
    async function harness(
      kind: ClientKind,
      prefix: string,
      wrap: (adapter: RedisAdapter) => RedisAdapter = (a) => a,
    ): Promise<Harness> {
      const adapter = await adapterFor(kind);
      let reads = 0;
      const counted: RedisAdapter = Object.assign(Object.create(adapter) as RedisAdapter, {
        get: (key: string) => {
          reads++;
          return adapter.get(key);
        },
      });
      const tierEvents: RedisTierEvent[] = [];
      const tier = new RedisTier<string, string>({
        client: wrap(bind(counted, adapter)),
        prefix,
        tracking: true,
        onEvent: (e) => tierEvents.push(e),
      });
      const { cache, events, outsideWrite } = trackedCache(tier);
      cleanup.push(() => cache.close());
      await tier.trackingReady();
      expect(tier.externalChanges?.isWatching).toBe(true);
      return { cache, tier, events, tierEvents, l2Reads: () => reads, outsideWrite };
    }

    /**
     * Fills L1 with `value` and checks that the next read is an L1 hit. The tier's own write comes
     * back as an invalidation too (broadcast tracking on a connection of its own has no NOLOOP), so
     * the copy is read back from Redis once that echo has arrived.
     */
    async function cachedInL1(h: Harness, key: string, value: string): Promise<void> {
      await h.outsideWrite(() => h.cache.insert(key, value));
      await h.cache.get(key);
      const reads = h.l2Reads();
      expect((await h.cache.get(key))?.value).toBe(value);
      expect(h.l2Reads()).toBe(reads);
    }

    describe.each<ClientKind>(["ioredis", "node-redis"])("%s: the kit's external-changes cases", (kind) => {
      // The other cases run in conformance.test.ts; here only what `tracking` adds.
      const cases = tierConformanceCases<string, string>({
        create: async ({ clock, namespace }) =>
          new RedisTier<string, string>({
            client: await adapterFor(kind),
            prefix: namespace,
            clock,
            tracking: true,
          }),
        externalChanges: {
          write: (namespace, key, value) =>
            new RedisTier<string, string>({ client: raw, prefix: namespace }).insert(
              key,
              new CacheEntry(value),
            ),
          bound: EVICTION_BOUND * 5,
        },
      }).filter((c) => c.id.startsWith("external-"));
      it("has both external cases", () => expect(cases).toHaveLength(2));
      for (const c of cases) it(c.name, c.run);
    });

    describe.each<ClientKind>(["ioredis", "node-redis"])("%s", (kind) => {
      it("a raw SET, DEL, expiry and FLUSHDB each evict the L1 copy within the bound", async () => {
        const h = await harness(kind, uniquePrefix("trk"));
        const key = h.tier.redisKey("k");
        const delays: number[] = [];
        const outside = async (write: () => Promise<unknown>): Promise<void> => {
          delays.push(await h.outsideWrite(write));
        };

        await cachedInL1(h, "k", "v1");
        await outside(() => raw.set(key, "not an envelope"));
        expect(await h.cache.get("k")).toBeUndefined(); // read from Redis: unreadable bytes, a miss

        await cachedInL1(h, "k", "v2");
        await outside(() => raw.del(key));
        expect(await h.cache.get("k")).toBeUndefined();

        await cachedInL1(h, "k", "v3");
        await outside(() => raw.pexpire(key, 300)); // PEXPIRE itself is a change; L1 drops v3
        const reads = h.l2Reads();
        expect((await h.cache.get("k"))?.value).toBe("v3"); // read back into L1 (its ttl: 1 h)...
        expect((await h.cache.get("k"))?.value).toBe("v3");
        expect(h.l2Reads()).toBe(reads + 1);
        // ...and the expiry 300 ms later is reported too, although L1's copy has an hour left.
        await outside(() => waitFor(async () => (await raw.exists(key)) === 0, "the key to expire", 5_000));
        expect(await h.cache.get("k")).toBeUndefined();

        await cachedInL1(h, "k", "v5");
        const resets = h.events.filter((e) => e.type === "external_reset").length;
        await raw.flushdb();
        await waitFor(
          () => h.events.filter((e) => e.type === "external_reset").length > resets,
          "the flush",
          EVICTION_BOUND * 5,
          1,
        );
        expect(h.events.filter((e) => e.type === "external_reset").at(-1)?.reason).toMatch(/^flushed:/);
        expect(await h.cache.get("k")).toBeUndefined();
        for (const delay of delays) expect(delay).toBeLessThan(EVICTION_BOUND);
      });

      it("a second cache without a bus writes; the first sees it", async () => {
        const prefix = uniquePrefix("trk");
        const a = await harness(kind, prefix);
        const b = await harness(kind, prefix);
        await cachedInL1(a, "user", "alice v1");
        expect(await a.outsideWrite(() => b.cache.insert("user", "alice v2"))).toBeLessThan(EVICTION_BOUND);
        expect((await a.cache.get("user"))?.value).toBe("alice v2");
        await a.outsideWrite(() => b.cache.invalidate("user"));
        expect(await a.cache.get("user")).toBeUndefined();
      });

      it("the tracking connection is killed: L1 is dropped and bypassed until tracking resumes", async () => {
        const h = await harness(kind, uniquePrefix("trk"));
        const key = h.tier.redisKey("k");
        await cachedInL1(h, "k", "v1");
        const list = String(await raw.client("LIST"));
        const ids = list
          .split("\n")
          .filter((line) => line.includes("name=cachet:tracking"))
          .map((line) => /id=(\d+)/.exec(line)![1]!);
        expect(ids.length).toBeGreaterThan(0);
        for (const id of ids) await raw.client("KILL", "ID", id);
        await waitFor(
          () => h.events.some((e) => e.type === "external_reset" && e.reason?.startsWith("lost:")),
          "the loss to be reported",
          EVICTION_BOUND * 5,
          1,
        );
        // Blind: a write tracking cannot report meanwhile is still never hidden by an L1 copy.
        await raw.set(key, "not an envelope");
        expect(await h.cache.get("k")).toBeUndefined();
        await raw.del(key);
        await h.tier.insert("k", new CacheEntry("v2"));
        const reads = h.l2Reads();
        expect((await h.cache.get("k"))?.value).toBe("v2");
        await h.tier.insert("k", new CacheEntry("v3"));
        // Either still blind (read from Redis) or watching again (which dropped L1): never v2.
        expect((await h.cache.get("k"))?.value).toBe("v3");
        expect(h.l2Reads()).toBeGreaterThan(reads);
        await waitFor(() => h.tier.externalChanges?.isWatching, "tracking to resume", 10_000);
        expect(h.events.filter((e) => e.type === "external_reset").at(-1)?.reason).toMatch(/^watching:/);
        await cachedInL1(h, "k", "v4");
        // Not through the cache: only tracking tells it.
        await h.outsideWrite(() => h.tier.insert("k", new CacheEntry("v5")));
        expect((await h.cache.get("k"))?.value).toBe("v5");
      });

      it("an invalidation that overtakes the reply of the read filling L1 keeps that reply out of L1", async () => {
        let hold = false;
        const held: (() => void)[] = [];
        const h = await harness(kind, uniquePrefix("trk"), (adapter) =>
          bind(
            Object.assign(Object.create(adapter) as RedisAdapter, {
              get: async (key: string) => {
                const reply = await adapter.get(key);
                if (hold) await new Promise<void>((resolve) => held.push(resolve));
                return reply;
              },
            }),
            adapter,
          ),
        );
        await h.outsideWrite(() => h.tier.insert("k", new CacheEntry("old")));
        hold = true;
        const read = h.cache.get("k"); // Redis answers "old"; the reply is held before the cache sees it
        await waitFor(() => held.length === 1, "the read's reply", 5_000, 1);
        hold = false;
        // Another writer; its invalidation arrives while the reply is held.
        await h.outsideWrite(() => h.tier.insert("k", new CacheEntry("new")));
        held[0]!();
        expect((await read)?.value).toBe("old"); // the read began before the write
        expect((await h.cache.get("k"))?.value).toBe("new"); // but "old" never reached L1
      });
    });

    it("after a redis-server restart, tracking resumes by itself and L1 was dropped meanwhile", async () => {
      const h = await harness("ioredis", uniquePrefix("trk"));
      await cachedInL1(h, "k", "v1");
      await redis.restart();
      await waitFor(
        () => h.events.some((e) => e.type === "external_reset" && e.reason?.startsWith("lost:")),
        "the loss to be reported",
        EVICTION_BOUND * 5,
      );
      await waitFor(() => h.tier.externalChanges?.isWatching, "tracking to resume", 10_000);
      await waitFor(async () => (await raw.ping().catch(() => "")) === "PONG", "raw to reconnect", 10_000);
      // The tier's own client (maxRetriesPerRequest 0) may still be reconnecting: retry the write
      // until it lands. Once it has, the very next read must see it (L1 was dropped meanwhile).
      await waitFor(
        () =>
          h.tier.insert("k", new CacheEntry("v2")).then(
            () => true,
            () => false,
          ),
        "the tier's client to take a write",
        10_000,
        20,
      );
      expect((await h.cache.get("k"))?.value).toBe("v2");
      await h.outsideWrite(() => h.tier.insert("k", new CacheEntry("v3")));
      expect((await h.cache.get("k"))?.value).toBe("v3");
    });

    it("a server that refuses CLIENT TRACKING: trackingReady rejects, an event says why, L1 stays empty", async () => {
      const adapter = await adapterFor("ioredis");
      const refusing: RedisAdapter = bind(
        Object.assign(Object.create(adapter) as RedisAdapter, {
          trackingNodes: async () =>
            (await adapter.trackingNodes!()).map((node) => ({
              address: node.address,
              open: async () => {
                const connection = await node.open();
                return {
                  ...connection,
                  command: (args: readonly string[]) =>
                    args[1] === "TRACKING"
                      ? Promise.reject(new Error("ERR unknown subcommand 'TRACKING'"))
                      : connection.command(args),
                };
              },
            })),
        }),
        adapter,
      );
      const tierEvents: RedisTierEvent[] = [];
      const tier = new RedisTier<string, string>({
        client: refusing,
        prefix: uniquePrefix("trk"),
        tracking: true,
        onEvent: (e) => tierEvents.push(e),
      });
      const cache = Cache.builder<string, string>()
        .name("refused")
        .memory({ maxEntries: 10 })
        .fallback(Cache.builder<string, string>().storage(tier))
        .build();
      cleanup.push(() => cache.close());
      await expect(tier.trackingReady()).rejects.toMatchObject({ code: "INVALID_OPTION" });
      expect(tierEvents.some((e) => e.type === "tracking-error" && /CLIENT TRACKING/.test(e.message))).toBe(
        true,
      );
      await cache.insert("k", "v1");
      await raw.set(tier.redisKey("k"), "not an envelope");
      expect(await cache.get("k")).toBeUndefined(); // no L1 copy to be stale
    });

    it("refuses bad `tracking` options and non-string keys without `deserializeKey`", () => {
      const adapter = ioredisAdapter(raw);
      const client = bind(
        Object.assign(Object.create(adapter) as RedisAdapter, { trackingNodes: () => [] }),
        adapter,
      );
      expect(
        () => new RedisTier({ client, prefix: "p", tracking: { mode: "default" as "broadcast" } }),
      ).toThrow(/default-mode tracking is not offered \(the @cachet\/redis README/);
      expect(
        () => new RedisTier({ client, prefix: "p", tracking: { modee: "broadcast" } as object }),
      ).toThrow(/modee/);
      expect(
        () => new RedisTier<number, string>({ client, prefix: "p", tracking: true, serializeKey: String }),
      ).toThrow(/deserializeKey/);
    });
  },
  true,
);

/** Binds every method of `base` not overridden on `over` to `base` (adapters keep #private state). */
function bind(over: RedisAdapter, base: RedisAdapter): RedisAdapter {
  const out: Record<string, unknown> = {};
  let proto: object | null = base;
  while (proto !== null && proto !== Object.prototype) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const value = (base as unknown as Record<string, unknown>)[name];
      if (name !== "constructor" && typeof value === "function" && !(name in out)) {
        out[name] = (value as (...args: unknown[]) => unknown).bind(base);
      }
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  for (const name of Object.getOwnPropertyNames(over))
    out[name] = (over as unknown as Record<string, unknown>)[name];
  out.kind = base.kind;
  out.isCluster = base.isCluster;
  return out as unknown as RedisAdapter;
}
