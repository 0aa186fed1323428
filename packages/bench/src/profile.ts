// A fixed amount of work on one hot path, for profilers (see PROFILE.md): not a benchmark. Runs
// exactly `ops` operations after the setup, so that instruction counts from two runs with different
// `ops` give the instructions per operation, whatever the machine's load:
//
//   valgrind --tool=callgrind node dist/profile.js l1-get-seq cachet 200000
//   node --cpu-prof dist/profile.js l2-backfill cachet 50000
//   node dist/profile.js l2-backfill cachet 50000 --alloc     # sampled allocations per op, by site
//
// The warm-up before the counted operations is `PROFILE_WARMUP` operations (default 20,000).
//
// Paths: l1-get-seq, l1-get-256 (10,000 keys, Zipf reads, all L1 hits), l2-only (Redis alone, 256
// in flight), l2-backfill (50-entry L1 in front of Redis, 256 in flight, ~99% L1 misses), memory
// (retained heap bytes per entry, 100,000 entries; `ops` ignored).
import { startAllocationSampling } from "./alloc-sampler.js";
import { createL1, createTiered, makeValue } from "./libs.js";
import type { L1Lib, L2Lib, Subject } from "./libs.js";
import { uniformSequence, zipfSequence } from "./random.js";
import { runMemory } from "./scenarios/memory.js";
import { ownRedis } from "./scenarios/redis.js";

const SEQUENCE = 1 << 20;
const [path, lib, opsText, flag] = process.argv.slice(2);
if (path === undefined || lib === undefined) {
  console.error("usage: node dist/profile.js <path> <library> [ops] [--alloc]");
  process.exit(2);
}
const ops = Number(opsText ?? 100_000);

/** Runs `op(i)` for i in [0, ops), `inFlight` loops each awaiting its calls. */
async function drive(op: (i: number) => unknown, inFlight: number, count: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await op(next++);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/** Samples every allocation (also those a GC already reclaimed) while `run` runs; prints bytes per op by site. */
async function sampled(run: () => Promise<void>): Promise<void> {
  const stop = await startAllocationSampling();
  await run();
  const { total, sites } = await stop();
  console.log(`allocated ≈ ${(total / ops).toFixed(0)} bytes/op (sampled every 32 bytes)`);
  for (const [site, bytes] of sites) console.log(`  ${(bytes / ops).toFixed(1).padStart(7)} B/op  ${site}`);
}

async function main(): Promise<void> {
  if (path === "memory") {
    const { bytesPerEntry } = await runMemory(lib!, { quick: false });
    console.log(`${lib}: ${bytesPerEntry!.toFixed(1)} bytes per entry`);
    return;
  }
  let subject: Subject;
  let op: (i: number) => unknown;
  let inFlight = 256;
  let stop: () => Promise<void> = () => Promise.resolve();
  if (path === "l1-get-seq" || path === "l1-get-256") {
    const keys = Array.from({ length: 10_000 }, (_, i) => `user:${i}`);
    subject = await createL1(lib as L1Lib, keys.length);
    for (let i = 0; i < keys.length; i++) await subject.set(keys[i]!, makeValue(i));
    const sequence = zipfSequence(keys.length, SEQUENCE, 1.0, 42);
    op = (i) => subject.get(keys[sequence[i & (SEQUENCE - 1)]!]!);
    inFlight = path === "l1-get-seq" ? 1 : 256;
  } else if (path === "l2-only" || path === "l2-backfill") {
    const redis = await ownRedis();
    stop = () => redis.stop();
    const keys = Array.from({ length: 5_000 }, (_, i) => `user:${i}`);
    subject = await createTiered(lib as L2Lib, { ...redis, l1Max: path === "l2-only" ? 0 : 50 });
    for (let i = 0; i < keys.length; i += 256) {
      await Promise.all(keys.slice(i, i + 256).map((key, j) => subject.set(key, makeValue(i + j))));
    }
    const sequence = uniformSequence(keys.length, SEQUENCE, 5);
    op = (i) => subject.get(keys[sequence[i & (SEQUENCE - 1)]!]!);
  } else {
    throw new Error(`unknown path ${path}`);
  }
  // Warm-up: a fixed number of operations, the same in every run, so that only `ops` differs.
  await drive(op, inFlight, Number(process.env["PROFILE_WARMUP"] ?? 20_000));
  const started = performance.now();
  if (flag === "--alloc") await sampled(() => drive(op, inFlight, ops));
  else await drive(op, inFlight, ops);
  const ms = performance.now() - started;
  console.log(`${path} ${lib}: ${ops} ops in ${ms.toFixed(0)} ms (${((ops / ms) * 1000).toFixed(0)} ops/s)`);
  await subject.close();
  await stop();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
