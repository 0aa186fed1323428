import { Cache, isCacheError } from "@cachet/core";
import { RedisBus, RedisTier } from "@cachet/redis";
import { startRedis, type RedisHandle } from "@cachet/test-utils";
import { mulberry32 } from "./random.js";
import { machineLine } from "./summary.js";

/** Settings of a soak run. */
export interface SoakOptions {
  minutes: number;
  /** Add a RedisTier L2 and a RedisBus on a harness redis-server. */
  redis: boolean;
}

/**
 * Heap may grow by this factor plus this many bytes between the end of warm-up and the end of the
 * run (each measured after a forced GC, median of the last three samples), RSS by the second pair.
 */
export const SOAK_BOUNDS = {
  heapFactor: 1.2,
  heapSlackBytes: 8 * 2 ** 20,
  rssFactor: 1.3,
  rssSlackBytes: 48 * 2 ** 20,
};

interface Sample {
  atS: number;
  operations: number;
  heapUsed: number;
  rss: number;
}

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Constant churn on a bounded L1 (10,000 entries over a key space 100 times larger: inserts,
 * loads, invalidations, tag invalidations, namespaces), sampling heap and RSS after a forced GC.
 * Returns the process exit code: 1 when growth after warm-up exceeds {@link SOAK_BOUNDS}.
 */
export async function runSoak(options: SoakOptions): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    console.error("soak needs --expose-gc (use `pnpm --filter @cachet/chaos soak`)");
    return 2;
  }
  console.log(
    `cachet soak: ${options.minutes} min, L1 10,000 entries${options.redis ? " + Redis L2 + bus" : ""}`,
  );
  console.log(`machine: ${machineLine()}`);
  let redis: RedisHandle | undefined;
  let bus: RedisBus | undefined;
  const builder = Cache.builder<string, { n: number; pad: string }>()
    .name("soak")
    .memory({ maxEntries: 10_000 })
    .ttl(30_000)
    .staleWhileRevalidate(5_000)
    .failSafe({ maxStaleAge: 60_000 })
    .timeouts({ soft: 50, hard: 500 });
  if (options.redis) {
    redis = await startRedis({
      own: true,
      args: ["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"],
    });
    bus = new RedisBus({ client: redis.url, transport: "pubsub" });
    builder
      .fallback(
        Cache.builder<string, { n: number; pad: string }>()
          .storage(new RedisTier({ client: redis.url, prefix: "soak" }))
          .ttl(60_000)
          .tierTimeout(200),
      )
      .bus(bus);
  }
  let events = 0;
  builder.onEvent(() => events++);
  const cache = builder.build();

  const random = mulberry32(42);
  const keySpace = 1_000_000;
  const durationMs = options.minutes * 60_000;
  const warmupMs = Math.min(60_000, durationMs / 5);
  const sampleEvery = Math.max(2_000, durationMs / 40);
  const started = Date.now();
  const samples: Sample[] = [];
  let operations = 0;
  let errors = 0;

  const sample = (): Sample => {
    gc();
    const m = process.memoryUsage();
    const s = {
      atS: Math.round((Date.now() - started) / 1000),
      operations,
      heapUsed: m.heapUsed,
      rss: m.rss,
    };
    samples.push(s);
    console.log(
      `t=${String(s.atS).padStart(4)} s  ops=${String(operations).padStart(9)}  heap=${mb(s.heapUsed).padStart(7)} MB  rss=${mb(s.rss).padStart(7)} MB`,
    );
    return s;
  };

  const worker = async (): Promise<void> => {
    while (Date.now() - started < durationMs) {
      for (let i = 0; i < 200; i++) {
        const key = `k${Math.floor(random() * keySpace)}`;
        const roll = random();
        try {
          if (roll < 0.5) {
            await cache.getOrInsert(key, () => ({ n: operations, pad: "x".repeat(100) }));
          } else if (roll < 0.8) {
            await cache.insert(
              key,
              { n: operations, pad: "y".repeat(100) },
              { tags: [`t${Math.floor(random() * 100)}`] },
            );
          } else if (roll < 0.95) {
            await cache.invalidate(key);
          } else if (roll < 0.99) {
            await cache.invalidateTags([`t${Math.floor(random() * 100)}`]);
          } else {
            await cache.namespace(`ns${Math.floor(random() * 1_000)}`).insert(key, { n: 0, pad: "" });
          }
        } catch (error) {
          if (!isCacheError(error)) throw error;
          errors++;
        }
        operations++;
      }
      // Let timers (sampling) run between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  const sampler = setInterval(sample, sampleEvery);
  try {
    await Promise.all([worker(), worker(), worker(), worker()]);
  } finally {
    clearInterval(sampler);
  }
  sample();
  await cache.close();
  await bus?.close();
  await redis?.stop();

  const baseline = samples.find((s) => s.atS * 1000 >= warmupMs) ?? samples[0]!;
  const tail = samples.slice(-3);
  const heapEnd = median(tail.map((s) => s.heapUsed));
  const rssEnd = median(tail.map((s) => s.rss));
  const heapLimit = baseline.heapUsed * SOAK_BOUNDS.heapFactor + SOAK_BOUNDS.heapSlackBytes;
  const rssLimit = baseline.rss * SOAK_BOUNDS.rssFactor + SOAK_BOUNDS.rssSlackBytes;
  console.log(
    `\noperations ${operations} (${errors} CacheErrors), events ${events}; after warm-up (t=${baseline.atS} s): heap ${mb(baseline.heapUsed)} → ${mb(heapEnd)} MB (limit ${mb(heapLimit)}), rss ${mb(baseline.rss)} → ${mb(rssEnd)} MB (limit ${mb(rssLimit)})`,
  );
  const ok = heapEnd <= heapLimit && rssEnd <= rssLimit;
  console.log(ok ? "soak: memory flat within bounds" : "soak: memory grew beyond the bound");
  return ok ? 0 : 1;
}
