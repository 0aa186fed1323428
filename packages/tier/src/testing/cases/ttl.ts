import type { CaseDefinition } from "../conformance.js";
import { CacheEntry, MINUTE, assert, assertEntry, assertMiss, read } from "../helpers.js";

const needsDefault = (target: { defaultTtl?: number | null }) =>
  target.defaultTtl === undefined ? "the target does not declare `defaultTtl`" : undefined;
const needsNumericDefault = (target: { defaultTtl?: number | null }) =>
  typeof target.defaultTtl === "number" ? undefined : "the target declares no numeric `defaultTtl`";

export const ttlCases: readonly CaseDefinition[] = [
  {
    id: "ttl-per-entry",
    name: "ttl: an entry is returned until cachedAt + ttl and never after",
    async run({ tier, clock, key, value }) {
      await tier.insert(key(0), CacheEntry.expiresAfter(value(0), 2 * MINUTE));
      await tier.insert(key(1), CacheEntry.expiresAfter(value(1), 20 * MINUTE));
      clock.advance(2 * MINUTE - 1);
      assertEntry(await read(tier, key(0)), { value: value(0) }, "1 ms before expiry");
      clock.advance(1);
      assertMiss(await read(tier, key(0)), "at cachedAt + ttl");
      clock.advance(MINUTE);
      assertMiss(await read(tier, key(0)), "after expiry");
      assertEntry(await read(tier, key(1)), { value: value(1) }, "an entry with a longer ttl");
    },
  },
  {
    id: "ttl-default",
    name: "ttl: an entry without ttl gets the tier's default (or never expires without one)",
    applies: needsDefault,
    async run({ tier, clock, key, value, target }) {
      await tier.insert(key(0), new CacheEntry(value(0)));
      const defaultTtl = target.defaultTtl;
      if (typeof defaultTtl === "number") {
        clock.advance(defaultTtl - 1);
        assertEntry(await read(tier, key(0)), { value: value(0), ttl: defaultTtl }, "before the default ttl");
        clock.advance(1);
        assertMiss(await read(tier, key(0)), "at the default ttl");
      } else {
        clock.advance(365 * 24 * 60 * MINUTE);
        assertEntry(
          await read(tier, key(0)),
          { value: value(0), ttl: undefined },
          "a year later, no default",
        );
      }
    },
  },
  {
    id: "ttl-overrides-default",
    name: "ttl: a per-entry ttl overrides the tier default, shorter or longer",
    applies: needsNumericDefault,
    async run({ tier, clock, key, value, target }) {
      const defaultTtl = target.defaultTtl as number;
      await tier.insert(key(0), CacheEntry.expiresAfter(value(0), Math.max(1, Math.floor(defaultTtl / 2))));
      await tier.insert(key(1), CacheEntry.expiresAfter(value(1), defaultTtl * 2));
      clock.advance(Math.max(1, Math.floor(defaultTtl / 2)));
      assertMiss(await read(tier, key(0)), "the shorter per-entry ttl elapsed");
      clock.advance(defaultTtl - Math.max(1, Math.floor(defaultTtl / 2)));
      assertEntry(await read(tier, key(1)), { value: value(1), ttl: defaultTtl * 2 }, "past the default ttl");
      clock.advance(defaultTtl);
      assertMiss(await read(tier, key(1)), "the longer per-entry ttl elapsed");
    },
  },
  {
    id: "ttl-from-cached-at",
    name: "ttl: expiry counts from the entry's cachedAt, not from when it was inserted",
    async run({ tier, clock, key, value }) {
      const now = clock.now();
      await tier.insert(key(0), CacheEntry.expiresAt(value(0), 10 * MINUTE, now - 6 * MINUTE));
      await tier.insert(key(1), CacheEntry.expiresAt(value(1), 10 * MINUTE, now - 11 * MINUTE));
      assertMiss(await read(tier, key(1)), "an entry already expired when inserted");
      clock.advance(4 * MINUTE - 1);
      assertEntry(await read(tier, key(0)), { value: value(0) }, "before cachedAt + ttl");
      clock.advance(1);
      assertMiss(await read(tier, key(0)), "at cachedAt + ttl (4 minutes after the insert)");
    },
  },
  {
    id: "stale-for",
    name: "ttl: an entry with staleFor is kept until cachedAt + ttl + staleFor, then gone",
    async run({ tier, clock, key, value }) {
      await tier.insert(key(0), new CacheEntry(value(0), { ttl: 2 * MINUTE, staleFor: 3 * MINUTE }));
      const cachedAt = clock.now();
      clock.advance(2 * MINUTE);
      const stale = await tier.get(key(0));
      assertEntry(stale, { value: value(0), ttl: 2 * MINUTE, cachedAt, staleFor: 3 * MINUTE }, "past ttl");
      clock.advance(3 * MINUTE - 1);
      assertEntry(await read(tier, key(0)), { value: value(0) }, "1 ms before ttl + staleFor");
      clock.advance(1);
      assertMiss(await read(tier, key(0)), "at cachedAt + ttl + staleFor");
    },
  },
  {
    id: "effective-ttl",
    name: "ttl: the returned entry carries its effective ttl and cachedAt, so the time left is known",
    async run({ tier, clock, key, value, target }) {
      await tier.insert(key(0), CacheEntry.expiresAfter(value(0), 10 * MINUTE));
      const insertedAt = clock.now();
      clock.advance(4 * MINUTE);
      const entry = await tier.get(key(0));
      assertEntry(entry, { value: value(0), ttl: 10 * MINUTE, cachedAt: insertedAt }, "get");
      assert.equal(entry.remainingTtl(clock.now()), 6 * MINUTE, "time left computed from the returned entry");
      if (typeof target.defaultTtl === "number") {
        await tier.insert(key(1), new CacheEntry(value(1)));
        assertEntry(
          await read(tier, key(1)),
          { value: value(1), ttl: target.defaultTtl },
          "default ttl filled in",
        );
      }
    },
  },
];
