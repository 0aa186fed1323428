import type { CaseDefinition } from "../conformance.js";
import { CacheEntry, assert } from "../helpers.js";

const WRITERS = 8;

export const concurrencyCases: readonly CaseDefinition[] = [
  {
    id: "concurrent-inserts",
    name: "concurrency: concurrent inserts of one key leave exactly one of the inserted entries, whole",
    async run({ tier, key, value }) {
      const entries = Array.from(
        { length: WRITERS },
        (_, i) => new CacheEntry(value(i), { tags: [`writer:${i}`], ttl: (i + 1) * 60_000 }),
      );
      await Promise.all(entries.map((entry) => tier.insert(key(0), entry)));
      const stored = await tier.get(key(0));
      assert.ok(stored !== undefined, "after concurrent inserts: expected an entry, got a miss");
      const winner = entries.findIndex((e) => isDeepEqual(e.value, stored.value));
      assert.ok(winner !== -1, "the stored value is none of the inserted values");
      assert.deepStrictEqual(
        [...stored.tags],
        [`writer:${winner}`],
        "tags come from a different insert than the value",
      );
      assert.equal(stored.ttl, (winner + 1) * 60_000, "ttl comes from a different insert than the value");
      // Later reads agree: one entry, not a mix that changes between reads.
      const again = await tier.get(key(0));
      assert.ok(again !== undefined && isDeepEqual(again.value, stored.value), "a second read differs");
    },
  },
];

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}
