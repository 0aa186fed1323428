// A tier with the optional `getInto` (it reports a read to a receiver instead of returning a
// promise): the cache reads it that way after an L1 miss, with every guarantee `get` has.
import { Cache, CacheEntry, CacheError, ManualClock, MemoryTier } from "../src/index.js";
import type { CacheEvent, CacheTier } from "../src/index.js";
import type { TierReadReceiver } from "@cachet/tier";
import { deferred, flush } from "./fixtures.js";

/** A shared tier over a MemoryTier whose reads go through `getInto` only, answered as told. */
class ReceivingTier implements CacheTier<string, string> {
  readonly name = "receiving";
  readonly inner: MemoryTier<string, string>;
  /** How the next reads answer: later (a turn after), at once (before `getInto` returns), twice. */
  mode: "later" | "at once" | "twice" | "throw" | "fail" = "later";
  /** While set, reads answer only once it resolves. */
  gate: Promise<void> | undefined;
  intoCalls = 0;

  constructor(clock: ManualClock) {
    this.inner = new MemoryTier<string, string>({ maxEntries: 100, clock, name: "receiving" });
  }

  get(): Promise<CacheEntry<string> | undefined> {
    throw new Error("the cache reads this tier with getInto");
  }

  getInto(key: string, receiver: TierReadReceiver<string>): void {
    this.intoCalls++;
    const down = new CacheError("TIER_FAILURE", "down", { tier: this.name });
    if (this.mode === "throw") throw down;
    const entry = this.inner.getSync(key);
    const answer = () => {
      if (this.mode === "fail") return receiver.failed(down);
      receiver.answered(entry);
      if (this.mode === "twice") {
        receiver.answered(undefined);
        receiver.failed(down);
      }
    };
    if (this.mode === "at once" && this.gate === undefined) answer();
    else void (this.gate ?? Promise.resolve()).then(answer);
  }

  insert(key: string, entry: CacheEntry<string>) {
    return this.inner.insert(key, entry);
  }
  invalidate(key: string) {
    return this.inner.invalidate(key);
  }
  clear() {
    return this.inner.clear();
  }
}

function setup(options: { throwErrors?: boolean; breaker?: boolean } = {}) {
  const clock = new ManualClock();
  const tier = new ReceivingTier(clock);
  const events: CacheEvent[] = [];
  const below = Cache.builder<string, string>().storage(tier);
  let builder = Cache.builder<string, string>({ clock })
    .memory({ maxEntries: 10 })
    .ttl(60_000)
    .fallback(
      options.breaker
        ? below.circuitBreaker({ failureThreshold: 2, cooldown: "1h" })
        : below.circuitBreaker(false),
    )
    .onEvent((e) => events.push(e));
  if (options.throwErrors) builder = builder.tierErrors("throw");
  return { clock, tier, events, cache: builder.build() };
}

describe("a tier read through getInto", () => {
  it.each(["later", "at once", "twice"] as const)(
    "answers, back-fills L1 and coalesces (tier answers %s)",
    async (mode) => {
      const { tier, cache } = setup();
      tier.mode = mode;
      await tier.inner.insert("k", new CacheEntry("v", { ttl: 60_000 }));
      const reads = await Promise.all([cache.get("k"), cache.get("k"), cache.get("missing")]);
      expect(reads.map((entry) => entry?.value)).toEqual(["v", "v", undefined]);
      // Answered at once, the first read back-filled L1 before the second began; otherwise the
      // second joined the first.
      const atOnce = mode === "at once";
      expect(tier.intoCalls).toBe(2);
      expect(Object.isFrozen((await cache.get("k"))!.value)).toBe(true);
      expect(tier.intoCalls).toBe(2); // from L1 now
      expect(cache.stats()).toMatchObject({ hits: atOnce ? 3 : 2, coalesced: atOnce ? 0 : 1, misses: 1 });
      await cache.close();
    },
  );

  it("a failure is a miss and a tier_error; with tierErrors('throw') the caller gets it", async () => {
    for (const mode of ["fail", "throw"] as const) {
      const quiet = setup();
      quiet.tier.mode = mode;
      await quiet.tier.inner.insert("k", new CacheEntry("v", { ttl: 60_000 }));
      expect(await quiet.cache.get("k")).toBeUndefined();
      expect(quiet.events.filter((e) => e.type === "tier_error").map((e) => e.tier)).toEqual(["receiving"]);
      await quiet.cache.close();

      const loud = setup({ throwErrors: true });
      loud.tier.mode = mode;
      await expect(loud.cache.get("k")).rejects.toMatchObject({ code: "TIER_FAILURE", tier: "receiving" });
      // The failed read left its fence and the table of reads: the next one asks the tier again.
      loud.tier.mode = "later";
      await loud.tier.inner.insert("k", new CacheEntry("v", { ttl: 60_000 }));
      expect((await loud.cache.get("k"))?.value).toBe("v");
      await loud.cache.close();
    }
  });

  it("opens the circuit breaker after failures, and skips the tier while it is open", async () => {
    const { tier, cache, events } = setup({ breaker: true });
    tier.mode = "fail";
    await cache.get("a");
    await cache.get("b");
    const calls = tier.intoCalls;
    expect(await cache.get("c")).toBeUndefined();
    expect(tier.intoCalls).toBe(calls);
    expect(events.some((e) => e.type === "tier_skipped" && e.tier === "receiving")).toBe(true);
    await cache.close();
  });

  it("an invalidate racing the read keeps the value it read out of L1", async () => {
    const { tier, cache } = setup();
    await tier.inner.insert("k", new CacheEntry("old", { ttl: 60_000 }));
    const gate = deferred();
    tier.gate = gate.promise;
    const read = cache.get("k");
    await flush();
    await cache.invalidate("k");
    gate.resolve();
    expect((await read)?.value).toBe("old"); // it answers what it read ...
    tier.gate = undefined;
    expect(await cache.get("k")).toBeUndefined(); // ... but L1 did not keep it
    await cache.close();
  });

  it("a get from a listener while the tier answers inside getInto gets a promise of its own", async () => {
    const clock = new ManualClock();
    const tier = new ReceivingTier(clock);
    tier.mode = "at once";
    await tier.inner.insert("k", new CacheEntry("v", { ttl: 60_000 }));
    let nested: Promise<CacheEntry<string> | undefined> | undefined;
    let called = false;
    const cache: Cache<string, string> = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .fallback(Cache.builder<string, string>().storage(tier).circuitBreaker(false))
      .onEvent((e) => {
        if (e.type !== "hit" || e.tier !== "receiving" || called) return;
        called = true;
        nested = cache.get("k");
      })
      .build();
    expect((await cache.get("k"))?.value).toBe("v");
    expect(nested).toBeInstanceOf(Promise);
    expect((await nested)?.value).toBe("v");
    await cache.close();
  });
});
