import { makeValue } from "../libs.js";
import type { Value } from "../libs.js";
import { sleep } from "../measure.js";
import { seededRandom } from "../random.js";
import { Samples } from "../stats.js";
import { ownRedis } from "./redis.js";
import type { Metrics, RunSettings } from "./types.js";

const KEYS = 200;
const TTL_MS = 200;
const LOADER_MS = 5;
const IN_FLIGHT = 64;

type GetOrInsert = (key: string, load: () => Promise<Value>) => Promise<unknown>;

/**
 * A flaky origin and a Redis that dies halfway: what fraction of calls still get a value, how
 * many throw, and what the tail latency does before and after the crash.
 */
export async function runResilience(lib: string, settings: RunSettings): Promise<Metrics> {
  const redis = await ownRedis();
  let close: () => Promise<void> = () => Promise.resolve();
  try {
    let getOrInsert: GetOrInsert;
    if (lib === "cachet") {
      const { Cache } = await import("@cachet/core");
      const { RedisTier } = await import("@cachet/redis");
      const cache = Cache.builder<string, Value>()
        .memory({ maxEntries: 1_000 })
        .ttl(TTL_MS)
        .fallback(
          Cache.builder<string, Value>()
            .storage(new RedisTier<string, Value>({ client: redis.url, prefix: "bench" }))
            .ttl(TTL_MS),
        )
        .staleWhileRevalidate("1s")
        .failSafe({ maxStaleAge: "1m", backoff: "1s" })
        .build();
      getOrInsert = (key, load) => cache.getOrInsert(key, load);
      close = () => cache.close();
    } else if (lib === "bentocache" || lib === "bentocache-failfast") {
      // The default ioredis client queues commands while disconnected and retries each up to 20
      // times; `-failfast` turns that off, as cachet's own Redis client does.
      const connection =
        lib === "bentocache"
          ? { host: redis.host, port: redis.port }
          : { host: redis.host, port: redis.port, enableOfflineQueue: false, maxRetriesPerRequest: 0 };
      const { BentoCache, bentostore } = await import("bentocache");
      const { memoryDriver } = await import("bentocache/drivers/memory");
      const { redisDriver } = await import("bentocache/drivers/redis");
      const bento = new BentoCache({
        default: "cache",
        ttl: TTL_MS,
        grace: "1m",
        graceBackoff: "1s",
        l2CircuitBreakerDuration: "30s",
        stores: {
          cache: bentostore()
            .useL1Layer(memoryDriver({ maxItems: 1_000 }))
            .useL2Layer(redisDriver({ connection })),
        },
      });
      getOrInsert = (key, load) => bento.getOrSet({ key, factory: load });
      close = () => bento.disconnect();
    } else {
      throw new Error(`unknown library ${lib}`);
    }

    const random = seededRandom(3);
    let failing = false;
    let loaderCalls = 0;
    const load = async (): Promise<Value> => {
      loaderCalls++;
      await sleep(LOADER_MS);
      if (failing && random() < 0.5) throw new Error("origin failed");
      return makeValue(1);
    };
    const keys = Array.from({ length: KEYS }, (_, i) => `item:${i}`);
    await Promise.all(keys.map((key) => getOrInsert(key, load)));
    failing = true;
    loaderCalls = 0;

    const totalMs = settings.quick ? 1_200 : 2_500;
    const up = new Samples(2_000_000);
    const down = new Samples(2_000_000);
    let served = 0;
    let errors = 0;
    let calls = 0;
    let redisDown = false;
    const started = performance.now();
    const deadline = started + totalMs;
    const killer = sleep(totalMs / 2).then(async () => {
      await redis.kill();
      redisDown = true;
    });
    const pick = seededRandom(9);
    const worker = async (): Promise<void> => {
      let n = 0;
      while (performance.now() < deadline) {
        // An L1 hit settles in microtasks only: yield to the event loop now and then, as a server
        // does between requests, so timers (the loader's, background refreshes, the kill) can run.
        if ((++n & 7) === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        const key = keys[Math.floor(pick() * KEYS)]!;
        const wasDown = redisDown;
        const t0 = performance.now();
        calls++;
        try {
          const value = await getOrInsert(key, load);
          if (value !== undefined && value !== null) served++;
        } catch {
          errors++;
        }
        (wasDown ? down : up).add(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    await killer;
    const elapsed = performance.now() - started;
    return {
      servedRate: served / calls,
      errorRate: errors / calls,
      p99Up: up.summary().p99,
      p99Down: down.summary().p99,
      opsPerSec: (calls / elapsed) * 1000,
      loaderCalls,
      calls,
    };
  } finally {
    await Promise.race([close(), sleep(2_000)]);
    await redis.stop();
  }
}
