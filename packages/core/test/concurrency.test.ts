import { seededRandom } from "@cachet/test-utils";
import { Cache, ManualClock, MemoryTier } from "../src/index.js";
import type { CacheTier, CacheEntry } from "../src/index.js";

/** Yields to the event loop a random number of times, so operations interleave. */
async function jitter(random: () => number): Promise<void> {
  const turns = Math.floor(random() * 4);
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** An L2 whose every call takes a random number of event-loop turns (operations on it reorder). */
class JitteryTier implements CacheTier<string, number> {
  readonly name = "jittery";
  readonly #inner: MemoryTier<string, number>;
  readonly #random: () => number;
  constructor(clock: ManualClock, random: () => number) {
    this.#inner = new MemoryTier({ maxEntries: 1_000, clock, name: "jittery" });
    this.#random = random;
  }
  async get(key: string) {
    const entry = await this.#inner.get(key);
    await jitter(this.#random);
    return entry;
  }
  // Writes apply in call order (the tier contract), then take a random time to acknowledge.
  async insert(key: string, entry: CacheEntry<number>) {
    const done = this.#inner.insert(key, entry);
    await jitter(this.#random);
    return done;
  }
  async invalidate(key: string) {
    const done = this.#inner.invalidate(key);
    await jitter(this.#random);
    return done;
  }
  async clear() {
    return this.#inner.clear();
  }
}

describe("concurrency invariants", () => {
  it.each([1, 2, 3])(
    "holds under thousands of overlapping getOrInsert / insert / invalidate (seed %i)",
    async (seed) => {
      const random = seededRandom(seed);
      const clock = new ManualClock();
      const cache = Cache.builder<string, number>({ clock })
        .memory({ maxEntries: 1_000 })
        .ttl(60_000)
        .fallback(
          Cache.builder<string, number>().storage(new JitteryTier(clock, random)).circuitBreaker(false),
        )
        .build();
      const keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
      let version = 0;
      const db = new Map<string, number>(keys.map((k) => [k, 0]));
      const lastInsertResolved = new Map<string, number>(keys.map((k) => [k, 0]));
      const invalidations = new Map<string, number>(keys.map((k) => [k, 0]));
      const loaderRuns = new Map<string, number>(keys.map((k) => [k, 0]));
      const running = new Map<string, number>(keys.map((k) => [k, 0]));
      const violations: string[] = [];
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on("unhandledRejection", onUnhandled);

      const loader = async (key: string) => {
        loaderRuns.set(key, loaderRuns.get(key)! + 1);
        running.set(key, running.get(key)! + 1);
        const value = db.get(key)!;
        await jitter(random);
        running.set(key, running.get(key)! - 1);
        return value;
      };

      const ops: Promise<void>[] = [];
      for (let i = 0; i < 3_000; i++) {
        const key = keys[Math.floor(random() * keys.length)]!;
        const roll = random();
        ops.push(
          (async () => {
            await jitter(random);
            if (roll < 0.7) {
              const floor = lastInsertResolved.get(key)!;
              const value = await cache.getOrInsert(key, loader);
              if (value < floor) violations.push(`${key}: read ${value} after insert ${floor} had resolved`);
            } else if (roll < 0.9) {
              const v = ++version;
              db.set(key, v);
              await cache.insert(key, v);
              if (v > lastInsertResolved.get(key)!) lastInsertResolved.set(key, v);
            } else {
              invalidations.set(key, invalidations.get(key)! + 1);
              await cache.invalidate(key);
            }
          })(),
        );
      }
      await Promise.all(ops);
      for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      process.off("unhandledRejection", onUnhandled);

      // Once quiet, every key reads the newest value written (insert or load from the "database").
      for (const key of keys) {
        const entry = await cache.get(key);
        if (entry !== undefined && entry.value < lastInsertResolved.get(key)!) {
          violations.push(
            `${key}: settled on ${entry.value}, older than insert ${lastInsertResolved.get(key)}`,
          );
        }
        // One loader run per key per miss window: a window opens at the start and at each invalidation.
        if (loaderRuns.get(key)! > invalidations.get(key)! + 1) {
          violations.push(
            `${key}: ${loaderRuns.get(key)} loader runs for ${invalidations.get(key)} invalidations`,
          );
        }
      }
      expect(violations).toEqual([]);
      expect(unhandled).toEqual([]);
      expect([...running.values()].every((n) => n === 0)).toBe(true);
      await cache.close();
    },
  );
});
