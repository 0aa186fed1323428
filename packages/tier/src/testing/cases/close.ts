import type { CaseContext, CaseDefinition } from "../conformance.js";
import { CacheEntry, assert, assertRejectsWith, requireMethod } from "../helpers.js";

async function closeRejects<K, V>({ tier, key, value }: CaseContext<K, V>): Promise<void> {
  const close = requireMethod(tier, "close", "close-rejects");
  await tier.insert(key(0), new CacheEntry(value(0)));
  await close();
  await assertRejectsWith(tier.get(key(0)), "CLOSED", "get after close");
  await assertRejectsWith(tier.insert(key(1), new CacheEntry(value(1))), "CLOSED", "insert after close");
  await assertRejectsWith(tier.invalidate(key(0)), "CLOSED", "invalidate after close");
  await assertRejectsWith(tier.clear(), "CLOSED", "clear after close");
  if (tier.getMany) await assertRejectsWith(tier.getMany([key(0)]), "CLOSED", "getMany after close");
  if (tier.insertMany) {
    await assertRejectsWith(
      tier.insertMany([[key(1), new CacheEntry(value(1))]]),
      "CLOSED",
      "insertMany after close",
    );
  }
  if (tier.invalidateMany) {
    await assertRejectsWith(tier.invalidateMany([key(0)]), "CLOSED", "invalidateMany after close");
  }
}

export const closeCases: readonly CaseDefinition[] = [
  {
    id: "close-rejects",
    name: "close: after close() every operation rejects with a CacheError of code CLOSED",
    run: closeRejects,
  },
  {
    id: "close-idempotent",
    name: "close: close() is idempotent; a second call resolves",
    async run({ tier }) {
      const close = requireMethod(tier, "close", "close-idempotent");
      await close();
      await close().catch((error: unknown) => {
        assert.fail(`a second close() must resolve, but it rejected with ${String(error)}`);
      });
    },
  },
];
