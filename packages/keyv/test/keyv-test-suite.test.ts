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
import { Keyv as Keyv6 } from "keyv6";
import { keyvStore } from "../src/index.js";

type SuiteRunner = Parameters<typeof keyvTestSuite>[0];
type SuiteCase = (t: { expect: typeof expect }) => unknown;

/** Registers the whole suite for stores made by `store()`; returns a check that all cases ran. */
function registerSuite(
  store: () => unknown,
  keyvClass: unknown = Keyv,
  replaced: Record<string, { name: string; run: SuiteCase }> = {},
): void {
  const registered: string[] = [];
  const ran = new Set<string>();
  const runner = {
    it(name: string, fn: SuiteCase) {
      registered.push(name);
      const replacement = replaced[name];
      // A zero-argument wrapper: jest would treat a one-argument function as taking `done`.
      it(replacement === undefined ? name : `${name} → ${replacement.name}`, async () => {
        await (replacement?.run ?? fn)({ expect });
        ran.add(name);
      });
    },
    beforeEach: (fn: () => unknown) => beforeEach(async () => void (await fn())),
    afterEach: (fn: () => unknown) => afterEach(async () => void (await fn())),
  };
  keyvTestSuite(runner as unknown as SuiteRunner, keyvClass as typeof Keyv, store);
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

// Keyv 6, the current major (its engines field asks for Node 22.19; it runs on 20 too), once with
// the default store, which Keyv 6 wraps in its KeyvBridgeAdapter, and once as a native Keyv 6
// adapter (`keyv: 6`). The suite was written for Keyv 5, where `delete([keys])` resolves to one
// boolean; Keyv 6 resolves to one per key, so that case asks the Keyv 6 question instead, checked
// against Keyv 6's own default store.
function deleteManyV6(expected: (existed: boolean[]) => boolean[], options?: { keyv: 6 }) {
  return {
    ".deleteMany([keys]) with nonexistent keys resolves to false": {
      name: "Keyv 6: one boolean per key, as Keyv 6's own default store answers",
      async run(t: { expect: typeof expect }) {
        const cache = Cache.builder<string, unknown>().memory({ maxEntries: 100 }).build();
        const ours = new Keyv6({ store: keyvStore(cache, options) });
        const reference = new Keyv6();
        const theirs = await reference.delete(["foo", "foo1", "foo2"]);
        t.expect(theirs).toEqual([false, false, false]);
        t.expect(await ours.delete(["foo", "foo1", "foo2"])).toEqual(theirs);
        await Promise.all([ours.set("foo", "bar"), reference.set("foo", "bar")]);
        t.expect(await reference.delete(["foo", "foo1"])).toEqual([true, false]);
        t.expect(await ours.delete(["foo", "foo1"])).toEqual(expected([true, false]));
        await cache.close();
      },
    },
  };
}

describe("@keyv/test-suite with Keyv 6 on a cachet Cache (default store, through Keyv 6's bridge)", () => {
  const cache = Cache.builder<string, unknown>().memory({ maxEntries: 10_000 }).build();
  afterAll(() => cache.close());
  // Through the bridge, one "any deleted" boolean is reported for every key.
  registerSuite(
    () => keyvStore(cache),
    Keyv6,
    deleteManyV6((e) => e.map(() => e.includes(true))),
  );
});

describe("@keyv/test-suite with Keyv 6 on a cachet Cache (keyv: 6, a native Keyv 6 adapter)", () => {
  const cache = Cache.builder<string, unknown>().memory({ maxEntries: 10_000 }).build();
  afterAll(() => cache.close());
  registerSuite(
    () => keyvStore(cache, { keyv: 6 }),
    Keyv6,
    deleteManyV6((e) => e, { keyv: 6 }),
  );
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
        Cache.builder<string, unknown>().storage(
          new RedisTier<string, unknown>({ client, prefix: "keyv-suite" }),
        ),
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
