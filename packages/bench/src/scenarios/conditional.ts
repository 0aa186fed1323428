import { RedisTier } from "@cachet/redis";
import { CacheEntry } from "@cachet/tier";
import { makeValue } from "../libs.js";
import type { Value } from "../libs.js";
import { measureOps } from "../measure.js";
import { uniformSequence } from "../random.js";
import { Samples } from "../stats.js";
import { sendCommand } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";
import { ownRedis } from "./redis.js";
import type { Metrics, RunSettings } from "./types.js";

const SEQUENCE = 1 << 20;

/**
 * The cost of versioned, conditional writes in `RedisTier` against the plain tier, straight on the
 * tier (no L1), 256 in flight, on a fresh redis-server:
 * - `set` / `versioned`: `insert` on a tier without / with `conditionalWrites` (SET vs the write script);
 * - `set-hit` / `versioned-hit`: `get` of those entries (GET either way; format 1 vs 2 envelope);
 * - `get-versioned`: `conditionalWrites.getVersioned` (the read script a load would start with);
 * - `insert-if-version`: `getVersioned` then `insertIfVersion` on the version read (a load's write-back,
 *   read included: two round trips).
 */
export async function runConditionalWrite(lib: string, settings: RunSettings): Promise<Metrics> {
  const n = settings.quick ? 2_000 : 5_000;
  const redis = await ownRedis();
  const versioned = lib !== "set" && lib !== "set-hit";
  const tier = new RedisTier<string, Value>({
    client: redis.url,
    prefix: "bench",
    ttl: "10m",
    ...(versioned ? { conditionalWrites: true } : {}),
  });
  try {
    const keys = Array.from({ length: n }, (_, i) => `user:${i}`);
    const values = keys.map((_, i) => new CacheEntry(makeValue(i), { ttl: 600_000 }));
    for (let i = 0; i < n; i += 256) {
      await Promise.all(keys.slice(i, i + 256).map((key, j) => tier.insert(key, values[i + j]!)));
    }
    const cw = tier.conditionalWrites;
    const sequence = uniformSequence(n, SEQUENCE, 7);
    const mask = SEQUENCE - 1;
    const op: (k: number) => Promise<unknown> =
      lib === "set" || lib === "versioned"
        ? (k) => tier.insert(keys[k]!, values[k]!)
        : lib === "set-hit" || lib === "versioned-hit"
          ? (k) => tier.get(keys[k]!)
          : lib === "get-versioned"
            ? (k) => cw!.getVersioned(keys[k]!)
            : async (k) => {
                const { version } = await cw!.getVersioned(keys[k]!);
                await cw!.insertIfVersion(keys[k]!, values[k]!, version);
              };
    let samples = new Samples(4_000_000);
    const call = async (i: number): Promise<void> => {
      const started = performance.now();
      await op(sequence[i & mask]!);
      samples.add(performance.now() - started);
    };
    const warmupMs = settings.quick ? 150 : 300;
    const durationMs = settings.quick ? 300 : 1_000;
    await measureOps(call, { inFlight: 256, warmupMs, durationMs: 1, chunk: 1 });
    samples = new Samples(4_000_000);
    await sendCommand(redis.host, redis.port, ["CONFIG", "RESETSTAT"]);
    const result = await measureOps(call, { inFlight: 256, warmupMs: 0, durationMs, chunk: 1 });
    const { p50, p99 } = samples.summary();
    // Redis's own CPU per operation: the client-side rate swings with the machine's load, this does not.
    const serverUs = (await serverMicros(redis)) / result.ops;
    return { opsPerSec: result.opsPerSec, p50, p99, serverUs };
  } finally {
    await tier.close();
    await redis.stop();
  }
}

/** Total `usec` Redis spent in commands since the last `CONFIG RESETSTAT`, `INFO` and `CONFIG` excluded. */
export async function serverMicros(redis: RedisHandle): Promise<number> {
  const reply = await sendCommand(redis.host, redis.port, ["INFO", "commandstats"]);
  if (typeof reply !== "string") throw new Error("INFO commandstats did not return text");
  let usec = 0;
  for (const line of reply.split(/\r?\n/)) {
    const m = /^cmdstat_([a-z|_-]+):calls=\d+,usec=(\d+)/.exec(line);
    if (m && !m[1]!.startsWith("info") && !m[1]!.startsWith("config")) usec += Number(m[2]);
  }
  return usec;
}
