import type { CaseDefinition } from "../conformance.js";
import { CacheEntry, MINUTE, assert, assertEntry, assertMiss, requireMethod } from "../helpers.js";

export const batchCases: readonly CaseDefinition[] = [
  {
    id: "get-many",
    name: "batch: getMany returns one result per key, in order, with misses and expired keys as undefined",
    async run({ tier, clock, key, value }) {
      const getMany = requireMethod(tier, "getMany", "get-many");
      await tier.insert(key(0), new CacheEntry(value(0)));
      await tier.insert(key(2), new CacheEntry(value(2)));
      await tier.insert(key(3), CacheEntry.expiresAfter(value(3), MINUTE));
      clock.advance(MINUTE);
      const results = await getMany([key(2), key(1), key(0), key(3), key(2)]);
      assert.equal(results.length, 5, "getMany must return one result per key");
      assertEntry(results[0], { value: value(2) }, "getMany[0]");
      assertMiss(results[1], "getMany[1] (never inserted)");
      assertEntry(results[2], { value: value(0) }, "getMany[2]");
      assertMiss(results[3], "getMany[3] (expired)");
      assertEntry(results[4], { value: value(2) }, "getMany[4] (repeated key)");
      assert.deepStrictEqual(await getMany([]), [], "getMany of no keys");
    },
  },
  {
    id: "insert-many",
    name: "batch: insertMany stores every entry with its metadata, stamping cachedAt",
    async run({ tier, clock, key, value }) {
      const insertMany = requireMethod(tier, "insertMany", "insert-many");
      await insertMany([
        [key(0), new CacheEntry(value(0), { tags: ["a"] })],
        [key(1), CacheEntry.expiresAfter(value(1), MINUTE)],
        [key(2), new CacheEntry(value(2))],
      ]);
      await insertMany([]);
      assertEntry(await tier.get(key(0)), { value: value(0), tags: ["a"], cachedAt: clock.now() }, "key 0");
      assertEntry(await tier.get(key(1)), { value: value(1), ttl: MINUTE }, "key 1");
      assertEntry(await tier.get(key(2)), { value: value(2) }, "key 2");
      clock.advance(MINUTE);
      assertMiss(await tier.get(key(1)), "key 1 after its ttl");
    },
  },
  {
    id: "invalidate-many",
    name: "batch: invalidateMany removes the listed keys only, missing keys included",
    async run({ tier, key, value }) {
      const invalidateMany = requireMethod(tier, "invalidateMany", "invalidate-many");
      for (let i = 0; i < 4; i++) await tier.insert(key(i), new CacheEntry(value(i)));
      await invalidateMany([key(0), key(2), key(9)]);
      await invalidateMany([]);
      assertMiss(await tier.get(key(0)), "key 0");
      assertMiss(await tier.get(key(2)), "key 2");
      assertEntry(await tier.get(key(1)), { value: value(1) }, "key 1 (not listed)");
      assertEntry(await tier.get(key(3)), { value: value(3) }, "key 3 (not listed)");
    },
  },
];
