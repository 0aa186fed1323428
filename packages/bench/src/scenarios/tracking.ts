import { Cache } from "@cachet/core";
import type { CacheEvent } from "@cachet/core";
import { RedisBus, RedisTier } from "@cachet/redis";
import { CacheEntry } from "@cachet/tier";
import { sendCommand } from "@cachet/test-utils";
import type { RedisHandle } from "@cachet/test-utils";
import { Redis } from "ioredis";
import { measureOps, sleep } from "../measure.js";
import { Samples } from "../stats.js";
import { ownRedis } from "./redis.js";
import type { Metrics, RunSettings } from "./types.js";

// Server-assisted L1 coherence (`RedisTier` `tracking`) against the invalidation bus, each run on
// a fresh redis-server of its own, one process per library:
// - `tracking-latency`: from a writer's call to the reader's cache hearing of it (its
//   `external_change` event for tracking, `bus_received` for the bus), sequential writes;
// - `tracking-stale`: an L1+L2 read workload while 10% of the operations are writes made outside
//   cachet (a bare `RedisTier`, no cache, no bus), counting stale reads per 10k;
// - `tracking-hit`: the L1 hit path with and without a tracked tier below it.

type Value = { version: number };

/** A reader cache (L1 + tier) and, for the bus variants, a writer cache on the same bus. */
async function pair(lib: string, redis: RedisHandle, prefix: string) {
  const tracking = lib === "tracking";
  const transport = lib === "pubsub" ? "pubsub" : lib === "streams" ? "stream" : undefined;
  const readerTier = new RedisTier<string, Value>({ client: redis.url, prefix, tracking });
  const events: { type: string; at: number }[] = [];
  const listen = (e: CacheEvent): void => {
    if (e.type === "external_change" || e.type === "bus_received")
      events.push({ type: e.type, at: performance.now() });
  };
  let reader = Cache.builder<string, Value>()
    .name("bench")
    .memory({ maxEntries: 100_000 })
    .ttl("1h")
    .fallback(Cache.builder<string, Value>().storage(readerTier))
    .onEvent(listen);
  let writer = Cache.builder<string, Value>()
    .name("bench")
    .memory({ maxEntries: 100_000 })
    .ttl("1h")
    .fallback(
      Cache.builder<string, Value>().storage(new RedisTier<string, Value>({ client: redis.url, prefix })),
    );
  if (transport !== undefined) {
    reader = reader.bus(new RedisBus({ client: redis.url, transport }));
    writer = writer.bus(new RedisBus({ client: redis.url, transport }));
  }
  const built = { reader: reader.build(), writer: writer.build(), events };
  if (tracking) await readerTier.trackingReady();
  else await sleep(200); // the bus subscriptions settle
  return built;
}

/** Writes made and heard before the latency samples start (see `runTrackingLatency`). */
const WARMUP_WRITES = 4_000;

/** Invalidation latency, writer's reply to the reader hearing of it. */
export async function runTrackingLatency(lib: string, settings: RunSettings): Promise<Metrics> {
  if (lib === "raw-tracking") return rawTrackingLatency(settings);
  const redis = await ownRedis();
  const { reader, writer, events } = await pair(lib, redis, "lat");
  const samples = new Samples(100_000);
  try {
    const n = settings.quick ? 300 : 2_000;
    // Unmeasured warm-up writes first (every variant): the first few hundred calls of a fresh
    // process pay JIT compilation, which is not what an invalidation costs in a running service.
    for (let i = -WARMUP_WRITES; i < n; i++) {
      const count = events.length;
      // From the writer's call: the reader often hears of the write before the writer's own reply
      // is processed (both arrive on loopback in the same tick), so the reply is no useful origin.
      const started = performance.now();
      await writer.insert(`k${i % 100}`, { version: i });
      const deadline = performance.now() + 2_000;
      while (events.length === count && performance.now() < deadline) await new Promise(setImmediate);
      if (i >= 0 && events.length > count) samples.add(events[count]!.at - started);
    }
    const { p50, p99 } = samples.summary();
    return { p50, p99, heard: samples.count / n };
  } finally {
    await Promise.allSettled([reader.close(), writer.close()]);
    await redis.stop();
  }
}

/**
 * The floor of `tracking`: the same sequential writes made by a bare ioredis `SET` (no cache, no
 * envelope), heard by a bare ioredis connection with `CLIENT TRACKING … BCAST` redirected to
 * itself (no tier, no cache). What is left of a tail here is Redis, loopback and the scheduler.
 */
async function rawTrackingLatency(settings: RunSettings): Promise<Metrics> {
  const redis = await ownRedis();
  const writer = new Redis({ host: redis.host, port: redis.port });
  const listener = new Redis({ host: redis.host, port: redis.port });
  const samples = new Samples(100_000);
  try {
    const id = await listener.client("ID");
    await listener.call("CLIENT", "TRACKING", "ON", "REDIRECT", String(id), "BCAST", "PREFIX", "lat:");
    let heardAt: number[] = [];
    listener.on("message", () => heardAt.push(performance.now()));
    await listener.subscribe("__redis__:invalidate");
    const value = Buffer.alloc(32, 1);
    const n = settings.quick ? 300 : 2_000;
    for (let i = -WARMUP_WRITES; i < n; i++) {
      heardAt = [];
      const started = performance.now();
      await writer.set(`lat:k${i % 100}`, value);
      const deadline = performance.now() + 2_000;
      while (heardAt.length === 0 && performance.now() < deadline) await new Promise(setImmediate);
      if (i >= 0 && heardAt.length > 0) samples.add(heardAt[0]! - started);
    }
    const { p50, p99 } = samples.summary();
    return { p50, p99, heard: samples.count / n };
  } finally {
    writer.disconnect();
    listener.disconnect();
    await redis.stop();
  }
}

/**
 * 10% of operations are outside writes of a new version of a random key (a bare tier: no cache,
 * no bus); 90% are reads through the cache. A read is stale when it returns a version older than
 * one whose write had completed before the read started; `staleAfterBound` counts only versions
 * replaced at least `BOUND_MS` before the read (what tracking promises to hide).
 */
const BOUND_MS = 10;

export async function runTrackingStale(lib: string, settings: RunSettings): Promise<Metrics> {
  const redis = await ownRedis();
  const prefix = "stale";
  const tracking = lib === "tracking";
  const tier = new RedisTier<string, Value>({ client: redis.url, prefix, tracking });
  const cache = Cache.builder<string, Value>()
    .name("bench")
    .memory({ maxEntries: 100_000 })
    .ttl("1h")
    .fallback(Cache.builder<string, Value>().storage(tier))
    .build();
  const outside = new RedisTier<string, Value>({ client: redis.url, prefix });
  try {
    if (tracking) await tier.trackingReady();
    const keys = 1_000;
    /** Per key: versions written (completed), with when their write completed. */
    const written: { version: number; at: number }[][] = Array.from({ length: keys }, () => []);
    for (let k = 0; k < keys; k++) {
      await outside.insert(`k${k}`, new CacheEntry({ version: 0 }));
      written[k]!.push({ version: 0, at: performance.now() });
    }
    let version = 0;
    let reads = 0;
    let stale = 0;
    let staleAfterBound = 0;
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const op = async (): Promise<void> => {
      const k = Math.floor(random() * keys);
      if (random() < 0.1) {
        const v = ++version;
        await outside.insert(`k${k}`, new CacheEntry({ version: v }));
        written[k]!.push({ version: v, at: performance.now() });
        return;
      }
      const started = performance.now();
      const got = (await cache.get(`k${k}`))?.value.version ?? -1;
      reads++;
      const history = written[k]!;
      const newest = history.filter((w) => w.at < started).at(-1);
      if (newest !== undefined && got < newest.version) {
        stale++;
        const settled = history.filter((w) => w.at < started - BOUND_MS).at(-1);
        if (settled !== undefined && got < settled.version) staleAfterBound++;
      }
    };
    await measureOps(op, { inFlight: 16, warmupMs: 0, durationMs: settings.quick ? 500 : 3_000, chunk: 1 });
    return {
      reads,
      stalePer10k: (stale / reads) * 10_000,
      staleAfterBoundPer10k: (staleAfterBound / reads) * 10_000,
    };
  } finally {
    await Promise.allSettled([cache.close(), outside.close()]);
    await redis.stop();
  }
}

/**
 * The L1 hit path with (`hit-tracking`) and without (`hit-plain`) a tracked tier below, and, for
 * `tracking-cost`, what tracking costs Redis: its CPU and memory while 100k keys under the tracked
 * prefix are written, against the same writes untracked (`untracked-cost`).
 */
export async function runTrackingHit(lib: string, settings: RunSettings): Promise<Metrics> {
  const redis = await ownRedis();
  const tier = new RedisTier<string, Value>({
    client: redis.url,
    prefix: "hit",
    tracking: lib === "hit-tracking",
  });
  const cache = Cache.builder<string, Value>()
    .name("bench")
    .memory({ maxEntries: 10_000 })
    .ttl("1h")
    .fallback(Cache.builder<string, Value>().storage(tier))
    .build();
  try {
    if (lib === "hit-tracking") await tier.trackingReady();
    for (let k = 0; k < 1_000; k++) await cache.insert(`k${k}`, { version: k });
    await sleep(100); // the tier's own writes come back as invalidations once (no NOLOOP)
    for (let k = 0; k < 1_000; k++) await cache.get(`k${k}`);
    let i = 0;
    const result = await measureOps(() => cache.get(`k${i++ % 1_000}`), {
      inFlight: 1,
      warmupMs: settings.quick ? 100 : 300,
      durationMs: settings.quick ? 300 : 1_000,
      chunk: 64,
    });
    return { opsPerSec: result.opsPerSec };
  } finally {
    await cache.close();
    await redis.stop();
  }
}

/** Redis CPU (ms) and memory (bytes) spent while 100k keys are written with or without a tracker. */
export async function runTrackingCost(lib: string): Promise<Metrics> {
  const redis = await ownRedis();
  const tier = new RedisTier<string, Value>({
    client: redis.url,
    prefix: "cost",
    tracking: lib === "tracking-cost",
  });
  const writer = new Redis({ host: redis.host, port: redis.port });
  try {
    await tier.trackingReady();
    const before = await serverStats(redis);
    const value = Buffer.alloc(64, 1);
    for (let i = 0; i < 100_000; i += 1_000) {
      const pipeline = writer.pipeline();
      for (let j = i; j < i + 1_000; j++) pipeline.set(`${tier.redisKey(`k${j}`)}`, value);
      await pipeline.exec();
    }
    const after = await serverStats(redis);
    return { cpuMs: after.cpuMs - before.cpuMs, memoryBytes: after.memory - before.memory };
  } finally {
    writer.disconnect();
    await tier.close();
    await redis.stop();
  }
}

async function serverStats(redis: RedisHandle): Promise<{ cpuMs: number; memory: number }> {
  const reply = await sendCommand(redis.host, redis.port, ["INFO"]);
  if (typeof reply !== "string") throw new Error("INFO did not return text");
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:([0-9.]+)`, "m").exec(reply)?.[1] ?? NaN);
  return {
    cpuMs: (field("used_cpu_user") + field("used_cpu_sys")) * 1_000,
    memory: field("used_memory"),
  };
}
