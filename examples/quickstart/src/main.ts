/**
 * cachet quick start. Runs without any server: an L1 memory tier in front of an L2 that is another
 * in-process tier, or Redis when REDIS_URL is set (`REDIS_URL=redis://127.0.0.1:6379 pnpm demo`).
 */
import { Cache, CacheEntry, MemoryTier } from "@cachet/core";
import type { CacheEvent, CacheTier } from "@cachet/core";

interface User {
  id: string;
  name: string;
  loadedAt: Date;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

async function makeL2(): Promise<{ tier: CacheTier<string, User>; label: string }> {
  const url = process.env.REDIS_URL;
  if (url) {
    const { RedisTier } = await import("@cachet/core/redis");
    const prefix = `cachet-demo:${process.pid}`;
    return {
      tier: new RedisTier<string, User>({ client: url, prefix }),
      label: `Redis at ${url} (prefix ${prefix})`,
    };
  }
  return {
    tier: new MemoryTier<string, User>({ maxEntries: 100_000, name: "l2-memory" }),
    label: "an in-process stand-in (set REDIS_URL to use Redis)",
  };
}

async function main(): Promise<void> {
  const { tier: l2Tier, label } = await makeL2();
  const events: CacheEvent[] = [];
  let loads = 0;
  const loadUser = async (id: string): Promise<User> => {
    loads++;
    await sleep(50); // a slow database
    return { id, name: `user ${id}`, loadedAt: new Date() };
  };

  const users = Cache.builder<string, User>()
    .name("users")
    .memory({ maxEntries: 10_000 })
    .ttl("2s")
    .fallback(Cache.builder<string, User>().storage(l2Tier).ttl("5m"))
    .timeToRefresh("500ms")
    .onEvent((e) => events.push(e))
    .build();

  console.log(`cachet quick start: L1 memory (ttl 2 s) -> L2 ${label}\n`);

  // 1. Stampede: 1,000 concurrent misses on one key run the loader once.
  let start = process.hrtime.bigint();
  const all = await Promise.all(Array.from({ length: 1_000 }, () => users.getOrInsert("u1", loadUser)));
  console.log(
    `1. stampede: 1,000 concurrent getOrInsert("u1") -> loader ran ${loads} time(s), ${new Set(all.map((u) => u.name)).size} distinct value(s), ${ms(start).toFixed(1)} ms`,
  );

  // 2. Promotion: a value only in L2 is found there and copied into L1 with L2's remaining ttl.
  await l2Tier.insert(
    "u2",
    CacheEntry.expiresAfter({ id: "u2", name: "written by another process", loadedAt: new Date() }, 60_000),
  );
  const fromL2 = await users.get("u2");
  await sleep(0);
  const promoted = events.some((e) => e.type === "promotion");
  start = process.hrtime.bigint();
  const again = await users.get("u2");
  console.log(
    `2. promotion: get("u2") found "${fromL2?.value.name}" in L2; promoted into L1: ${promoted}; second read from L1 in ${ms(start).toFixed(3)} ms (same object: ${again === fromL2 || again?.value === fromL2?.value})`,
  );

  // 3. Refresh never blocks: after the refresh age the caller gets the current value at once,
  //    and one background load replaces it.
  await sleep(600);
  const loadsBefore = loads;
  start = process.hrtime.bigint();
  const current = await users.getOrInsert("u1", loadUser);
  const waited = ms(start);
  await sleep(120);
  const refreshed = await users.getOrInsert("u1", loadUser);
  console.log(
    `3. refresh: a read past the refresh age returned in ${waited.toFixed(2)} ms (loader takes 50 ms); background loads: ${loads - loadsBefore}; value replaced: ${refreshed.loadedAt > current.loadedAt}`,
  );

  // 4. Counters.
  for (let i = 0; i < 100; i++) await users.getOrInsert(`u${i % 10}`, loadUser);
  const stats = users.stats();
  console.log(
    `4. stats: hits ${stats.hits}, misses ${stats.misses}, hit ratio ${(stats.hitRatio * 100).toFixed(1)}%, loads ${stats.loads}, coalesced ${stats.coalesced}`,
  );
  for (const t of stats.tiers)
    console.log(`   tier ${t.name}: hits ${t.hits}, misses ${t.misses}, errors ${t.errors}`);

  await users.clear();
  await users.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
