import { Cache, CacheEntry, ManualClock, isCacheError } from "../src/index.js";
import type { CacheEvent, Loader } from "../src/index.js";
import { CountingTier, deferred, flush } from "./fixtures.js";

/**
 * The situations table of the core README ("What a caller gets"), one test per row.
 *
 * Policy under test: ttl 10 s, time-to-refresh 8 s, stale-while-revalidate 5 s, fail-safe
 * maxStaleAge 60 s with 10 s backoff, soft timeout 100 ms, hard timeout 1 s, L2 tier timeout 50 ms.
 */
const TTL = 10_000;
const AGES = {
  fresh: 1_000,
  "refresh-due": 8_500,
  "stale within SWR": 12_000,
  "expired within fail-safe": 30_000,
  "hard-expired": 100_000,
} as const;
type Situation = keyof typeof AGES;
type LoaderKind = "ok" | "slow" | "throwing" | "hung";
type L2State = "up" | "slow" | "down";

function setup() {
  const clock = new ManualClock();
  const l2 = new CountingTier<string>(clock);
  const events: CacheEvent[] = [];
  const cache = Cache.builder<string, string>({ clock })
    .name("resilience")
    .memory({ maxEntries: 100 })
    .ttl(TTL)
    .fallback(Cache.builder<string, string>().storage(l2).ttl(TTL).tierTimeout(50).circuitBreaker(false))
    .timeToRefresh(8_000)
    .staleWhileRevalidate(5_000)
    .failSafe({ maxStaleAge: 60_000, backoff: 10_000 })
    .timeouts({ soft: 100, hard: 1_000 })
    .onEvent((e) => events.push(e))
    .build();
  return { clock, l2, cache, events };
}

function makeLoader(kind: LoaderKind, clock: ManualClock) {
  const state = { calls: 0, aborted: false };
  const loader: Loader<string, string> = (_key, ctx) => {
    state.calls++;
    ctx.signal.addEventListener("abort", () => (state.aborted = true));
    switch (kind) {
      case "ok":
        return Promise.resolve("new");
      case "throwing":
        return Promise.reject(new Error("origin down"));
      case "slow":
        return new Promise<string>((resolve) => clock.setTimeout(() => resolve("new"), 500));
      case "hung":
        return new Promise<string>(() => {});
    }
  };
  return { loader, state };
}

/** Resolves to the promise's outcome once it settles, or "pending" if it has not after a flush. */
async function peek<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown } | "pending"> {
  let outcome: { value?: T; error?: unknown } | "pending" = "pending";
  promise.then(
    (value) => (outcome = { value }),
    (error: unknown) => (outcome = { error }),
  );
  await flush();
  await flush();
  return outcome;
}

async function prepare(situation: Situation, l2State: L2State) {
  const ctx = setup();
  await ctx.cache.insert("k", "old");
  ctx.clock.advance(AGES[situation]);
  if (l2State === "down") ctx.l2.failing = true;
  if (l2State === "slow") ctx.l2.gate = new Promise(() => {});
  return ctx;
}

interface Row {
  situation: Situation;
  loader: LoaderKind;
  l2: L2State;
  /** What the caller gets. */
  gets: string;
  /** What happens in the background, checked by `check`. */
  background: string;
  check: (ctx: Awaited<ReturnType<typeof prepare>>, loader: ReturnType<typeof makeLoader>) => Promise<void>;
}

const rows: Row[] = [
  {
    situation: "fresh",
    loader: "ok",
    l2: "up",
    gets: "the cached value at once",
    background: "nothing; the loader is not called",
    async check({ cache }, { loader, state }) {
      expect(await cache.getOrInsert("k", loader)).toBe("old");
      expect(state.calls).toBe(0);
    },
  },
  {
    situation: "fresh",
    loader: "ok",
    l2: "down",
    gets: "the cached value at once (L1 answers; L2 is not asked)",
    background: "nothing",
    async check({ cache, l2 }, { loader }) {
      const gets = l2.gets;
      expect(await cache.getOrInsert("k", loader)).toBe("old");
      expect(l2.gets).toBe(gets);
    },
  },
  {
    situation: "refresh-due",
    loader: "ok",
    l2: "up",
    gets: "the cached value at once",
    background: "one refresh by the loader; the next read gets the new value",
    async check({ cache }, { loader, state }) {
      const [a, b] = await Promise.all([cache.getOrInsert("k", loader), cache.getOrInsert("k", loader)]);
      expect([a, b]).toEqual(["old", "old"]);
      await flush();
      expect(state.calls).toBe(1);
      expect(await cache.getOrInsert("k", loader)).toBe("new");
    },
  },
  {
    situation: "refresh-due",
    loader: "throwing",
    l2: "up",
    gets: "the cached value at once",
    background: "the failed refresh is reported (refresh_miss); the old entry stays",
    async check({ cache, events }, { loader }) {
      expect(await cache.getOrInsert("k", loader)).toBe("old");
      await flush();
      expect(events.some((e) => e.type === "refresh_miss")).toBe(true);
      expect((await cache.get("k"))?.value).toBe("old");
    },
  },
  {
    situation: "refresh-due",
    loader: "ok",
    l2: "down",
    gets: "the cached value at once",
    background: "the refresh loads and writes L1; the L2 write failure is reported",
    async check({ cache, events }, { loader }) {
      expect(await cache.getOrInsert("k", loader)).toBe("old");
      await flush();
      await flush();
      expect(await cache.getOrInsert("k", loader)).toBe("new");
      expect(events.some((e) => e.type === "tier_error" && e.tier === "l2")).toBe(true);
    },
  },
  {
    situation: "stale within SWR",
    loader: "ok",
    l2: "up",
    gets: "the stale value at once (entry.isStale)",
    background: "one refresh; the next read gets the new value",
    async check({ cache }, { loader, state }) {
      const slow = deferred<string>();
      let calls = 0;
      const gated: Loader<string, string> = () => (calls++, slow.promise);
      expect(await cache.getOrInsert("k", gated)).toBe("old");
      expect(await cache.getOrInsert("k", gated)).toBe("old");
      expect(calls).toBe(1);
      slow.resolve("new");
      await flush();
      expect(await cache.getOrInsert("k", loader)).toBe("new");
      expect(state.calls).toBe(0);
    },
  },
  {
    situation: "stale within SWR",
    loader: "ok",
    l2: "up",
    gets: "get() also returns the stale entry, marked isStale",
    background: "nothing for get() (no loader); L2 was asked first",
    async check({ cache, l2 }) {
      const entry = await cache.get("k");
      expect(entry?.value).toBe("old");
      expect(entry?.isStale).toBe(true);
      expect(l2.gets).toBeGreaterThan(0);
    },
  },
  {
    situation: "stale within SWR",
    loader: "throwing",
    l2: "up",
    gets: "the stale value at once",
    background: "the refresh fails; fail-safe keeps the entry for the backoff",
    async check({ cache, clock }, { loader, state }) {
      expect(await cache.getOrInsert("k", loader)).toBe("old");
      await flush();
      expect(state.calls).toBe(1);
      clock.advance(5_000);
      expect(await cache.getOrInsert("k", loader)).toBe("old");
      expect(state.calls).toBe(1);
    },
  },
  {
    situation: "expired within fail-safe",
    loader: "ok",
    l2: "up",
    gets: "the new value after the loader",
    background: "nothing",
    async check({ cache }, { loader, state }) {
      expect(await cache.getOrInsert("k", loader)).toBe("new");
      expect(state.calls).toBe(1);
    },
  },
  {
    situation: "expired within fail-safe",
    loader: "slow",
    l2: "up",
    gets: "the stale value after the soft timeout (100 ms)",
    background: "the loader finishes and updates the cache",
    async check({ cache, clock }, { loader }) {
      const call = cache.getOrInsert("k", loader);
      expect(await peek(call)).toBe("pending");
      await clock.advanceAsync(100);
      expect(await peek(call)).toEqual({ value: "old" });
      await clock.advanceAsync(400);
      expect(await cache.getOrInsert("k", loader)).toBe("new");
    },
  },
  {
    situation: "expired within fail-safe",
    loader: "throwing",
    l2: "up",
    gets: "the stale value (fail-safe), not the error",
    background: "the stale entry is kept for the backoff (10 s): the loader is not called again meanwhile",
    async check({ cache, clock, events }, { loader, state }) {
      expect(await cache.getOrInsert("k", loader)).toBe("old");
      expect(events.some((e) => e.type === "fail_safe")).toBe(true);
      clock.advance(9_000);
      expect(await cache.getOrInsert("k", loader)).toBe("old");
      expect(state.calls).toBe(1);
      clock.advance(1_000);
      expect(await cache.getOrInsert("k", loader)).toBe("old");
      expect(state.calls).toBe(2);
    },
  },
  {
    situation: "expired within fail-safe",
    loader: "hung",
    l2: "up",
    gets: "the stale value after the soft timeout",
    background: "the hard timeout aborts the loader's signal",
    async check({ cache, clock }, { loader, state }) {
      const call = cache.getOrInsert("k", loader);
      await clock.advanceAsync(100);
      expect(await peek(call)).toEqual({ value: "old" });
      expect(state.aborted).toBe(false);
      await clock.advanceAsync(900);
      expect(state.aborted).toBe(true);
    },
  },
  {
    situation: "expired within fail-safe",
    loader: "ok",
    l2: "down",
    gets: "the new value (L2 errors count as a miss)",
    background: "the value lands in L1; the L2 failure is reported",
    async check({ cache, events }, { loader }) {
      expect(await cache.getOrInsert("k", loader)).toBe("new");
      expect(events.some((e) => e.type === "tier_error" && e.tier === "l2")).toBe(true);
      expect((await cache.get("k"))?.value).toBe("new");
    },
  },
  {
    situation: "hard-expired",
    loader: "ok",
    l2: "up",
    gets: "the new value after the loader",
    background: "nothing",
    async check({ cache }, { loader }) {
      expect(await cache.getOrInsert("k", loader)).toBe("new");
    },
  },
  {
    situation: "hard-expired",
    loader: "throwing",
    l2: "up",
    gets: "a CacheError LOADER with the loader's error as cause",
    background: "nothing is cached",
    async check({ cache }, { loader }) {
      const error = await cache.getOrInsert("k", loader).catch((e: unknown) => e);
      expect(isCacheError(error) && error.code).toBe("LOADER");
      expect(((error as Error).cause as Error).message).toBe("origin down");
      expect(await cache.get("k")).toBeUndefined();
    },
  },
  {
    situation: "hard-expired",
    loader: "hung",
    l2: "up",
    gets: "a CacheError TIMEOUT after the hard timeout (1 s)",
    background: "the loader's signal is aborted",
    async check({ cache, clock }, { loader, state }) {
      const call = cache.getOrInsert("k", loader);
      await clock.advanceAsync(999);
      expect(await peek(call)).toBe("pending");
      await clock.advanceAsync(1);
      const outcome = await peek(call);
      expect(outcome !== "pending" && isCacheError(outcome.error) && outcome.error.code).toBe("TIMEOUT");
      expect(state.aborted).toBe(true);
    },
  },
  {
    situation: "hard-expired",
    loader: "slow",
    l2: "slow",
    gets: "the new value after the L2 tier timeout (50 ms) plus the loader",
    background: "the L2 timeout is reported",
    async check({ cache, clock, events }, { loader, state }) {
      const call = cache.getOrInsert("k", loader);
      await clock.advanceAsync(49);
      expect(state.calls).toBe(0);
      await clock.advanceAsync(1);
      expect(state.calls).toBe(1);
      await clock.advanceAsync(500);
      expect(await peek(call)).toEqual({ value: "new" });
      expect(
        events.some((e) => e.type === "tier_error" && isCacheError(e.error) && e.error.code === "TIMEOUT"),
      ).toBe(true);
    },
  },
  {
    situation: "hard-expired",
    loader: "ok",
    l2: "down",
    gets: "the new value (L2 errors count as a miss)",
    background: "the L2 failures are reported",
    async check({ cache }, { loader }) {
      expect(await cache.getOrInsert("k", loader)).toBe("new");
    },
  },
];

describe("what a caller gets (the README table)", () => {
  it.each(
    rows.map((row) => [
      `${row.situation} | loader ${row.loader} | L2 ${row.l2} → ${row.gets}; ${row.background}`,
      row,
    ]),
  )("%s", async (_name, row) => {
    const ctx = await prepare(row.situation, row.l2);
    const loader = makeLoader(row.loader, ctx.clock);
    await row.check(ctx, loader);
    await ctx.cache.close();
  });
});

describe("fail-safe options", () => {
  it("serves the fallback value on a first failure and does not cache it", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .failSafe({ maxStaleAge: 1_000, fallback: "default" })
      .build();
    expect(await cache.getOrInsert("k", () => Promise.reject(new Error("x")))).toBe("default");
    expect(await cache.get("k")).toBeUndefined();
  });

  it("ctx.fail() triggers fail-safe without throwing", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .ttl(1_000)
      .failSafe({ maxStaleAge: 10_000 })
      .build();
    await cache.insert("k", "good");
    clock.advance(2_000);
    expect(await cache.getOrInsert("k", (_, ctx) => ctx.fail("upstream said 503"))).toBe("good");
    const error = await cache
      .getOrInsert("other", (_, ctx) => ctx.fail("upstream said 503"))
      .catch((e: unknown) => e);
    expect(isCacheError(error) && error.code).toBe("LOADER");
    expect((error as Error).cause).toBe("upstream said 503");
  });

  it("per-call options override the cache's", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .ttl(1_000)
      .failSafe({ maxStaleAge: 10_000 })
      .build();
    await cache.insert("k", "good");
    clock.advance(2_000);
    const error = await cache
      .getOrInsert("k", () => Promise.reject(new Error("x")), { failSafe: false })
      .catch((e: unknown) => e);
    expect(isCacheError(error) && error.code).toBe("LOADER");
    expect(await cache.getOrInsert("k", () => "fresh", { ttl: 50 })).toBe("fresh");
    clock.advance(50);
    expect(await cache.get("k")).toBeUndefined();
  });

  it("keeps expired entries physically for maxStaleAge in every tier", async () => {
    const clock = new ManualClock();
    const l2 = new CountingTier<string>(clock);
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .ttl(1_000)
      .fallback(Cache.builder<string, string>().storage(l2))
      .failSafe({ maxStaleAge: 30_000 })
      .build();
    await cache.insert("k", "v");
    const stored = await l2.inner.get("k");
    expect(stored?.staleFor).toBe(30_000);
    clock.advance(30_999);
    expect((await l2.inner.get("k"))?.value).toBe("v");
    clock.advance(1);
    expect(await l2.inner.get("k")).toBeUndefined();
  });
});

describe("negative caching", () => {
  it("remembers an absent value in every tier for negativeTtl, and insert replaces it", async () => {
    const clock = new ManualClock();
    const l2 = new CountingTier<string>(clock);
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .ttl(60_000)
      .fallback(Cache.builder<string, string>().storage(l2))
      .negativeTtl(5_000)
      .build();
    let calls = 0;
    const find = () => (calls++, undefined);
    const results = await Promise.all(
      Array.from({ length: 100 }, () => cache.optionallyGetOrInsert("missing", find)),
    );
    expect(new Set(results)).toEqual(new Set([undefined]));
    expect(await cache.optionallyGetOrInsert("missing", find)).toBeUndefined();
    expect(calls).toBe(1);
    expect(await cache.get("missing")).toBeUndefined();
    expect((await l2.inner.get("missing"))?.ttl).toBe(5_000);
    clock.advance(5_000);
    await cache.optionallyGetOrInsert("missing", find);
    expect(calls).toBe(2);
    await cache.insert("missing", "found");
    expect(await cache.optionallyGetOrInsert("missing", find)).toBe("found");
    expect(await cache.getOrInsert("missing", () => "x")).toBe("found");
  });

  it("getOrInsert never returns a remembered absence as a value", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .negativeTtl(5_000)
      .build();
    await cache.optionallyGetOrInsert("k", () => undefined);
    expect(await cache.getOrInsert("k", () => "loaded")).toBe("loaded");
  });
});

describe("failing tiers", () => {
  it("opens the L2 breaker after repeated failures so misses cost only the loader, then recovers", async () => {
    const clock = new ManualClock();
    const l2 = new CountingTier<string>(clock);
    const events: CacheEvent[] = [];
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 100 })
      .ttl(1_000)
      .fallback(
        Cache.builder<string, string>().storage(l2).circuitBreaker({ failureThreshold: 3, cooldown: 5_000 }),
      )
      .onEvent((e) => events.push(e))
      .build();
    l2.failing = true;
    for (let i = 0; i < 3; i++) expect(await cache.getOrInsert(`k${i}`, () => "v")).toBe("v");
    const callsWhenOpen = l2.gets + l2.inserts;
    for (let i = 3; i < 10; i++) expect(await cache.getOrInsert(`k${i}`, () => "v")).toBe("v");
    expect(l2.gets + l2.inserts).toBe(callsWhenOpen);
    expect(events.filter((e) => e.type === "breaker_open").map((e) => e.tier)).toEqual(["l2"]);
    l2.failing = false;
    clock.advance(5_000);
    expect(await cache.getOrInsert("after", () => "v")).toBe("v");
    await flush();
    expect((await l2.inner.get("after"))?.value).toBe("v");
    expect(await cache.getOrInsert("after2", () => "v")).toBe("v");
    await flush();
    expect((await l2.inner.get("after2"))?.value).toBe("v");
    expect(events.filter((e) => e.type === "breaker_closed").map((e) => e.tier)).toEqual(["l2"]);
  });

  it("tierErrors('throw') surfaces tier failures to the caller", async () => {
    const clock = new ManualClock();
    const l2 = new CountingTier<string>(clock);
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .fallback(Cache.builder<string, string>().storage(l2).circuitBreaker(false))
      .tierErrors("throw")
      .build();
    l2.failing = true;
    await expect(cache.get("k")).rejects.toMatchObject({ code: "TIER_FAILURE", tier: "l2" });
    await expect(cache.insert("k", "v")).rejects.toMatchObject({ code: "TIER_FAILURE" });
    // The working tier still got the value.
    l2.failing = false;
    expect((await cache.get("k"))?.value).toBe("v");
  });

  it("ttl jitter spreads expiry without exceeding the bound", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, number>({ clock })
      .memory({ maxEntries: 10 })
      .ttl(1_000)
      .ttlJitter(500, () => 0.5)
      .build();
    await cache.insert("k", 1);
    expect((await cache.get("k"))?.ttl).toBe(1_250);
    const entry = CacheEntry.expiresAfter(2, 100);
    await cache.insert("own", entry);
    expect((await cache.get("own"))?.ttl).toBe(100);
  });
});
