import type { CaseDefinition } from "../conformance.js";
import { CacheEntry, MINUTE, assert, assertEntry, assertMiss, read } from "../helpers.js";

const ONE_MIB = 1024 * 1024;

export const roundTripCases: readonly CaseDefinition[] = [
  {
    id: "round-trip",
    name: "round-trip: get returns what insert stored, and misses a key never inserted",
    async run({ tier, key, value }) {
      assertMiss(await read(tier, key(0)), "get before insert");
      await tier.insert(key(0), new CacheEntry(value(0)));
      assertEntry(await read(tier, key(0)), { value: value(0) }, "get after insert");
      assertMiss(await read(tier, key(1)), "get of another key");
    },
  },
  {
    id: "replace",
    name: "round-trip: a second insert of a key replaces the first entry and its metadata",
    async run({ tier, key, value }) {
      await tier.insert(key(0), new CacheEntry(value(0), { tags: ["first"], ttl: 5 * MINUTE }));
      await tier.insert(key(0), new CacheEntry(value(1), { tags: ["second"], ttl: 7 * MINUTE }));
      assertEntry(
        await read(tier, key(0)),
        { value: value(1), tags: ["second"], ttl: 7 * MINUTE },
        "get after replace",
      );
    },
  },
  {
    id: "invalidate",
    name: "round-trip: invalidate removes only its key, and succeeds for a missing key",
    async run({ tier, key, value }) {
      await tier.insert(key(0), new CacheEntry(value(0)));
      await tier.insert(key(1), new CacheEntry(value(1)));
      await tier.invalidate(key(0));
      assertMiss(await read(tier, key(0)), "get of the invalidated key");
      assertEntry(await read(tier, key(1)), { value: value(1) }, "get of the other key");
      await tier.invalidate(key(2)); // must resolve
      await tier.invalidate(key(0)); // twice too
      await tier.insert(key(0), new CacheEntry(value(2)));
      assertEntry(await read(tier, key(0)), { value: value(2) }, "get after re-insert");
    },
  },
  {
    id: "clear",
    name: "round-trip: clear removes every entry, and the tier stays usable",
    async run({ tier, key, value }) {
      for (let i = 0; i < 5; i++) await tier.insert(key(i), new CacheEntry(value(i)));
      await tier.clear();
      for (let i = 0; i < 5; i++) assertMiss(await read(tier, key(i)), `get of key ${i} after clear`);
      await tier.clear(); // clearing an empty tier resolves
      await tier.insert(key(0), new CacheEntry(value(0)));
      assertEntry(await read(tier, key(0)), { value: value(0) }, "get after clear and insert");
    },
  },
  {
    id: "metadata",
    name: "round-trip: ttl, cachedAt, staleFor and tags come back as inserted; isStale is not stored",
    async run({ tier, clock, key, value }) {
      const cachedAt = clock.now() - 1_000;
      const tags = ["user:1", "team:ä", "a*b?[c]\\"];
      await tier.insert(
        key(0),
        new CacheEntry(value(0), { ttl: 10 * MINUTE, cachedAt, staleFor: 3 * MINUTE, tags, isStale: true }),
      );
      const entry = await tier.get(key(0));
      assertEntry(
        entry,
        { value: value(0), ttl: 10 * MINUTE, cachedAt, staleFor: 3 * MINUTE, tags },
        "get of an entry with metadata",
      );
      assert.equal(entry.isStale, false, "isStale must not be stored");
      await tier.insert(key(1), new CacheEntry(value(1)));
      assertEntry(await read(tier, key(1)), { value: value(1), tags: [], staleFor: 0 }, "entry without tags");
    },
  },
  {
    id: "cached-at",
    name: "round-trip: cachedAt is stamped from the clock when absent and kept when given",
    async run({ tier, clock, key, value }) {
      await tier.insert(key(0), new CacheEntry(value(0)));
      const stampedAt = clock.now();
      clock.advance(1_000);
      assertEntry(await read(tier, key(0)), { value: value(0), cachedAt: stampedAt }, "stamped entry");
      const given = clock.now() - 5_000;
      await tier.insert(key(1), new CacheEntry(value(1), { cachedAt: given }));
      assertEntry(await read(tier, key(1)), { value: value(1), cachedAt: given }, "entry with cachedAt");
    },
  },
  {
    id: "large-value",
    name: "round-trip: a value of about 1 MiB round-trips intact",
    applies(target) {
      return target.largeValue === undefined && target.value !== undefined
        ? "the target gives no `largeValue()`"
        : undefined;
    },
    async run({ tier, key, target }) {
      const large = target.largeValue?.() ?? (makeLargeString() as never);
      await tier.insert(key(0), new CacheEntry(large));
      assertEntry(await read(tier, key(0)), { value: large }, "get of a 1 MiB value");
    },
  },
];

/** 1 MiB of varied ASCII, so a tier that truncates or dedupes blocks is caught. */
function makeLargeString(): string {
  const block = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
  let out = "";
  for (let i = 0; out.length < ONE_MIB; i++) out += `${i}:${block}`;
  return out.slice(0, ONE_MIB - 1) + "$";
}
