import { createTiered, makeValue } from "../libs.js";
import type { L2Lib, Subject } from "../libs.js";
import { measureOps } from "../measure.js";
import { uniformSequence } from "../random.js";
import { Samples } from "../stats.js";
import { ownRedis } from "./redis.js";
import type { Metrics, RunSettings } from "./types.js";

const SEQUENCE = 1 << 20;

/**
 * L1 misses that hit Redis, 256 in flight, on a fresh redis-server: with a 50-entry L1 that every
 * hit back-fills (`l1Max` 50), or with Redis alone (`l1Max` 0).
 */
export async function runL2Hit(lib: string, settings: RunSettings, l1Max = 50): Promise<Metrics> {
  const n = settings.quick ? 2_000 : 5_000;
  const redis = await ownRedis();
  let subject: Subject | undefined;
  try {
    subject = await createTiered(lib as L2Lib, {
      url: redis.url,
      host: redis.host,
      port: redis.port,
      l1Max,
    });
    const s = subject;
    const keys = Array.from({ length: n }, (_, i) => `user:${i}`);
    for (let i = 0; i < n; i += 256) {
      const batch: unknown[] = [];
      for (let j = i; j < Math.min(n, i + 256); j++) batch.push(s.set(keys[j]!, makeValue(j)));
      await Promise.all(batch);
    }
    const sequence = uniformSequence(n, SEQUENCE, 5);
    const mask = SEQUENCE - 1;
    let misses = 0;
    let samples = new Samples(4_000_000);
    const call = async (i: number): Promise<void> => {
      const started = performance.now();
      const found = await s.get(keys[sequence[i & mask]!]!);
      samples.add(performance.now() - started);
      if (found === undefined || found === null) misses++;
    };
    const warmupMs = settings.quick ? 150 : 200;
    const durationMs = settings.quick ? 300 : 600;
    await measureOps(call, { inFlight: 256, warmupMs, durationMs: 1, chunk: 1 });
    samples = new Samples(4_000_000);
    misses = 0;
    const result = await measureOps(call, { inFlight: 256, warmupMs: 0, durationMs, chunk: 1 });
    if (misses > result.ops * 0.01) throw new Error(`${lib}: ${misses} of ${result.ops} reads missed`);
    const { p50, p99 } = samples.summary();
    return { opsPerSec: result.opsPerSec, p50, p99, misses };
  } finally {
    await subject?.close();
    await redis.stop();
  }
}
