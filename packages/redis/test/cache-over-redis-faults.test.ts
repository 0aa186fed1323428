import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { Cache, ManualClock } from "@cachet/core";
import type { CacheEvent } from "@cachet/core";
import { describeRedis, startRedis } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";
import { Redis } from "ioredis";
import { RedisTier } from "../src/index.js";
import { uniquePrefix } from "./fixtures/shared-cases.js";

/** Scheduling slack on a shared 2-core machine; far below "hangs". */
const BOUND_MS = 1_000;

/** Polls `check` until it returns true, bounded: waiting on a process, not sleeping for time. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting until ${what}`);
}

async function timed<T>(call: Promise<T>): Promise<{ value: T; elapsed: number }> {
  const started = performance.now();
  const value = await call;
  return { value, elapsed: performance.now() - started };
}

describeRedis(
  "a multi-tier Cache over a Redis that is killed and restarted",
  () => {
    let redis: RedisHandle;
    beforeAll(async () => {
      redis = await startRedis({ own: true });
    });
    afterAll(async () => {
      await redis.stop();
    });

    it("keeps serving (L1, fail-safe, loader) without waiting on the dead server, opens and closes the breaker, and uses Redis again after the restart", async () => {
      // Logical time (ttl, fail-safe, breaker cool-down) is driven; Redis and sockets are real.
      const clock = new ManualClock(Date.now());
      const client = new Redis({
        ...redis.clientOptions,
        retryStrategy: () => 50,
        enableOfflineQueue: false,
      });
      client.on("error", () => undefined);
      const tier = new RedisTier<string, string>({
        client,
        prefix: uniquePrefix(),
        clock,
        commandTimeout: 300,
      });
      const events: CacheEvent[] = [];
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on("unhandledRejection", onUnhandled);
      const cache = Cache.builder<string, string>({ clock })
        .name("faults")
        .memory({ maxEntries: 1_000 })
        .ttl(10_000)
        .fallback(
          Cache.builder<string, string>()
            .storage(tier)
            .ttl(60_000)
            .tierTimeout(500)
            .circuitBreaker({ failureThreshold: 3, cooldown: 5_000 }),
        )
        .failSafe({ maxStaleAge: 120_000, backoff: 1_000 })
        .onEvent((e) => events.push(e))
        .build();
      try {
        await cache.insert("old", "v-old");
        await cache.insert("fresh", "v-fresh");
        clock.advance(11_000); // "old" is past its L1 ttl, kept for fail-safe

        // Keep "fresh" fresh in L1.
        await cache.insert("fresh", "v-fresh");
        await redis.kill();

        // An L1 hit never touches Redis.
        const hit = await timed(cache.getOrInsert("fresh", () => "unused"));
        expect(hit.value).toBe("v-fresh");

        // Expired in L1, Redis dead, loader failing: fail-safe serves the last good value.
        const stale = await timed(cache.getOrInsert("old", () => Promise.reject(new Error("db down"))));
        expect(stale.value).toBe("v-old");
        expect(stale.elapsed).toBeLessThan(BOUND_MS);

        // Misses cost the loader; the first ones also a fast Redis failure, until the breaker opens.
        const misses = [];
        for (let i = 0; i < 6; i++)
          misses.push(await timed(cache.getOrInsert(`new-${i}`, (key) => `loaded ${key}`)));
        expect(misses.map((m) => m.value)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `loaded new-${i}`));
        for (const miss of misses) expect(miss.elapsed).toBeLessThan(BOUND_MS);
        expect(events.filter((e) => e.type === "breaker_open").map((e) => e.tier)).toEqual(["redis"]);
        const errorsWhenOpen = events.filter((e) => e.type === "tier_error").length;
        await cache.getOrInsert("while-open", () => "loaded");
        expect(events.filter((e) => e.type === "tier_error").length).toBe(errorsWhenOpen);

        // Restart: after the cool-down one probe goes through, the breaker closes, Redis is used again.
        await redis.restart();
        await until(
          () =>
            client.ping().then(
              () => true,
              () => false,
            ),
          "the client reconnects",
        );
        clock.advance(5_000);
        expect(await cache.getOrInsert("after", () => "v-after")).toBe("v-after");
        await until(async () => (await tier.get("after"))?.value === "v-after", "the value lands in Redis");
        expect(events.filter((e) => e.type === "breaker_closed").map((e) => e.tier)).toEqual(["redis"]);
        await cache.insert("again", "v-again");
        expect((await tier.get("again"))?.value).toBe("v-again");
        expect(unhandled).toEqual([]);
      } finally {
        process.off("unhandledRejection", onUnhandled);
        await cache.close();
        client.disconnect();
      }
    });
  },
  true,
);
