// Keyv's own published compliance suite (@keyv/test-suite), run against a cachet Cache as the
// store. The suite is written against vitest's API (`test.it(name, (t) => t.expect(...))`); the
// shim below hands it jest's `it`, `beforeEach`, `afterEach` and `expect`, which have the same
// shapes, and counts what it registers so the last test can check that every case ran.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { Cache } from "@cachet/core";
import { RedisTier } from "@cachet/redis";
import { describeRedis, startRedis } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";
import keyvTestSuite from "@keyv/test-suite";
import { Redis } from "ioredis";
import Keyv from "keyv";
import { keyvStore } from "../src/index.js";

type SuiteRunner = Parameters<typeof keyvTestSuite>[0];
type SuiteCase = (t: { expect: typeof expect }) => unknown;

/** Registers the whole suite for stores made by `store()`; returns a check that all cases ran. */
function registerSuite(store: () => unknown): void {
  const registered: string[] = [];
  const ran = new Set<string>();
  const runner = {
    it(name: string, fn: SuiteCase) {
      registered.push(name);
      // A zero-argument wrapper: jest would treat a one-argument function as taking `done`.
      it(name, async () => {
        await fn({ expect });
        ran.add(name);
      });
    },
    beforeEach: (fn: () => unknown) => beforeEach(async () => void (await fn())),
    afterEach: (fn: () => unknown) => afterEach(async () => void (await fn())),
  };
  keyvTestSuite(runner as unknown as SuiteRunner, Keyv, store);
  it("ran every case of @keyv/test-suite, none skipped", () => {
    // 2.1.2 has 38 cases (api, values, namespaces); a later version may add some, never fewer.
    expect(registered.length).toBeGreaterThanOrEqual(38);
    expect(new Set(registered).size).toBe(registered.length);
    expect([...ran].sort()).toEqual([...registered].sort());
  });
}

describe("@keyv/test-suite on a cachet Cache (memory L1)", () => {
  const cache = Cache.builder<string, unknown>().memory({ maxEntries: 10_000 }).build();
  afterAll(() => cache.close());
  registerSuite(() => keyvStore(cache));
});

describeRedis("@keyv/test-suite on a cachet Cache (memory L1, RedisTier L2 on a real redis-server)", () => {
  let redis: RedisHandle;
  let client: Redis;
  let cache: Cache<string, unknown>;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.clientOptions);
    cache = Cache.builder<string, unknown>()
      .memory({ maxEntries: 10_000 })
      .fallback(
        Cache.builder<string, unknown>().storage(new RedisTier<string, unknown>({ client, prefix: "keyv-suite" })),
      )
      .build();
  });
  afterAll(async () => {
    await cache.close();
    await client.quit();
    await redis.stop();
  });
  registerSuite(() => keyvStore(cache));
});
