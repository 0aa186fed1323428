import type { CacheTier, ConditionalWrites } from "@cachet/tier";
import type { CaseContext, CaseDefinition, ConformanceCaseId } from "../conformance.js";
import { CacheEntry, MINUTE, assert, assertEntry, assertMiss, read } from "../helpers.js";

const WRITERS = 8;

/** The tier's capability, or a failure that says how to declare (or not) the capability. */
function capability<K, V>(tier: CacheTier<K, V>): ConditionalWrites<K, V> {
  const conditional = tier.conditionalWrites;
  assert.ok(
    conditional !== undefined &&
      typeof conditional.getVersioned === "function" &&
      typeof conditional.insertIfVersion === "function",
    "the target declares `conditionalWrites: true` but the tier has no `conditionalWrites` " +
      "(with `getVersioned` and `insertIfVersion`); remove the declaration or implement the capability",
  );
  assert.ok(
    Number.isFinite(conditional.tombstoneTtl) && conditional.tombstoneTtl > 0,
    "`conditionalWrites.tombstoneTtl` must be a positive number of ms",
  );
  return conditional;
}

function definition(
  id: ConformanceCaseId,
  name: string,
  run: <K, V>(ctx: CaseContext<K, V> & { cw: ConditionalWrites<K, V> }) => Promise<void>,
  applies?: CaseDefinition["applies"],
): CaseDefinition {
  return {
    id,
    name: `conditional: ${name}`,
    ...(applies ? { applies } : {}),
    run: <K, V>(ctx: CaseContext<K, V>) => run<K, V>({ ...ctx, cw: capability(ctx.tier) }),
  };
}

/**
 * Cases for the optional conditional-writes capability; generated only when the target declares
 * `conditionalWrites: true`. Each writes with the same tier instance the "other process" uses:
 * on a shared backend, two instances and two calls on one instance meet the same state.
 */
export const conditionalCases: readonly CaseDefinition[] = [
  definition(
    "conditional-read",
    "getVersioned returns what get returns, and equal versions while nothing writes",
    async ({ tier, cw, key, value }) => {
      const miss = await cw.getVersioned(key(0));
      assertMiss(miss.entry, "getVersioned of a missing key");
      assert.equal(typeof miss.version.token, "string", "a miss has a version token too");
      const entry = new CacheEntry(value(1), { ttl: 5 * MINUTE, tags: ["t"], staleFor: MINUTE });
      await tier.insert(key(1), entry);
      const first = await cw.getVersioned(key(1));
      const plain = await read(tier, key(1));
      assertEntry(
        first.entry,
        { value: value(1), ttl: 5 * MINUTE, tags: ["t"], staleFor: MINUTE },
        "getVersioned",
      );
      assert.equal(first.entry.cachedAt, plain?.cachedAt, "getVersioned and get disagree on cachedAt");
      const second = await cw.getVersioned(key(1));
      assert.equal(
        second.version.token,
        first.version.token,
        "two reads with no write between got different versions",
      );
      assert.notEqual(first.version.token, miss.version.token, "an entry and an absent key share a version");
    },
  ),
  definition(
    "conditional-write",
    "insertIfVersion stores when the key is unchanged, and the new version is the one reads return",
    async ({ tier, cw, key, value }) => {
      const before = await cw.getVersioned(key(0));
      const result = await cw.insertIfVersion(
        key(0),
        new CacheEntry(value(1), { ttl: MINUTE }),
        before.version,
      );
      assert.ok(result.written, `a write on an unchanged (absent) key was refused`);
      assert.notEqual(result.version.token, before.version.token, "the write did not change the version");
      assertEntry(await read(tier, key(0)), { value: value(1), ttl: MINUTE }, "after the conditional write");
      const after = await cw.getVersioned(key(0));
      assert.equal(
        after.version.token,
        result.version.token,
        "reads do not return the version the write reported",
      );
      const again = await cw.insertIfVersion(
        key(0),
        new CacheEntry(value(2), { ttl: MINUTE }),
        after.version,
      );
      assert.ok(again.written, "a write on an unchanged (present) key was refused");
      assertEntry(await read(tier, key(0)), { value: value(2) }, "after the second conditional write");
    },
  ),
  definition(
    "conditional-conflict",
    "insertIfVersion never replaces a write made after its read (insert, or another conditional write)",
    async ({ tier, cw, key, value }) => {
      const read1 = await cw.getVersioned(key(0));
      await tier.insert(key(0), new CacheEntry(value(1), { ttl: MINUTE }));
      const late = await cw.insertIfVersion(key(0), new CacheEntry(value(9), { ttl: MINUTE }), read1.version);
      assert.deepStrictEqual(
        late,
        { written: false, reason: "conflict" },
        "a write based on a read before an insert",
      );
      assertEntry(await read(tier, key(0)), { value: value(1) }, "the newer insert");

      const read2 = await cw.getVersioned(key(0));
      const winner = await cw.insertIfVersion(
        key(0),
        new CacheEntry(value(2), { ttl: MINUTE }),
        read2.version,
      );
      assert.ok(winner.written, "the first conditional write on a version was refused");
      const loser = await cw.insertIfVersion(
        key(0),
        new CacheEntry(value(8), { ttl: MINUTE }),
        read2.version,
      );
      assert.equal(loser.written, false, "a second conditional write on the same version was stored");
      assertEntry(await read(tier, key(0)), { value: value(2) }, "the first conditional write");
    },
  ),
  definition(
    "conditional-invalidate",
    "a write based on a read made before invalidate does not bring the entry back (present or absent key)",
    async ({ tier, cw, key, value }) => {
      await tier.insert(key(0), new CacheEntry(value(0), { ttl: MINUTE }));
      const hit = await cw.getVersioned(key(0));
      const miss = await cw.getVersioned(key(1));
      await tier.invalidate(key(0));
      await tier.invalidate(key(1));
      for (const [k, seen] of [
        [key(0), hit],
        [key(1), miss],
      ] as const) {
        const result = await cw.insertIfVersion(k, new CacheEntry(value(5), { ttl: MINUTE }), seen.version);
        assert.equal(
          result.written,
          false,
          "a write based on a read before invalidate was stored (resurrection)",
        );
        assertMiss(await read(tier, k), "after invalidate and a late conditional write");
      }
    },
  ),
  definition(
    "conditional-tombstone",
    "invalidate leaves a tombstone: a miss with a new version, on which a later load may write",
    async ({ tier, cw, key, value }) => {
      await tier.insert(key(0), new CacheEntry(value(0), { ttl: MINUTE }));
      const before = await cw.getVersioned(key(0));
      await tier.invalidate(key(0));
      const tombstone = await cw.getVersioned(key(0));
      assertMiss(tombstone.entry, "getVersioned after invalidate");
      assert.notEqual(tombstone.version.token, before.version.token, "invalidate did not change the version");
      const result = await cw.insertIfVersion(
        key(0),
        new CacheEntry(value(1), { ttl: MINUTE }),
        tombstone.version,
      );
      assert.ok(result.written, "a write based on a read after invalidate was refused");
      assertEntry(await read(tier, key(0)), { value: value(1) }, "after writing over the tombstone");
    },
  ),
  definition(
    "conditional-token-expiry",
    "a version read from an absent key is refused once tombstoneTtl has passed, even if the tombstone is gone",
    async ({ tier, cw, clock, key, value }) => {
      const miss = await cw.getVersioned(key(0));
      await tier.invalidate(key(0));
      clock.advance(cw.tombstoneTtl + 1);
      const result = await cw.insertIfVersion(
        key(0),
        new CacheEntry(value(1), { ttl: 5 * MINUTE }),
        miss.version,
      );
      assert.equal(
        result.written,
        false,
        "a load that began before an invalidate wrote back after its tombstone expired",
      );
      assertMiss(await read(tier, key(0)), "after the refused write");
    },
  ),
  definition(
    "conditional-concurrent",
    "concurrent conditional writes on one version: exactly one is stored",
    async ({ tier, cw, key, value }) => {
      const seen = await cw.getVersioned(key(0));
      const results = await Promise.all(
        Array.from({ length: WRITERS }, (_, i) =>
          cw.insertIfVersion(key(0), new CacheEntry(value(i), { ttl: MINUTE }), seen.version),
        ),
      );
      const winners = results.flatMap((r, i) => (r.written ? [i] : []));
      assert.equal(
        winners.length,
        1,
        `${winners.length} of ${WRITERS} concurrent writes on one version were stored`,
      );
      assertEntry(await read(tier, key(0)), { value: value(winners[0]!) }, "the one stored write");
    },
  ),
  definition(
    "conditional-clear",
    "a version read from an entry that clear() then removed is refused",
    async ({ tier, cw, key, value }) => {
      await tier.insert(key(0), new CacheEntry(value(0), { ttl: MINUTE }));
      const hit = await cw.getVersioned(key(0));
      await tier.clear();
      const result = await cw.insertIfVersion(key(0), new CacheEntry(value(1), { ttl: MINUTE }), hit.version);
      assert.equal(result.written, false, "a write based on a read before clear() was stored");
      assertMiss(await read(tier, key(0)), "after clear and a late conditional write");
    },
  ),
  definition(
    "conditional-batch",
    "insertMany and invalidateMany version their keys like insert and invalidate",
    async ({ tier, cw, key, value }) => {
      assert.ok(
        typeof tier.insertMany === "function" && typeof tier.invalidateMany === "function",
        "no batch methods",
      );
      const before = await Promise.all([0, 1].map((i) => cw.getVersioned(key(i))));
      await tier.insertMany([0, 1].map((i) => [key(i), new CacheEntry(value(i), { ttl: MINUTE })] as const));
      const late = await cw.insertIfVersion(
        key(0),
        new CacheEntry(value(9), { ttl: MINUTE }),
        before[0]!.version,
      );
      assert.equal(late.written, false, "a write based on a read before insertMany was stored");
      const seen = await cw.getVersioned(key(1));
      await tier.invalidateMany([key(1)]);
      const stale = await cw.insertIfVersion(key(1), new CacheEntry(value(9), { ttl: MINUTE }), seen.version);
      assert.equal(stale.written, false, "a write based on a read before invalidateMany was stored");
      assertEntry(await read(tier, key(0)), { value: value(0) }, "the insertMany entry");
      assertMiss(await read(tier, key(1)), "after invalidateMany");
    },
    (target) => (target.exclude?.batch !== undefined ? "the target has no batch methods" : undefined),
  ),
];
