// Open-loop latency: requests are sent at a fixed arrival rate whatever the cache does, and each
// request's latency runs from the time it was *scheduled*, not from when it was sent. A closed loop
// (send the next call when the previous one returns) waits out a stall and then measures only the
// calls after it, so a 50 ms pause shows up as one slow call (coordinated omission); here every call
// scheduled during the pause carries the pause in its latency, as real users would.
import { createL1, createTiered, makeValue } from "../libs.js";
import type { L1Lib, L2Lib, Subject } from "../libs.js";
import { seededRandom, uniformSequence, zipfSequence } from "../random.js";
import { Samples } from "../stats.js";
import { ownRedis } from "./redis.js";
import type { Column, Metrics, RunSettings, ScenarioDef, ScenarioModule } from "./types.js";

const SEQUENCE = 1 << 20;

/** One open-loop workload: how to build the cache, and what request `i` does. */
interface Workload {
  /** Requests per second, full run and quick run. */
  readonly rate: number;
  readonly quickRate: number;
  setup(lib: string, redis: { url: string; host: string; port: number } | undefined): Promise<Driver>;
}

interface Driver {
  readonly subject: Subject;
  request(i: number): unknown;
}

function keyNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `user:${i}`);
}

const WORKLOADS: Record<string, Workload> = {
  // 10,000 keys all in L1; Zipf(1.0) reads.
  "open-loop-l1": {
    rate: 200_000,
    quickRate: 100_000,
    async setup(lib) {
      const keys = keyNames(10_000);
      const subject = await createL1(lib as L1Lib, keys.length);
      for (let i = 0; i < keys.length; i++) await subject.set(keys[i]!, makeValue(i));
      const sequence = zipfSequence(keys.length, SEQUENCE, 1.0, 42);
      return { subject, request: (i) => subject.get(keys[sequence[i & (SEQUENCE - 1)]!]!) };
    },
  },
  // 5,000 keys in Redis, a 50-entry L1: nearly every read misses L1, hits Redis and back-fills.
  "open-loop-tiered": {
    rate: 10_000,
    quickRate: 5_000,
    async setup(lib, redis) {
      const keys = keyNames(5_000);
      const subject = await createTiered(lib as L2Lib, { ...redis!, l1Max: 50 });
      await fill(subject, keys);
      const sequence = uniformSequence(keys.length, SEQUENCE, 5);
      return { subject, request: (i) => subject.get(keys[sequence[i & (SEQUENCE - 1)]!]!) };
    },
  },
  // 100,000 keys in Redis, a 10,000-entry L1, Zipf(1.0): 90% reads (L1 hits and L2 back-fills), 10% writes.
  "open-loop-mixed": {
    rate: 20_000,
    quickRate: 10_000,
    async setup(lib, redis) {
      const keys = keyNames(100_000);
      const values = keys.map((_, i) => makeValue(i));
      const subject = await createTiered(lib as L2Lib, { ...redis!, l1Max: 10_000 });
      await fill(subject, keys);
      const sequence = zipfSequence(keys.length, SEQUENCE, 1.0, 7);
      const random = seededRandom(11);
      const writes = new Uint8Array(SEQUENCE);
      for (let i = 0; i < SEQUENCE; i++) writes[i] = random() < 0.1 ? 1 : 0;
      return {
        subject,
        request: (i) => {
          const at = i & (SEQUENCE - 1);
          const k = sequence[at]!;
          return writes[at] === 1 ? subject.set(keys[k]!, values[k]!) : subject.get(keys[k]!);
        },
      };
    },
  },
};

async function fill(subject: Subject, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 256) {
    const batch: unknown[] = [];
    for (let j = i; j < Math.min(keys.length, i + 256); j++) batch.push(subject.set(keys[j]!, makeValue(j)));
    await Promise.all(batch);
  }
}

/**
 * Sends `request(i)` at `rate` per second for `ms`: the sender wakes on every turn of the event loop
 * (`setImmediate`, so I/O runs in between) and sends every request whose scheduled time has come.
 * Latency of request `i` = completion time − `start + i / rate`.
 */
function openLoop(
  request: (i: number) => unknown,
  options: { rate: number; ms: number; samples: Samples | undefined },
): Promise<{ sent: number; done: number; lateSendMs: number }> {
  const { rate, ms, samples } = options;
  const interval = 1000 / rate;
  const total = Math.floor((ms / 1000) * rate);
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let sent = 0;
    let done = 0;
    let lateSendMs = 0;
    let failed = false;
    const finish = (scheduled: number) => () => {
      samples?.add(performance.now() - scheduled);
      if (++done === total) resolve({ sent, done, lateSendMs });
    };
    const fail = (error: unknown) => {
      if (!failed) reject(error instanceof Error ? error : new Error(String(error)));
      failed = true;
    };
    const tick = (): void => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        const scheduled = start + sent * interval;
        lateSendMs = Math.max(lateSendMs, now - scheduled);
        sent++;
        Promise.resolve(request(sent - 1)).then(finish(scheduled), fail);
      }
      if (sent < total && !failed) setImmediate(tick);
    };
    tick();
  });
}

async function measure(scenario: string, lib: string, settings: RunSettings): Promise<Metrics> {
  const workload = WORKLOADS[scenario];
  if (workload === undefined) throw new Error(`unknown open-loop scenario ${scenario}`);
  const redis = scenario === "open-loop-l1" ? undefined : await ownRedis();
  let driver: Driver | undefined;
  try {
    driver = await workload.setup(lib, redis);
    const rate = settings.quick ? workload.quickRate : workload.rate;
    const ms = settings.quick ? 1_000 : 3_000;
    await openLoop(driver.request, { rate, ms: settings.quick ? 300 : 1_000, samples: undefined });
    const samples = new Samples(Math.ceil((ms / 1000) * rate) + 1);
    const started = performance.now();
    const { done, lateSendMs } = await openLoop(driver.request, { rate, ms, samples });
    const elapsed = performance.now() - started;
    const { p50, p99, max } = samples.summary();
    return {
      rate,
      achieved: (done / elapsed) * 1000,
      p50,
      p99,
      p999: samples.percentile(99.9),
      max,
      lateSendMs,
    };
  } finally {
    await driver?.subject.close();
    await redis?.stop();
  }
}

const LATENCY: readonly Column[] = [
  { metric: "rate", label: "offered req/s", format: "ops" },
  { metric: "achieved", label: "completed req/s", format: "ops" },
  { metric: "p50", label: "p50 ms", format: "ms" },
  { metric: "p99", label: "p99 ms", format: "ms" },
  { metric: "p999", label: "p99.9 ms", format: "ms" },
  { metric: "max", label: "max ms", format: "ms" },
];

const COMMON =
  "Requests are sent at a fixed rate (open loop: the sender does not wait for answers) for 3 s after a " +
  "1 s warm-up, and each request's latency is taken from the time it was scheduled to be sent, so a stall " +
  "delays every request scheduled during it (no coordinated omission). The sender runs on `setImmediate` " +
  "in the same process, so the figures include the sender's own lateness on a busy machine.";

const defs: ScenarioDef[] = [
  {
    id: "open-loop-l1",
    title: "Open-loop latency: L1 hits, 200,000 req/s",
    method: `${COMMON} 10,000 keys in L1, Zipf(1.0) \`get\`s.`,
    libs: ["lru-cache", "cachet"],
    columns: LATENCY,
    maxReps: 3,
  },
  {
    id: "open-loop-tiered",
    title: "Open-loop latency: L1 miss, Redis hit, back-fill, 10,000 req/s",
    method: `${COMMON} 5,000 keys in Redis, a 50-entry L1, uniformly random \`get\`s (about 99% L1 misses). \`hand-rolled-msgpack\` is the lru-cache + ioredis floor.`,
    libs: ["hand-rolled-msgpack", "cachet"],
    columns: LATENCY,
    redis: true,
    maxReps: 3,
  },
  {
    id: "open-loop-mixed",
    title: "Open-loop latency: 90% reads / 10% writes, L1 + Redis, 20,000 req/s",
    method: `${COMMON} 100,000 keys in Redis, a 10,000-entry L1, Zipf(1.0); 10% of requests (seeded) write through both tiers, the rest \`get\`.`,
    libs: ["hand-rolled-msgpack", "cachet"],
    columns: LATENCY,
    redis: true,
    maxReps: 3,
  },
];

/** Registered in `registry.ts`. */
export const openLoopScenarios: ScenarioModule = { defs, measure };
