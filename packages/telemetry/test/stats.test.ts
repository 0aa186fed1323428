import { CacheEntry } from "@cachet/core";
import { finish, scenario } from "./fixtures/cache.js";

// `stats()` lives in @cachet/core; this package documents it for people without OpenTelemetry,
// so the README's description is checked here on a scripted scenario.
describe("cache.stats()", () => {
  it("counts hits, misses, loads, errors, stale answers and coalesced callers per tier", async () => {
    const s = scenario((b) => b.staleWhileRevalidate(30_000));
    const { clock, l2, cache } = s;
    try {
      // 1. miss everywhere, load (memory miss, mock miss)
      expect(await cache.getOrInsert("a", () => Promise.resolve("1"))).toBe("1");
      // 2. L1 hit
      expect(await cache.get("a")).toMatchObject({ value: "1" });
      // 3. L2 hit, promoted (memory miss, mock hit)
      await l2.insert("b", new CacheEntry("2", { cachedAt: clock.now(), ttl: 60_000 }));
      expect(await cache.get("b")).toMatchObject({ value: "2" });
      await clock.advanceAsync(0);
      // 4. a tier failure is a miss plus an error in that tier (memory miss, mock miss + error)
      l2.failNext("get");
      expect(await cache.get("c")).toBeUndefined();
      // 5. two callers, one load: the second is coalesced (memory miss, mock miss)
      let release!: (v: string) => void;
      const first = cache.getOrInsert("d", () => new Promise<string>((r) => (release = r)));
      const second = cache.getOrInsert("d", () => Promise.resolve("never"));
      await clock.advanceAsync(0);
      expect(cache.stats().inFlight).toBe(1);
      release("4");
      expect([await first, await second]).toEqual(["4", "4"]);
      // 6. a failing loader
      await expect(cache.getOrInsert("e", () => Promise.reject(new Error("db")))).rejects.toMatchObject({
        code: "LOADER",
      });
      // 7. past the ttl, inside the stale window: served stale, refreshed in the background
      await clock.advanceAsync(70_000);
      expect(await cache.getOrInsert("a", () => Promise.resolve("1b"))).toBe("1");
      await clock.advanceAsync(0);

      const stats = cache.stats();
      expect(stats.tiers).toEqual([
        // hits: step 2. misses: steps 1, 3, 4, 5 (each caller reads L1 before joining: two), 6, and
        // the expired L1 entry read in step 7.
        { name: "memory", hits: 1, misses: 7, errors: 0, skipped: 0, refused: 0, hitRatio: 1 / 8 },
        // hits: step 3. misses: steps 1, 4, 5, 6, 7 (an expired entry is a miss).
        { name: "mock", hits: 1, misses: 5, errors: 1, skipped: 0, refused: 0, hitRatio: 1 / 6 },
      ]);
      expect(stats).toMatchObject({
        hits: 2,
        misses: 5,
        hitRatio: 2 / 7,
        staleServed: 1,
        loads: 4,
        loadErrors: 1,
        coalesced: 1,
        inFlight: 0,
        pendingWrites: { pending: 0, recorded: 0, replayed: 0, overflows: 0 },
      });
    } finally {
      await finish(s);
    }
  });
});
