// Measures RedisTier.get and raw ioredis GET with ioredis auto-pipelining on and off, with 256
// calls in flight, against a redis-server started for the run (or REDIS_URL).
//
//   pnpm --filter @cachet/redis bench:pipelining
//
// Prints ops/s and p50/p99 latency per configuration (median of ROUNDS interleaved rounds).
import { CacheEntry } from "@cachet/tier";
import { startRedis } from "@cachet/test-utils";
import { Redis } from "ioredis";
import { RedisTier } from "../src/index.js";

const IN_FLIGHT = 256;
const OPS_PER_ROUND = 60_000;
const ROUNDS = 5;
const KEYS = 1_000;

interface Result {
  opsPerSec: number;
  p50: number;
  p99: number;
}

async function measure(op: (i: number) => Promise<unknown>): Promise<Result> {
  const latencies = new Float64Array(OPS_PER_ROUND);
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < OPS_PER_ROUND) {
      const i = next++;
      const t0 = performance.now();
      await op(i);
      latencies[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const elapsed = performance.now() - started;
  latencies.sort();
  return {
    opsPerSec: (OPS_PER_ROUND / elapsed) * 1000,
    p50: latencies[Math.floor(OPS_PER_ROUND * 0.5)]!,
    p99: latencies[Math.floor(OPS_PER_ROUND * 0.99)]!,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const value = {
    id: 42,
    name: "Ada Lovelace",
    email: "ada@example.com",
    roles: ["admin", "dev"],
    at: new Date(),
  };
  const configs: { name: string; op: (i: number) => Promise<unknown>; close: () => Promise<unknown> }[] = [];
  for (const autoPipelining of [true, false]) {
    const raw = new Redis({ ...redis.clientOptions, enableAutoPipelining: autoPipelining });
    const tier = new RedisTier<string, typeof value>({
      client: { url: redis.url, autoPipelining },
      prefix: "bench-pipelining",
      commandTimeout: 10_000,
    });
    const label = autoPipelining ? "on " : "off";
    configs.push({
      name: `raw ioredis GET, auto-pipelining ${label}`,
      op: (i) => raw.getBuffer(`bench-pipelining:k${i % KEYS}`),
      close: () => raw.quit(),
    });
    configs.push({
      name: `RedisTier.get,    auto-pipelining ${label}`,
      op: (i) => tier.get(`k${i % KEYS}`),
      close: () => tier.close(),
    });
  }
  const seeder = new RedisTier<string, typeof value>({ client: redis.url, prefix: "bench-pipelining" });
  await seeder.insertMany(Array.from({ length: KEYS }, (_, i) => [`k${i}`, new CacheEntry(value)] as const));
  await seeder.close();

  const results = new Map<string, Result[]>();
  for (const config of configs) await measure(config.op); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const config of configs) {
      const list = results.get(config.name) ?? [];
      list.push(await measure(config.op));
      results.set(config.name, list);
    }
  }
  for (const config of configs) await config.close();
  await redis.stop();

  console.log(
    `node ${process.version}, ${IN_FLIGHT} in flight, ${OPS_PER_ROUND} ops x ${ROUNDS} rounds (median), ${new Date().toISOString()}`,
  );
  console.log("| configuration | ops/s | p50 ms | p99 ms |\n|---|---:|---:|---:|");
  for (const [name, list] of results) {
    const ops = Math.round(median(list.map((r) => r.opsPerSec)));
    const p50 = median(list.map((r) => r.p50)).toFixed(2);
    const p99 = median(list.map((r) => r.p99)).toFixed(2);
    console.log(`| ${name.trim()} | ${ops.toLocaleString("en-US")} | ${p50} | ${p99} |`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
