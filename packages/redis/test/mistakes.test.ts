import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { Cache } from "@cachet/core";
import { CacheEntry, isCacheError } from "@cachet/tier";
import type { CacheError } from "@cachet/tier";
import { describeRedis, findFreePort, startRedis } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";
import { RedisBus, RedisLock, RedisStreams, RedisTier } from "../src/index.js";
import { waitFor } from "./coherence/fixtures/wait.js";

// The mistakes a new user makes, each with a clear error or a safe default.

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

const lazy = { url: "redis://127.0.0.1:1", ioredis: { lazyConnect: true } };

describe("misspelled option keys", () => {
  it.each([
    ["RedisTier", "`prefx`", "`prefix`", () => new RedisTier({ client: lazy, prefx: "users" } as never)],
    [
      "RedisTier",
      "`commandTimout`",
      "`commandTimeout`",
      () => new RedisTier({ client: lazy, prefix: "p", commandTimout: 5 } as never),
    ],
    [
      "RedisBus",
      "`chanel`",
      "`channel`",
      () => new RedisBus({ client: "redis://127.0.0.1:1", transport: "pubsub", chanel: "x" } as never),
    ],
    [
      "RedisBus",
      "`stream.maxlen`",
      "`stream.maxLen`",
      () =>
        new RedisBus({ client: "redis://127.0.0.1:1", transport: "stream", stream: { maxlen: 5 } } as never),
    ],
    [
      "RedisLock",
      "`prefx`",
      "`prefix`",
      () => new RedisLock({ client: "redis://127.0.0.1:1", prefx: "l:" } as never),
    ],
    [
      "RedisStreams",
      "`maxlen`",
      "`maxLen`",
      () => new RedisStreams({ client: "redis://127.0.0.1:1", maxlen: 5 } as never),
    ],
  ])("%s refuses %s, naming it and the closest known key", (owner, key, closest, build) => {
    const error = thrown(build);
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
    expect((error as Error).message).toBe(`${key} is not a ${owner} option; did you mean ${closest}?`);
  });
});

describe("RedisTier prefix: two caches never share keys by default", () => {
  it("without a prefix, keyed calls reject until a named cache attaches the tier", async () => {
    const tier = new RedisTier({ client: lazy });
    const error = await rejection(tier.get("42"));
    expect(isCacheError(error) && error.code).toBe("INVALID_OPTION");
    expect(String(error)).toMatch(/no `prefix`/);
    expect(isCacheError(await rejection(tier.clear())) && "cleared").toBe("cleared");
    tier.attach({ cacheName: "users", isNamed: true });
    expect(tier.redisKey("42")).toBe("cachet.users:42");
    tier.attach({ cacheName: "users", isNamed: true }); // the same cache again: fine
    await tier.close();
  });

  it("tiers attached to differently named caches get different namespaces", async () => {
    const users = new RedisTier({ client: lazy });
    const orders = new RedisTier({ client: lazy });
    users.attach({ cacheName: "users", isNamed: true });
    orders.attach({ cacheName: "orders", isNamed: true });
    expect(users.redisKey("42")).not.toBe(orders.redisKey("42"));
    await Promise.all([users.close(), orders.close()]);
  });

  it("refuses an unnamed cache, and a second cache of another name", async () => {
    const tier = new RedisTier({ client: lazy });
    const unnamed = thrown(() => tier.attach({ cacheName: "cache", isNamed: false }));
    expect(isCacheError(unnamed) && unnamed.code).toBe("INVALID_OPTION");
    expect(String(unnamed)).toMatch(/needs a `prefix`, or the cache a name/);
    tier.attach({ cacheName: "users", isNamed: true });
    const second = thrown(() => tier.attach({ cacheName: "orders", isNamed: true }));
    expect(isCacheError(second) && second.code).toBe("INVALID_OPTION");
    expect(String(second)).toMatch(/already stores cache "users"/);
    await tier.close();
  });

  it("the cache builder attaches its tiers: a named cache gets cachet.<name>, an unnamed one is refused at build", async () => {
    const users = new RedisTier<string, string>({ client: lazy });
    const cache = Cache.builder<string, string>()
      .name("users")
      .memory({ maxEntries: 10 })
      .fallback(Cache.builder<string, string>().storage(users))
      .build();
    expect(users.redisKey("42")).toBe("cachet.users:42");
    await cache.close();
    const orphan = new RedisTier<string, string>({ client: lazy });
    const refused = thrown(() =>
      Cache.builder<string, string>()
        .memory({ maxEntries: 10 })
        .fallback(Cache.builder<string, string>().storage(orphan))
        .build(),
    );
    expect(isCacheError(refused) && refused.code).toBe("INVALID_OPTION");
    expect(String(refused)).toMatch(/needs a `prefix`, or the cache a name/);
    await orphan.close();
  });

  it("an explicit prefix wins over any cache name", async () => {
    const tier = new RedisTier({ client: lazy, prefix: "shared" });
    tier.attach({ cacheName: "users", isNamed: true });
    tier.attach({ cacheName: "orders", isNamed: false });
    expect(tier.redisKey("42")).toBe("shared:42");
    await tier.close();
  });
});

describe("while Redis is unreachable", () => {
  let stderr: jest.SpiedFunction<typeof process.stderr.write>;
  let consoleError: jest.SpiedFunction<typeof console.error>;
  const printed = (): string =>
    [...stderr.mock.calls.map((c) => String(c[0])), ...consoleError.mock.calls.map((c) => c.join(" "))].join(
      "\n",
    );
  beforeAll(() => {
    stderr = jest.spyOn(process.stderr, "write");
    consoleError = jest.spyOn(console, "error");
  });
  afterAll(() => {
    stderr.mockRestore();
    consoleError.mockRestore();
  });

  it("bus.ready() rejects with TIMEOUT after readyTimeout instead of waiting forever", async () => {
    const errors: CacheError[] = [];
    const bus = new RedisBus({
      client: `redis://127.0.0.1:${await findFreePort()}`,
      transport: "pubsub",
      readyTimeout: 200,
      onError: (error) => errors.push(error),
    });
    try {
      const started = Date.now();
      const error = await rejection(bus.ready());
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(isCacheError(error) && error.code).toBe("TIMEOUT");
      expect(String(error)).toMatch(/`readyTimeout` \(200 ms\)/);
    } finally {
      await bus.close();
    }
  });

  it("clients made from a URL report connection errors to onError, never to stderr", async () => {
    const url = `redis://127.0.0.1:${await findFreePort()}`;
    const busErrors: CacheError[] = [];
    const lockErrors: CacheError[] = [];
    const streamErrors: CacheError[] = [];
    const bus = new RedisBus({ client: url, transport: "stream", onError: (e) => busErrors.push(e) });
    const lock = new RedisLock({ client: url, onError: (e) => lockErrors.push(e) });
    const streams = new RedisStreams({ client: url, onError: (e) => streamErrors.push(e) });
    const silent = new RedisLock({ client: url }); // no onError: dropped, still not printed
    try {
      await waitFor(
        () => busErrors.length > 0 && lockErrors.length > 0 && streamErrors.length > 0,
        "connection errors to reach every onError",
      );
      expect(busErrors[0]!.code).toBe("TIER_FAILURE");
      expect(String(lockErrors[0]!.cause)).toMatch(/ECONNREFUSED/);
      // A lost connection fails the lock's calls fast instead of waiting in a queue.
      expect(isCacheError(await rejection(lock.tryAcquire("k", 1_000)))).toBe(true);
      expect(printed()).not.toMatch(/Unhandled error event/);
    } finally {
      await Promise.all([bus.close(), lock.close(), streams.close(), silent.close()]);
    }
  });
});

describeRedis(
  "failFastBeforeConnect",
  () => {
    let redis: RedisHandle;
    const closers: (() => Promise<unknown>)[] = [];
    beforeAll(async () => {
      redis = await startRedis({ own: true });
    });
    afterEach(async () => {
      for (const close of closers.splice(0)) await close();
    });
    afterAll(() => redis.stop());

    it("rejects at once while the client has never connected, and serves once it has", async () => {
      const port = await findFreePort();
      const down = new RedisTier({
        client: `redis://127.0.0.1:${port}`,
        prefix: "ff",
        commandTimeout: 5_000,
        failFastBeforeConnect: true,
      });
      closers.push(() => down.close());
      const started = Date.now();
      const error = await rejection(down.get("k"));
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(isCacheError(error) && error.code).toBe("TIER_FAILURE");
      expect(String(error)).toMatch(/not connected yet/);

      const up = new RedisTier({ client: redis.url, prefix: "ff", failFastBeforeConnect: true });
      closers.push(() => up.close());
      const results = await waitFor(
        async () =>
          up.insert("k", new CacheEntry("v")).then(
            () => true,
            () => false,
          ),
        "the tier to connect",
      );
      expect(results).toBe(true);
      expect((await up.get("k"))?.value).toBe("v");
    });
  },
  true,
);
