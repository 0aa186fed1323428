// The cost of the cache's consistency machinery over Redis (issue 19), measured through a `Cache`
// (L1 + RedisTier), each measurement on its own fresh redis-server:
// - `consistency-cost`: the same calls with the tier's conditional writes off (`plain-*`) and on
//   (`versioned-*`): explicit `insert`, a load's write-back (`getOrInsert` of a key nobody has),
//   and L2 hits by `get` and by `getOrInsert` (a 1-entry L1, so nearly every read reaches Redis).
// - `recovery-after-heal`: 1,000 invalidations recorded while the instance was partitioned from
//   Redis (a TCP proxy), then healed; the time until every one was replayed, with traffic (a read
//   right after the heal starts the replay) and without (the retry timer).
import { Cache } from "@cachet/core";
import { RedisTier } from "@cachet/redis";
import { startTcpProxy } from "@cachet/test-utils";
import type { Value } from "../libs.js";
import { makeValue } from "../libs.js";
import { measureOps } from "../measure.js";
import { uniformSequence } from "../random.js";
import { Samples } from "../stats.js";
import { sendCommand } from "@cachet/test-utils";
import { serverMicros } from "./conditional.js";
import { ownRedis } from "./redis.js";
import type { Metrics, RunSettings } from "./types.js";

const SEQUENCE = 1 << 20;
// The scenario definitions (what the orchestrator prints) are in `consistency-defs.ts`.
/** One measurement of `consistency-cost`. */
export async function runConsistencyCost(lib: string, settings: RunSettings): Promise<Metrics> {
  const [mode, ...rest] = lib.split("-");
  const op = rest.join("-");
  const n = settings.quick ? 2_000 : 5_000;
  const redis = await ownRedis();
  const cache = Cache.builder<string, Value>()
    .name("bench")
    .memory({ maxEntries: op.startsWith("l2-") ? 1 : 100_000 })
    .ttl("10m")
    .fallback(
      Cache.builder<string, Value>()
        .storage(
          new RedisTier<string, Value>({
            client: redis.url,
            prefix: "bench",
            conditionalWrites: mode === "versioned",
          }),
        )
        .circuitBreaker(false),
    )
    .build();
  try {
    const keys = Array.from({ length: n }, (_, i) => `user:${i}`);
    const values = keys.map((_, i) => makeValue(i));
    if (op.startsWith("l2-")) {
      for (let i = 0; i < n; i += 256) {
        await Promise.all(keys.slice(i, i + 256).map((key, j) => cache.insert(key, values[i + j]!)));
      }
    }
    const sequence = uniformSequence(n, SEQUENCE, 11);
    const mask = SEQUENCE - 1;
    let fresh = 0;
    const loader = async (): Promise<Value> => values[0]!;
    const call: (i: number) => Promise<unknown> =
      op === "insert"
        ? (i) => cache.insert(keys[sequence[i & mask]!]!, values[sequence[i & mask]!]!)
        : op === "load"
          ? () => cache.getOrInsert(`new:${fresh++}`, loader)
          : op === "l2-get"
            ? (i) => cache.get(keys[sequence[i & mask]!]!)
            : (i) => cache.getOrInsert(keys[sequence[i & mask]!]!, loader);
    let samples = new Samples(4_000_000);
    const timed = async (i: number): Promise<void> => {
      const started = performance.now();
      await call(i);
      samples.add(performance.now() - started);
    };
    await measureOps(timed, { inFlight: 256, warmupMs: settings.quick ? 150 : 300, durationMs: 1, chunk: 1 });
    samples = new Samples(4_000_000);
    await sendCommand(redis.host, redis.port, ["CONFIG", "RESETSTAT"]);
    const result = await measureOps(timed, {
      inFlight: 256,
      warmupMs: 0,
      durationMs: settings.quick ? 300 : 1_000,
      chunk: 1,
    });
    const { p50, p99 } = samples.summary();
    // Redis's own CPU per call: the client-side rate swings with the machine's load, this does not.
    const serverUs = (await serverMicros(redis)) / result.ops;
    return { opsPerSec: result.opsPerSec, p50, p99, serverUs };
  } finally {
    await cache.close();
    await redis.stop();
  }
}

/** One measurement of `recovery-after-heal`. */
export async function runRecoveryAfterHeal(lib: string, settings: RunSettings): Promise<Metrics> {
  const count = settings.quick ? 200 : 1_000;
  const redis = await ownRedis();
  const proxy = await startTcpProxy({ target: { host: redis.host, port: redis.port } });
  const tier = new RedisTier<string, Value>({
    client: { host: proxy.host, port: proxy.port },
    prefix: "bench",
    conditionalWrites: true,
    commandTimeout: 200,
  });
  let replayStarted = 0;
  let replayed = 0;
  const cache = Cache.builder<string, Value>()
    .name("bench")
    .memory({ maxEntries: 10_000 })
    .ttl("10m")
    .fallback(Cache.builder<string, Value>().storage(tier).circuitBreaker(false))
    .onEvent((event) => {
      if (event.type === "write_replayed" && replayed++ === 0) replayStarted = performance.now();
    })
    .build();
  try {
    const keys = Array.from({ length: count }, (_, i) => `user:${i}`);
    await Promise.all(keys.map((key, i) => cache.insert(key, makeValue(i))));
    proxy.partition();
    await Promise.all(keys.map((key) => cache.invalidate(key)));
    if (cache.stats().pendingWrites.pending !== count)
      throw new Error(`expected ${count} pending writes, got ${cache.stats().pendingWrites.pending}`);
    proxy.heal();
    // The client reconnects on its own (ioredis retries); wait until a PING goes through.
    for (const deadline = Date.now() + 10_000; ;) {
      try {
        await tier.ping();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    const healed = performance.now();
    if (lib === "traffic") await cache.get("unrelated");
    for (const deadline = Date.now() + 30_000; cache.stats().pendingWrites.pending !== 0;) {
      if (Date.now() > deadline) throw new Error("the replay did not finish within 30 s");
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const done = performance.now();
    return { recoveryMs: done - healed, replayMs: done - Math.max(healed, replayStarted) };
  } finally {
    await cache.close();
    await tier.close();
    await proxy.close();
    await redis.stop();
  }
}
