import type { CaseDefinition } from "../conformance.js";
import { CacheEntry, assert, requireMethod } from "../helpers.js";

export const sizeCases: readonly CaseDefinition[] = [
  {
    id: "size",
    name: "size: 0 when empty, counts inserts, replacing does not grow it, 0 after clear, never negative",
    async run({ tier, key, value }) {
      const size = requireMethod(tier, "size", "size");
      assert.equal(await size(), 0, "size of a new tier");
      for (let i = 0; i < 3; i++) await tier.insert(key(i), new CacheEntry(value(i)));
      assert.equal(await size(), 3, "size after 3 inserts");
      await tier.insert(key(0), new CacheEntry(value(9)));
      assert.equal(await size(), 3, "size after replacing an entry");
      await tier.invalidate(key(1));
      await tier.invalidate(key(7));
      const afterInvalidate = await size();
      assert.ok(
        afterInvalidate >= 2 && afterInvalidate <= 3,
        `size after one invalidate: ${afterInvalidate}`,
      );
      await tier.clear();
      assert.equal(await size(), 0, "size after clear");
      await tier.invalidate(key(0));
      assert.equal(await size(), 0, "size after invalidating on an empty tier");
    },
  },
];
