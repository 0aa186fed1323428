// Coherence benchmark: invalidation propagation latency between two processes (p50/p99), bus
// throughput (invalidations/s), and what tags add to an L1 hit.
//
//   pnpm turbo run build --filter=@cachet/redis... && cd packages/redis && pnpm exec tsx bench/propagation.ts [--quick]
//
// Uses REDIS_URL when set, otherwise starts its own redis-server on a free port. When bentocache
// is installed in packages/bench, its Redis bus is measured the same way in the same run.
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Cache } from "@cachet/core";
import { startRedis } from "@cachet/test-utils";
import type { ChildConfig, Mode } from "./propagation-child.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 300 : 2_000;
const BURST = quick ? 5_000 : 30_000;
const WINDOW = 256;

interface Reply {
  type: string;
  result?: unknown;
  error?: string;
}

class Child {
  readonly #process: ChildProcess;
  readonly #listeners = new Set<(reply: Reply) => void>();

  constructor(config: ChildConfig) {
    this.#process = fork(join(here, "propagation-child.ts"), [JSON.stringify(config)], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.#process.on("message", (reply: Reply) => {
      for (const listener of [...this.#listeners]) listener(reply);
    });
  }

  next(type: string, timeoutMs = 120_000): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${type}" within ${timeoutMs} ms`)), timeoutMs);
      const listener = (reply: Reply): void => {
        if (reply.type === "error") {
          this.#listeners.delete(listener);
          clearTimeout(timer);
          reject(new Error(reply.error));
        } else if (reply.type === type) {
          this.#listeners.delete(listener);
          clearTimeout(timer);
          resolve(reply);
        }
      };
      this.#listeners.add(listener);
    });
  }

  async ask<T>(message: object): Promise<T> {
    const reply = this.next("result");
    this.#process.send(message);
    return (await reply).result as T;
  }

  async stop(): Promise<void> {
    await this.ask({ type: "close" }).catch(() => undefined);
    this.#process.disconnect();
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function bentoPaths(): ChildConfig["bento"] {
  const root = join(here, "..", "..", "bench", "node_modules", "bentocache");
  const paths = {
    main: join(root, "build", "index.js"),
    redisDrivers: join(root, "build", "src", "drivers", "redis.js"),
    memoryDriver: join(root, "build", "src", "drivers", "memory.js"),
  };
  return Object.values(paths).every((path) => existsSync(path)) ? paths : undefined;
}

interface Row {
  mode: Mode;
  p50: number;
  p99: number;
  throughput: number;
}

async function measure(mode: Mode, url: string, bento: ChildConfig["bento"]): Promise<Row> {
  const channel = `bench:${mode}:${process.pid}`;
  const base = { mode, url, channel, ...(bento ? { bento } : {}) };
  const pinger = new Child({ ...base, role: "pinger" });
  const ponger = new Child({ ...base, role: "ponger" });
  await Promise.all([pinger.next("ready"), ponger.next("ready")]);
  try {
    await pinger.ask({ type: "pingpong", rounds: 100 }); // warm-up
    const rtts = await pinger.ask<number[]>({ type: "pingpong", rounds: ROUNDS });
    // One way ≈ half a round trip (each leg: an invalidate through the cache, then delivery).
    const oneWay = rtts.map((rtt) => rtt / 2);
    await ponger.ask({ type: "expect-burst", count: BURST });
    const done = ponger.next("burst-done");
    const started = performance.now();
    await pinger.ask({ type: "burst", count: BURST, window: WINDOW });
    await done;
    const seconds = (performance.now() - started) / 1_000;
    return { mode, p50: percentile(oneWay, 50), p99: percentile(oneWay, 99), throughput: BURST / seconds };
  } finally {
    await Promise.all([pinger.stop(), ponger.stop()]);
  }
}

/** Mean ns per `get` of one key, best of several rounds. */
async function hitCost(cache: Cache<string, string>, key: string, iterations: number): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 7; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await cache.get(key);
    best = Math.min(best, Number(process.hrtime.bigint() - started) / iterations);
  }
  return best;
}

interface TagCost {
  untagged: number;
  taggedBefore: number;
  taggedAfter: number;
}

async function tagCost(): Promise<TagCost> {
  const cache = Cache.builder<string, string>().memory({ maxEntries: 1_000 }).ttl(3_600_000).build();
  const tags = { tags: ["team:1", "region:eu", "plan:pro"] };
  await cache.insert("plain", "v");
  await cache.insert("tagged-before", "v", tags);
  // 100 unrelated tags were invalidated: the cache now knows tag times to check against.
  await cache.invalidateTags(Array.from({ length: 100 }, (_, i) => `other:${i}`));
  await new Promise((resolve) => setTimeout(resolve, 2)); // the next entry is stamped after those times
  await cache.insert("tagged-after", "v", tags);
  const iterations = quick ? 100_000 : 400_000;
  for (const key of ["plain", "tagged-before", "tagged-after"]) await hitCost(cache, key, 50_000);
  const untagged = await hitCost(cache, "plain", iterations);
  const taggedBefore = await hitCost(cache, "tagged-before", iterations);
  const taggedAfter = await hitCost(cache, "tagged-after", iterations);
  await cache.close();
  return { untagged, taggedBefore, taggedAfter };
}

async function main(): Promise<void> {
  const redis = process.env.REDIS_URL ? undefined : await startRedis({ own: true });
  const url = process.env.REDIS_URL ?? redis!.url;
  const bento = bentoPaths();
  try {
    const modes: Mode[] = ["cachet-pubsub", "cachet-stream", ...(bento ? (["bentocache"] as const) : [])];
    const rows: Row[] = [];
    for (const mode of modes) rows.push(await measure(mode, url, bento));
    console.log(
      `\nInvalidation propagation between two processes (${ROUNDS} round trips, one way = RTT/2; ` +
        `burst of ${BURST}, ${WINDOW} in flight)\n`,
    );
    console.log("| bus | p50 (ms) | p99 (ms) | throughput (invalidations/s) |");
    console.log("|---|---:|---:|---:|");
    for (const row of rows) {
      const throughput = Math.round(row.throughput).toLocaleString("en-US");
      console.log(`| ${row.mode} | ${row.p50.toFixed(3)} | ${row.p99.toFixed(3)} | ${throughput} |`);
    }
    if (!bento) console.log("\nbentocache is not installed in packages/bench: no comparison in this run.");
    const tags = await tagCost();
    console.log("\nL1 hit cost, after invalidateTags on 100 unrelated tags\n");
    console.log("| entry | ns per get |");
    console.log("|---|---:|");
    console.log(`| untagged | ${tags.untagged.toFixed(0)} |`);
    console.log(`| 3 tags, cached before the invalidations | ${tags.taggedBefore.toFixed(0)} |`);
    console.log(`| 3 tags, cached after them | ${tags.taggedAfter.toFixed(0)} |`);
    const overhead = (tagged: number): string =>
      `${(((tagged - tags.untagged) / tags.untagged) * 100).toFixed(1)}%`;
    console.log(
      `\nTag check overhead (target < 10% of an L1 hit): ${overhead(tags.taggedBefore)} for an entry older than ` +
        `the invalidations, ${overhead(tags.taggedAfter)} for one written after them.`,
    );
  } finally {
    await redis?.stop();
  }
}

void main();
