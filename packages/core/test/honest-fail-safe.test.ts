import { Cache, ManualClock, MemoryTier, isCacheError } from "../src/index.js";
import type { CacheEvent } from "../src/index.js";
import { CountingTier, flush } from "./fixtures.js";

/**
 * Honest fail-safe (CONSISTENCY.md, "What fail-safe and stale-while-revalidate may serve"):
 * an entry kept by fail-safe reads `isStale: true` for the whole backoff, from every read, and a
 * hard timeout with a stale entry at hand answers with that entry instead of `TIMEOUT`.
 */
const TTL = 10_000;
const BACKOFF = 10_000;

function setup(options: { soft?: number; hard?: number; l2?: boolean } = {}) {
  const clock = new ManualClock();
  const events: CacheEvent[] = [];
  let builder = Cache.builder<string, string>({ clock })
    .name("honest")
    .memory({ maxEntries: 100 })
    .ttl(TTL)
    .failSafe({ maxStaleAge: 60_000, backoff: BACKOFF })
    .onEvent((e) => events.push(e));
  const l2 = new CountingTier<string>(clock);
  if (options.l2 === true) builder = builder.fallback(Cache.builder<string, string>().storage(l2).ttl(TTL));
  if (options.hard !== undefined) builder = builder.timeouts({ hard: options.hard, soft: options.soft });
  return { clock, events, l2, cache: builder.build() };
}

const failing = () => Promise.reject(new Error("origin down"));

describe("an entry kept by fail-safe says it is stale", () => {
  test("through the whole backoff, from get, getMany and getOrInsert, and in events and stats", async () => {
    const { cache, clock, events } = setup();
    await cache.insert("k", "old");
    clock.advance(TTL + 1);
    expect(await cache.getOrInsert("k", failing)).toBe("old");
    const staleBefore = cache.stats().staleServed;
    let elapsed = 0;
    for (const at of [0, 1, BACKOFF / 2, BACKOFF - 1]) {
      clock.advance(at - elapsed);
      elapsed = at;
      events.length = 0;
      const entry = await cache.get("k");
      expect(entry?.value).toBe("old");
      expect(entry?.isStale).toBe(true);
      expect(entry?.tags).toEqual([]);
      expect(events.some((e) => e.type === "stale_served" && e.operation === "get")).toBe(true);
      const [many] = await cache.getMany(["k"]);
      expect(many?.isStale).toBe(true);
      events.length = 0;
      expect(await cache.getOrInsert("k", failing)).toBe("old");
      expect(events.some((e) => e.type === "stale_served" && e.operation === "getOrInsert")).toBe(true);
    }
    expect(cache.stats().staleServed).toBeGreaterThanOrEqual(staleBefore + 12);
    // After the backoff the loader is tried again.
    clock.advance(1);
    expect(await cache.getOrInsert("k", () => Promise.resolve("new"))).toBe("new");
    expect((await cache.get("k"))?.isStale).toBe(false);
    await cache.close();
  });

  test("a fresh insert after the backoff reads fresh again", async () => {
    const { cache, clock } = setup();
    await cache.insert("k", "old");
    clock.advance(TTL + 1);
    await cache.getOrInsert("k", failing);
    await cache.insert("k", "new");
    const entry = await cache.get("k");
    expect(entry?.value).toBe("new");
    expect(entry?.isStale).toBe(false);
    await cache.close();
  });

  test("the user's own tags survive the fail-safe mark", async () => {
    const { cache, clock } = setup();
    await cache.insert("k", "old", { tags: ["t"] });
    clock.advance(TTL + 1);
    await cache.getOrInsert("k", failing);
    const entry = await cache.get("k");
    expect(entry?.isStale).toBe(true);
    expect(entry?.tags).toEqual(["t"]);
    await cache.invalidateTags(["t"]);
    expect(await cache.get("k")).toBeUndefined();
    await cache.close();
  });

  test("a kept entry is kept in L1 only: the shared tier never holds the mark", async () => {
    const { cache, clock, l2 } = setup({ l2: true });
    await cache.insert("k", "old");
    clock.advance(TTL + 1);
    expect(await cache.getOrInsert("k", failing)).toBe("old");
    await flush();
    const below = await l2.inner.get("k");
    expect(below?.tags ?? []).not.toContain("cachet:fail-safe");
    expect((await cache.get("k"))?.isStale).toBe(true);
    await cache.close();
  });

  test("an L1 without a synchronous read reports the kept entry stale too", async () => {
    const clock = new ManualClock();
    const memory = new MemoryTier<string, string>({ maxEntries: 10, clock });
    const asyncOnly = {
      name: "async-l1",
      get: (key: string) => memory.get(key),
      insert: (key: string, entry: Parameters<typeof memory.insert>[1]) => memory.insert(key, entry),
      invalidate: (key: string) => memory.invalidate(key),
      clear: () => memory.clear(),
    };
    const cache = Cache.builder<string, string>({ clock })
      .storage(asyncOnly)
      .ttl(TTL)
      .failSafe({ maxStaleAge: 60_000, backoff: BACKOFF })
      .build();
    await cache.insert("k", "old");
    clock.advance(TTL + 1);
    expect(await cache.getOrInsert("k", failing)).toBe("old");
    await flush();
    expect((await cache.get("k"))?.isStale).toBe(true);
    await cache.close();
  });
});

describe("a hard timeout with a stale entry at hand", () => {
  test("answers with the stale entry (reported as fail_safe) instead of TIMEOUT", async () => {
    const { cache, clock, events } = setup({ hard: 1_000 });
    await cache.insert("k", "old");
    clock.advance(TTL + 1);
    let aborted = false;
    const call = cache.getOrInsert("k", (_key, ctx) => {
      ctx.signal.addEventListener("abort", () => (aborted = true));
      return new Promise<string>(() => {});
    });
    const settled = call.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await clock.advanceAsync(1_000);
    expect(await settled).toEqual({ value: "old" });
    expect(aborted).toBe(true);
    const failSafe = events.find((e) => e.type === "fail_safe");
    expect(isCacheError(failSafe?.error) && failSafe.error.code).toBe("TIMEOUT");
    expect((await cache.get("k"))?.isStale).toBe(true);
    await cache.close();
  });

  test("still throws TIMEOUT when the stale entry is older than maxStaleAge", async () => {
    const { cache, clock } = setup({ hard: 1_000 });
    await cache.insert("k", "old");
    clock.advance(TTL + 60_001);
    const settled = cache
      .getOrInsert("k", () => new Promise<string>(() => {}))
      .then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
    await clock.advanceAsync(1_000);
    const outcome = await settled;
    expect("error" in outcome && isCacheError(outcome.error) && outcome.error.code).toBe("TIMEOUT");
    await cache.close();
  });
});
