import { LRUCache } from "lru-cache";
import { createL1, createTiered, makeValue } from "../libs.js";
import type { L1Lib, L2Lib, Subject, Value } from "../libs.js";
import { sleep } from "../measure.js";
import { Samples } from "../stats.js";
import { commandCounts, ownRedis } from "./redis.js";
import type { Metrics, RunSettings } from "./types.js";

const CALLERS = 1_000;
const LOADER_MS = 50;

async function stampede(
  getOrInsert: (key: string, load: () => Promise<Value>) => unknown,
  key: string,
): Promise<{ loaderCalls: number; samples: Samples; failures: number }> {
  let loaderCalls = 0;
  const load = async (): Promise<Value> => {
    loaderCalls++;
    await sleep(LOADER_MS);
    return makeValue(1);
  };
  const samples = new Samples(CALLERS);
  let failures = 0;
  const started = performance.now();
  const calls: Promise<void>[] = [];
  for (let i = 0; i < CALLERS; i++) {
    calls.push(
      Promise.resolve(getOrInsert(key, load)).then(
        (value) => {
          if (value === undefined || value === null) failures++;
          samples.add(performance.now() - started);
        },
        () => {
          failures++;
          samples.add(performance.now() - started);
        },
      ),
    );
  }
  await Promise.all(calls);
  return { loaderCalls, samples, failures };
}

function lruFetchSubject(): (key: string, load: () => Promise<Value>) => unknown {
  const loaders = new Map<string, () => Promise<Value>>();
  const lru = new LRUCache<string, Value>({
    max: 10_000,
    fetchMethod: (key) => loaders.get(key)!(),
  });
  return (key, load) => {
    loaders.set(key, load);
    return lru.fetch(key);
  };
}

/** 1,000 concurrent `getOrInsert` on one cold key, L1 only or L1 + Redis. */
export async function runStampede(lib: string, withL2: boolean, _settings: RunSettings): Promise<Metrics> {
  const redis = withL2 ? await ownRedis() : undefined;
  let subject: Subject | undefined;
  try {
    let getOrInsert: (key: string, load: () => Promise<Value>) => unknown;
    if (lib === "lru-cache-fetch") {
      getOrInsert = lruFetchSubject();
    } else {
      subject = redis
        ? await createTiered(lib as L2Lib, {
            url: redis.url,
            host: redis.host,
            port: redis.port,
            l1Max: 10_000,
          })
        : await createL1(lib as L1Lib, 10_000);
      const s = subject;
      getOrInsert = (key, load) => s.getOrInsert(key, load);
    }
    await stampede(getOrInsert, "warm-up");
    await sleep(20);
    const before = redis ? await commandCounts(redis) : undefined;
    const run = await stampede(getOrInsert, "cold");
    await sleep(20);
    const after = redis ? await commandCounts(redis) : undefined;
    const { p50, p99, max } = run.samples.summary();
    const metrics: Metrics = { loaderCalls: run.loaderCalls, p50, p99, max, failures: run.failures };
    if (before && after) {
      metrics.l2Reads = after.reads - before.reads;
      // The two INFO calls are excluded; anything else (writes, locks, expiries set) counts.
      metrics.l2Commands = after.all - before.all;
    }
    return metrics;
  } finally {
    await subject?.close();
    await redis?.stop();
  }
}
