import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { CacheEntry, isCacheError } from "@cachet/tier";
import type { Duration } from "@cachet/tier";
import { describeRedis, startRedis, startRedisCluster } from "@cachet/test-utils";
import type { RedisClusterHandle, RedisHandle } from "@cachet/test-utils";
import { Cluster, Redis } from "ioredis";
import { createClient, createCluster } from "redis";
import { RedisTier } from "../src/index.js";
import type { RedisAdapter, RedisClientInput } from "../src/index.js";
import { uniquePrefix } from "./fixtures/shared-cases.js";

const MINUTE = 60_000;
const KEYS = 200;

/** Polls a socket (the raw client) until `check` holds; a bounded wait on another process. */
async function pollUntil(check: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Two tiers on one prefix stand for two processes: each has its own client (the caller's
 * factory returns a fresh one per call where it can), so their commands race on the server.
 */
function raceCases(
  clients: () => Promise<[RedisClientInput, RedisClientInput]>,
  raw: () => Redis | Cluster,
): void {
  const pair = async (tombstoneTtl: Duration = "1m") => {
    const prefix = uniquePrefix("cw");
    const [ca, cb] = await clients();
    const a = new RedisTier<string, string>({ client: ca, prefix, conditionalWrites: { tombstoneTtl } });
    const b = new RedisTier<string, string>({ client: cb, prefix, conditionalWrites: { tombstoneTtl } });
    return { a, b, cw: a.conditionalWrites!, prefix };
  };

  it("a load that read before another process's invalidate, and writes after it, does not resurrect", async () => {
    const { a, b, cw } = await pair();
    await b.insert("k", new CacheEntry("v1", { ttl: MINUTE }));
    const seen = await cw.getVersioned("k"); // A starts a refresh of v1
    const missed = await cw.getVersioned("absent"); // and a load of a missing key
    await b.invalidate("k"); // B invalidates both while A's loads run
    await b.invalidate("absent");
    expect(
      await cw.insertIfVersion("k", new CacheEntry("v1-reloaded", { ttl: MINUTE }), seen.version),
    ).toEqual({
      written: false,
      reason: "conflict",
    });
    expect(
      await cw.insertIfVersion("absent", new CacheEntry("old", { ttl: MINUTE }), missed.version),
    ).toEqual({
      written: false,
      reason: "conflict",
    });
    expect(await b.get("k")).toBeUndefined();
    expect(await a.get("absent")).toBeUndefined();
  });

  it("a load never replaces another process's newer insert", async () => {
    const { a, b, cw } = await pair();
    const seen = await cw.getVersioned("k");
    await b.insert("k", new CacheEntry("v2", { ttl: MINUTE }));
    const late = await cw.insertIfVersion("k", new CacheEntry("v1", { ttl: MINUTE }), seen.version);
    expect(late).toEqual({ written: false, reason: "conflict" });
    expect((await a.get("k"))?.value).toBe("v2");
  });

  it(`race: ${KEYS} conditional write-backs against ${KEYS} invalidations sent after their reads leave no entry`, async () => {
    const { a, b, cw } = await pair();
    const keys = Array.from({ length: KEYS }, (_, i) => `race:${i}`);
    await b.insertMany(keys.map((k) => [k, new CacheEntry("old", { ttl: MINUTE })] as const));
    const reads = await Promise.all(keys.map((k) => cw.getVersioned(k)));
    // Every invalidate is sent after every read resolved: whichever order the write-backs and the
    // invalidations reach the server in, no write-back may survive.
    await Promise.all([
      ...keys.map((k, i) =>
        cw.insertIfVersion(k, new CacheEntry(`loaded-${i}`, { ttl: MINUTE }), reads[i]!.version),
      ),
      b.invalidateMany(keys),
    ]);
    expect((await b.getMany(keys)).filter((e) => e !== undefined)).toEqual([]);
    expect((await a.getMany(keys)).filter((e) => e !== undefined)).toEqual([]);
  });

  it("versions order writes across processes, and writtenAt is the server's time of the write", async () => {
    const { a, b, cw } = await pair();
    const before = Date.now();
    await a.insert("k", new CacheEntry("x", { ttl: MINUTE }));
    const first = await cw.getVersioned("k");
    await b.insert("k", new CacheEntry("y", { ttl: MINUTE }));
    const second = await b.conditionalWrites!.getVersioned("k");
    expect(first.version.writtenAt).toBeGreaterThan(before - 5_000); // one machine: same clock, give or take
    expect(first.version.writtenAt).toBeLessThan(Date.now() + 5_000);
    expect(second.version.writtenAt!).toBeGreaterThan(first.version.writtenAt!);
    expect(second.version.token).not.toBe(first.version.token);
  });

  it("a version read from an absent key expires with the tombstone ttl (server clock), tombstone gone or not", async () => {
    const { a, b, cw, prefix } = await pair(150);
    const missed = await cw.getVersioned("k");
    await b.invalidate("k");
    const rawKey = a.redisKey("k");
    expect(rawKey.startsWith(prefix)).toBe(true);
    await pollUntil(async () => (await raw().exists(rawKey)) === 0, "the tombstone to expire");
    expect(await cw.insertIfVersion("k", new CacheEntry("old", { ttl: MINUTE }), missed.version)).toEqual({
      written: false,
      reason: "expired-token",
    });
    const fresh = await cw.getVersioned("k");
    expect(
      await cw.insertIfVersion("k", new CacheEntry("new", { ttl: MINUTE }), fresh.version),
    ).toMatchObject({
      written: true,
    });
    expect((await b.get("k"))?.value).toBe("new");
  });

  it("a tier without conditional writes reads versioned entries, and sees tombstones as misses without events", async () => {
    const { a, b, prefix } = await pair();
    const events: unknown[] = [];
    const [plainClient] = await clients();
    const plain = new RedisTier<string, string>({
      client: plainClient,
      prefix,
      onEvent: (e) => events.push(e),
    });
    await a.insert("k", new CacheEntry("v", { ttl: MINUTE, tags: ["t"] }));
    expect(await plain.get("k")).toMatchObject({ value: "v", ttl: MINUTE, tags: ["t"] });
    await b.invalidate("k");
    expect(await plain.get("k")).toBeUndefined();
    expect(await raw().exists(a.redisKey("k"))).toBe(1); // the tombstone is there
    expect(events).toEqual([]);
    expect(await a.size()).toBe(0);
  });

  it("runs the scripts again after SCRIPT FLUSH (EVAL when the server answers NOSCRIPT)", async () => {
    const { a, cw } = await pair();
    const flush = raw() instanceof Cluster ? (raw() as Cluster).nodes("master") : [raw() as Redis];
    await Promise.all(flush.map((node) => node.script("FLUSH")));
    const seen = await cw.getVersioned("k");
    expect(await cw.insertIfVersion("k", new CacheEntry("v", { ttl: MINUTE }), seen.version)).toMatchObject({
      written: true,
    });
    await Promise.all(flush.map((node) => node.script("FLUSH")));
    await a.invalidate("k");
    expect(await a.get("k")).toBeUndefined();
  });

  it("rejects a token that is not one of this tier's versions", async () => {
    const { cw } = await pair();
    const error = await cw
      .insertIfVersion("k", new CacheEntry("v"), { token: "nonsense", writtenAt: undefined })
      .catch((e: unknown) => e);
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
  });
}

describeRedis("RedisTier conditional writes on a standalone server", () => {
  let redis: RedisHandle;
  let raw: Redis;
  const owned: { close(): unknown }[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.clientOptions);
  });
  afterAll(async () => {
    await Promise.all(owned.map((c) => c.close()));
    await raw.quit();
    await redis.stop();
  });

  describe("ioredis", () => {
    raceCases(
      async () => {
        const pair: [Redis, Redis] = [new Redis(redis.clientOptions), new Redis(redis.clientOptions)];
        for (const c of pair) owned.push({ close: () => c.quit() });
        return pair;
      },
      () => raw,
    );
  });

  describe("node-redis", () => {
    raceCases(
      async () => {
        const make = async () => {
          const c = createClient({ socket: { host: redis.host, port: redis.port } });
          c.on("error", () => undefined);
          owned.push({ close: () => c.destroy() });
          await c.connect();
          return c;
        };
        return [await make(), await make()];
      },
      () => raw,
    );
  });

  it("getVersioned of an entry or a tombstone is one GET (what get costs); only an absent key runs the read script", async () => {
    const prefix = uniquePrefix("cw-cost");
    const client = new Redis(redis.clientOptions);
    owned.push({ close: () => client.quit() });
    const tier = new RedisTier<string, string>({ client, prefix, conditionalWrites: true });
    const cw = tier.conditionalWrites!;
    await tier.insert("hit", new CacheEntry("v", { ttl: MINUTE }));
    await tier.insert("gone", new CacheEntry("v", { ttl: MINUTE }));
    await tier.invalidate("gone");
    await cw.getVersioned("warm-up"); // loads the read script (a first EVALSHA answers NOSCRIPT)
    const commands: string[] = [];
    const monitor = await raw.monitor();
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      // Commands a script runs are reported too (source "lua"): only the client's own count.
      if (source === "lua" || !args.some((arg) => arg.startsWith(prefix))) return;
      const command = String(args[0]).toLowerCase();
      commands.push(command === "eval" || command === "evalsha" ? "script" : command);
    });
    try {
      const hit = await cw.getVersioned("hit");
      expect(hit.entry?.value).toBe("v");
      expect(hit.version.writtenAt).toEqual(expect.any(Number));
      const tombstone = await cw.getVersioned("gone");
      expect(tombstone.entry).toBeUndefined();
      const absent = await cw.getVersioned("absent");
      expect(absent.entry).toBeUndefined();
      expect(absent.version.writtenAt).toBeUndefined();
      await pollUntil(async () => commands.length >= 4, "MONITOR to report the four commands");
      expect(commands).toEqual(["get", "get", "get", "script"]);
      // The versions still work as tokens.
      expect(
        await cw.insertIfVersion("hit", new CacheEntry("v2", { ttl: MINUTE }), hit.version),
      ).toMatchObject({
        written: true,
      });
      expect(
        await cw.insertIfVersion("gone", new CacheEntry("back", { ttl: MINUTE }), tombstone.version),
      ).toMatchObject({ written: true });
    } finally {
      monitor.disconnect();
    }
  });

  it("refuses conditionalWrites with an adapter that cannot run scripts, and a bad tombstoneTtl", () => {
    const adapter = {
      whenReady: () => undefined,
      getMany: () => Promise.resolve([]),
      scan: () => Promise.resolve(),
    };
    expect(
      () => new RedisTier({ client: adapter as unknown as RedisAdapter, conditionalWrites: true }),
    ).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", message: expect.stringContaining("runScript") }),
    );
    expect(() => new RedisTier({ client: raw, conditionalWrites: { tombstoneTtl: -1 } })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", message: expect.stringContaining("tombstoneTtl") }),
    );
    expect(() => new RedisTier({ client: raw, conditionalWrites: "yes" as unknown as boolean })).toThrow(
      expect.objectContaining({
        code: "INVALID_OPTION",
        message: expect.stringContaining("conditionalWrites"),
      }),
    );
    expect(new RedisTier({ client: raw }).conditionalWrites).toBeUndefined();
  });
});

describeRedis(
  "RedisTier conditional writes on a 3-master cluster",
  () => {
    let cluster: RedisClusterHandle;
    let raw: Cluster;
    const owned: { close(): unknown }[] = [];
    const nodes = () => cluster.nodes.map(({ host, port }) => ({ host, port }));
    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3 });
      raw = new Cluster(nodes());
      await new Promise((resolve) => raw.once("ready", resolve));
    });
    afterAll(async () => {
      await Promise.all(owned.map((c) => c.close()));
      await raw.quit();
      await cluster.stop();
    });

    describe("ioredis Cluster", () => {
      raceCases(
        async () => {
          const pair: [Cluster, Cluster] = [new Cluster(nodes()), new Cluster(nodes())];
          for (const c of pair) owned.push({ close: () => c.quit() });
          return pair;
        },
        () => raw,
      );
    });

    describe("node-redis cluster", () => {
      raceCases(
        async () => {
          const make = async () => {
            const c = createCluster({ rootNodes: nodes().map((socket) => ({ socket })) });
            c.on("error", () => undefined);
            owned.push({ close: () => c.destroy() });
            await c.connect();
            return c;
          };
          return [await make(), await make()];
        },
        () => raw,
      );
    });
  },
  true,
);
