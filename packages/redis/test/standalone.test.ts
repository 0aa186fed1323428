import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { CacheEntry, CacheError, isCacheError } from "@cachet/tier";
import { describeRedis, startRedis, sendCommand } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { RedisTier } from "../src/index.js";
import type { RedisAdapter } from "../src/index.js";
import { sharedCases, uniquePrefix } from "./fixtures/shared-cases.js";

describeRedis("RedisTier on a standalone server", () => {
  let redis: RedisHandle;
  let client: Redis;
  let raw: Redis;
  let nodeClient: ReturnType<typeof createClient>;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.clientOptions);
    raw = new Redis(redis.clientOptions);
    nodeClient = createClient({ socket: { host: redis.host, port: redis.port } });
    nodeClient.on("error", () => undefined);
    await nodeClient.connect();
  });
  afterAll(async () => {
    await client.quit();
    await raw.quit();
    nodeClient.destroy();
    await redis.stop();
  });

  describe("with a user's ioredis client", () => {
    sharedCases(() => ({
      create: (options) => new RedisTier({ client, prefix: uniquePrefix(), ...options }),
      raw: () => raw,
    }));

    it("never closes the user's client", async () => {
      const tier = new RedisTier({ client, prefix: uniquePrefix() });
      await tier.close();
      expect(client.status).toBe("ready");
      expect(await client.ping()).toBe("PONG");
    });
  });

  describe("with a node-redis client", () => {
    sharedCases(() => ({
      create: (options) => new RedisTier({ client: nodeClient, prefix: uniquePrefix(), ...options }),
      raw: () => raw,
    }));

    it("never closes the user's client", async () => {
      const tier = new RedisTier({ client: nodeClient, prefix: uniquePrefix() });
      await tier.close();
      expect(nodeClient.isReady).toBe(true);
    });
  });

  describe("with a client the tier owns (URL)", () => {
    sharedCases(() => ({
      create: (options) => new RedisTier({ client: redis.url, prefix: uniquePrefix(), ...options }),
      raw: () => raw,
    }));

    it("closes the client it created", async () => {
      const before = (await raw.client("LIST")) as string;
      const name = `owned-${uniquePrefix()}`;
      const tier = new RedisTier({
        client: { url: redis.url, ioredis: { connectionName: name } },
        prefix: uniquePrefix(),
      });
      await tier.ping();
      expect(await raw.client("LIST")).toContain(`name=${name}`);
      await tier.close();
      const deadline = Date.now() + 2_000;
      while (((await raw.client("LIST")) as string).includes(`name=${name}`) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(await raw.client("LIST")).not.toContain(`name=${name}`);
      expect(before).not.toContain(`name=${name}`);
    });

    it("connects with username and password from the URL", async () => {
      if (redis.isExternal) return; // cannot create users on a shared server
      const user = `u${uniquePrefix().replace(/-/g, "")}`;
      expect(
        await sendCommand(redis.host, redis.port, ["ACL", "SETUSER", user, "on", ">s3cr:t@", "~*", "+@all"]),
      ).toBe("OK");
      const tier = new RedisTier({
        client: `redis://${user}:${encodeURIComponent("s3cr:t@")}@${redis.host}:${redis.port}/0`,
        prefix: uniquePrefix(),
      });
      await tier.insert("k", new CacheEntry("authed"));
      expect((await tier.get("k"))?.value).toBe("authed");
      expect(await raw.acl("WHOAMI")).toBe("default");
      await tier.close();
      const wrong = new RedisTier({
        client: `redis://${user}:nope@${redis.host}:${redis.port}`,
        commandTimeout: 300,
      });
      const error: unknown = await wrong.ping().catch((e: unknown) => e);
      expect(isCacheError(error)).toBe(true);
      await wrong.close();
      await sendCommand(redis.host, redis.port, ["ACL", "DELUSER", user]);
    });
  });
});

describe("RedisTier options", () => {
  const client = { url: "redis://127.0.0.1:1", ioredis: { lazyConnect: true } };

  it.each([
    [{ prefix: "" }, /`prefix`/],
    [{ commandTimeout: 0 }, /`commandTimeout`/],
    [{ commandTimeout: -5 }, /`commandTimeout`/],
    [{ ttl: "soon" as "1s" }, /`ttl`/],
    [{ scanCount: 0 }, /`scanCount`/],
    [{ name: "" }, /`name`/],
  ])("rejects %p at construction", (options, message) => {
    expect(() => new RedisTier({ client, ...options })).toThrow(message);
    try {
      new RedisTier({ client, ...options });
    } catch (error) {
      expect(error).toBeInstanceOf(CacheError);
      expect((error as CacheError).code).toBe("INVALID_OPTION");
    }
  });

  it("rejects bad clients and URLs at construction", () => {
    expect(() => new RedisTier({ client: "http://localhost" })).toThrow(/redis:\/\/ or rediss:\/\//);
    expect(() => new RedisTier({ client: "not a url" })).toThrow(/valid redis/);
    expect(() => new RedisTier({ client: "redis://h:1/x" })).toThrow(/invalid db/);
    expect(() => new RedisTier({ client: new Map() as never })).toThrow(/`client` must be/);
    expect(() => new RedisTier({ client: { cluster: [] } })).toThrow(/`client.cluster`/);
    expect(() => new RedisTier({ client: { hots: "redis.local" } as never })).toThrow(
      /unknown connection option `hots`/,
    );
    expect(() => new RedisTier({ client: { get: () => Promise.resolve(null) } as never })).toThrow(
      /RedisAdapter/,
    );
    const prefixed = new Redis({ keyPrefix: "app:", lazyConnect: true });
    expect(() => new RedisTier({ client: prefixed })).toThrow(/keyPrefix/);
    prefixed.disconnect();
  });

  it("takes an adapter written as an object literal, and never closes it", async () => {
    const stored = new Map<string, Buffer>();
    let closed = false;
    const adapter: RedisAdapter = {
      kind: "map",
      isCluster: false,
      whenReady: () => undefined,
      get: (key) => Promise.resolve(stored.get(key) ?? null),
      getMany: (keys) => Promise.resolve(keys.map((key) => stored.get(key) ?? null)),
      set: (key, value) => Promise.resolve(void stored.set(key, value)),
      setMany: (writes) => Promise.resolve(writes.forEach((w) => stored.set(w.key, w.value))),
      delete: (keys) => Promise.resolve(keys.forEach((key) => stored.delete(String(key)))),
      scan: (_pattern, _count, onKeys) => onKeys([...stored.keys()].map((key) => Buffer.from(key))),
      ping: () => Promise.resolve(),
      close: () => Promise.resolve(void (closed = true)),
    };
    const tier = new RedisTier({ client: adapter, prefix: "lit" });
    await tier.insert("a", new CacheEntry(1));
    expect(stored.has("lit:a")).toBe(true);
    expect((await tier.get("a"))?.value).toBe(1);
    await tier.close();
    expect(closed).toBe(false);
  });

  it("requires serializeKey for non-string keys and uses it", async () => {
    const tier = new RedisTier<number>({ client, prefix: "p" });
    const error: unknown = await tier.get(1).catch((e: unknown) => e);
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
    const keyed = new RedisTier<number>({ client, prefix: "p", serializeKey: (n) => `n${n}` });
    expect(keyed.redisKey(7)).toBe("p:n7");
    await Promise.all([tier.close(), keyed.close()]);
  });
});
