import { CONSISTENCY_SCENARIOS } from "./scenarios/consistency-defs.js";
import { REGISTERED } from "./scenarios/registry.js";
import type { Column, ScenarioDef } from "./scenarios/types.js";

export type { Column, MetricFormat, ScenarioDef } from "./scenarios/types.js";

const L1_PEERS = ["bentocache", "bentocache-noser", "cacheable", "cache-manager"] as const;
const OPS: Column = { metric: "opsPerSec", label: "median ops/s", format: "ops" };

function l1Hit(op: "get" | "goi", inFlight: "seq" | "256"): ScenarioDef {
  const call = op === "get" ? "`get`" : "`getOrInsert` (every call a hit)";
  return {
    id: `l1-${op}-${inFlight}`,
    title: `L1 hit: ${call}, ${inFlight === "seq" ? "sequential" : "256 in flight"}`,
    method:
      "10,000 keys inserted, then reads of a precomputed Zipf(1.0) key sequence (2^20 keys, same seed everywhere); " +
      "every call is awaited, also for synchronous libraries, so all pay one await per call" +
      (inFlight === "256" ? "; 256 concurrent loops." : "; one loop.") +
      (op === "get" && inFlight === "seq" ? " `lru-cache-sync` is the same loop with no await at all." : ""),
    target: "cachet ≥ 0.8x raw lru-cache",
    libs: [
      "lru-cache",
      ...(op === "get" && inFlight === "seq" ? ["lru-cache-sync"] : []),
      "lru-cache-ttl",
      "map",
      "cachet",
      ...L1_PEERS,
    ],
    baseline: "lru-cache",
    ratioMetric: "opsPerSec",
    columns: [OPS],
  };
}

function listener(inFlight: "seq" | "256"): ScenarioDef {
  return {
    id: `listener-get-${inFlight}`,
    title: `Hit path observed vs not: \`get\`, ${inFlight === "seq" ? "sequential" : "256 in flight"}`,
    method:
      "As the L1 hit scenario, cachet only: no listener; `.onEvent(() => {})`; a `node:diagnostics_channel` " +
      "subscriber on the cache event channel.",
    target: "zero cost when nobody listens (the baseline is the unobserved cache)",
    libs: ["cachet", "cachet-listener", "cachet-channel"],
    baseline: "cachet",
    ratioMetric: "opsPerSec",
    columns: [OPS],
  };
}

function http(adapter: "node" | "fetch" | "fastify"): ScenarioDef {
  const face = { node: "node:http middleware", fetch: "fetch handler", fastify: "Fastify plugin" }[adapter];
  return {
    id: `http-${adapter}`,
    title: `HTTP: ${face}`,
    method:
      "autocannon (32 connections) against a server in its own process: `limit` answers a precomputed constant " +
      "through the same adapter; `cached` is `createHttpCache` over a MemoryTier with a 20 ms origin (every " +
      "measured request a hit); `uncached` is the 20 ms origin alone. autocannon reports latency in whole " +
      "milliseconds. `cached ÷ limit, paired windows` (the figure the target is checked on): the `cached` " +
      "measurement also starts a `limit` server and, after warming both up with 10,000 requests (a count, not " +
      "a time, so a slow machine does not measure a cold JIT), alternates 0.6 s windows between the two " +
      "(five pairs, in A-B then B-A order), taking the median of the pairs' ratios, so load that changes " +
      "between two processes' runs cancels out; " +
      "`by server CPU/req` is the same pairing on the servers' own CPU time per request " +
      "(`process.cpuUsage()`), which does not depend on how the client and the server share the two cores.",
    target: "cached ≥ 90% of the constant-response limit",
    libs: ["limit", "cached", "uncached"],
    baseline: "limit",
    ratioMetric: "opsPerSec",
    columns: [
      { metric: "opsPerSec", label: "median req/s", format: "ops" },
      { metric: "pairedRatio", label: "cached ÷ limit, paired windows", format: "ratio" },
      { metric: "pairedCpuRatio", label: "same, by server CPU/req", format: "ratio" },
      { metric: "serverUsPerReq", label: "server CPU µs/req", format: "ms" },
      { metric: "p50", label: "p50 ms", format: "count" },
      { metric: "p99", label: "p99 ms", format: "count" },
    ],
    maxReps: 3,
  };
}

/** Every scenario, in the order they run and are reported. */
export const SCENARIOS: readonly ScenarioDef[] = [
  l1Hit("get", "seq"),
  l1Hit("get", "256"),
  l1Hit("goi", "seq"),
  l1Hit("goi", "256"),
  {
    id: "memory",
    title: "Bytes per entry, 100,000 entries",
    method:
      "Keys and values are built first and kept alive in arrays; heapUsed is read after two `gc()` before the " +
      "cache is constructed and after all 100,000 inserts, so the delta is the cache's own overhead (its " +
      "structures, plus any serialized copy it keeps), divided by 100,000. `node --expose-gc`.",
    target: "cachet ≤ 100 bytes of overhead per entry (reference: lru-cache with ttl)",
    libs: ["lru-cache-ttl", "lru-cache", "map", "cachet", ...L1_PEERS],
    baseline: "lru-cache-ttl",
    ratioMetric: "bytesPerEntry",
    columns: [{ metric: "bytesPerEntry", label: "median bytes/entry", format: "bytes" }],
    maxReps: 3,
  },
  {
    id: "stampede-l1",
    title: "Cold stampede, L1 only: 1,000 concurrent `getOrInsert` on one key, 50 ms loader",
    method:
      "All 1,000 calls are issued in one synchronous loop; completion time is measured from the start of the " +
      "loop for each caller. One warm-up stampede on another key first. `lru-cache-fetch` is lru-cache's " +
      "`fetch()` with a `fetchMethod`.",
    target: "loader once; every caller done within 52 ms (p99)",
    libs: ["lru-cache-fetch", "cachet", "bentocache", "cacheable", "cache-manager"],
    columns: [
      { metric: "loaderCalls", label: "loader calls", format: "count" },
      { metric: "p50", label: "p50 ms", format: "ms" },
      { metric: "p99", label: "p99 ms", format: "ms" },
      { metric: "max", label: "max ms", format: "ms" },
    ],
    maxReps: 3,
  },
  {
    id: "stampede-l2",
    title: "Cold stampede, L1 + Redis L2: 1,000 concurrent `getOrInsert` on one key, 50 ms loader",
    method:
      "As above, with a Redis L2 (a `redis-server` of the measurement's own on a free port). L2 reads/commands " +
      "are counted from Redis `INFO commandstats` (GET/MGET/GETEX/HGET/HGETALL/HMGET/EXISTS, and all commands) " +
      "around the measured stampede.",
    target: "loader once, L2 read once, p99 ≤ 52 ms",
    libs: ["cachet", "bentocache", "cacheable", "cache-manager"],
    columns: [
      { metric: "loaderCalls", label: "loader calls", format: "count" },
      { metric: "l2Reads", label: "L2 reads", format: "count" },
      { metric: "l2Commands", label: "L2 commands", format: "count" },
      { metric: "p50", label: "p50 ms", format: "ms" },
      { metric: "p99", label: "p99 ms", format: "ms" },
    ],
    redis: true,
    maxReps: 3,
  },
  {
    id: "mixed",
    title: "Mixed 90/10 read/write, 100,000 keys, 10,000-entry L1",
    method:
      "Zipf(1.0) over 100,000 keys, precomputed; 10% of operations (chosen by a seeded PRNG) are writes, the " +
      "rest `get`s (a miss is just a miss); one sequential loop, every call awaited. The cache is pre-filled " +
      "with 20,000 writes from the far end of the sequence, which the measured part does not reach.",
    libs: ["lru-cache", "lru-cache-ttl", "cachet", ...L1_PEERS],
    baseline: "lru-cache",
    ratioMetric: "opsPerSec",
    columns: [OPS, { metric: "hitRatio", label: "read hit ratio", format: "percent" }],
    maxReps: 3,
  },
  {
    id: "l2-only",
    title: "L2 hit, no L1 (Redis alone), 256 in flight",
    method:
      "5,000 keys written through each library, then reads of uniformly random keys, 256 concurrent loops, " +
      "with Redis as the only tier. Floors: `ioredis-json` is ioredis `GET` then `JSON.parse`; " +
      "`ioredis-msgpack` is `getBuffer` then msgpackr with `structuredCodec`'s options (the decode " +
      "cachet's default Redis codec does); both with auto-pipelining on, as cachet's own client. " +
      "`cachet` uses the default codec (`structuredCodec`), `cachet-json` the `jsonCodec`. Each library on " +
      "its own fresh `redis-server`.",
    target: "cachet ≥ 0.95x its floor (the same GET and decode)",
    libs: ["ioredis-json", "ioredis-msgpack", "cachet", "cachet-json", "cache-manager"],
    baseline: "ioredis-json",
    ratioMetric: "opsPerSec",
    floors: { cachet: "ioredis-msgpack", "cachet-json": "ioredis-json", "cache-manager": "ioredis-json" },
    columns: [
      OPS,
      { metric: "p50", label: "p50 ms", format: "ms" },
      { metric: "p99", label: "p99 ms", format: "ms" },
    ],
    redis: true,
    maxReps: 3,
  },
  {
    id: "l2-hit",
    title: "L1 miss, L2 hit, back-fill L1, 256 in flight",
    method:
      "5,000 keys written through each library, then reads of uniformly random keys with a 50-entry L1 " +
      "(about 99% L1 misses, each L2 hit back-filled into L1 as the library does by default), 256 concurrent " +
      "loops. Floors: `hand-rolled-*` is a thirty-line lru-cache + ioredis two-tier cache " +
      "(`src/baselines/hand-rolled-tiered.ts`) decoding JSON or msgpackr like the tier; `ioredis-*` as in " +
      "the L2-only scenario. Peers store JSON, so their floor is `hand-rolled-json`. Each library on its own " +
      "fresh `redis-server`.",
    target: "cachet ≥ 0.9x its floor (hand-rolled lru-cache + ioredis, same codec)",
    libs: [
      "ioredis-json",
      "ioredis-msgpack",
      "hand-rolled-json",
      "hand-rolled-msgpack",
      "cachet",
      "cachet-json",
      "bentocache",
      "cacheable",
      "cache-manager",
    ],
    baseline: "ioredis-json",
    ratioMetric: "opsPerSec",
    floors: {
      cachet: "hand-rolled-msgpack",
      "cachet-json": "hand-rolled-json",
      "hand-rolled-json": "ioredis-json",
      "hand-rolled-msgpack": "ioredis-msgpack",
      bentocache: "hand-rolled-json",
      cacheable: "hand-rolled-json",
      "cache-manager": "hand-rolled-json",
    },
    columns: [
      OPS,
      { metric: "p50", label: "p50 ms", format: "ms" },
      { metric: "p99", label: "p99 ms", format: "ms" },
    ],
    redis: true,
    maxReps: 3,
  },
  {
    id: "conditional-write",
    title: "Conditional writes in Redis: versioned vs plain writes and reads, 256 in flight",
    method:
      "5,000 keys on one `RedisTier` (no L1) with or without `conditionalWrites`, uniformly random keys, 256 " +
      "concurrent loops. `set`/`versioned`: `insert` (SET vs the one-key write script); `*-hit`: `get` (GET " +
      "either way); `get-versioned`: the read script; `insert-if-version`: read script then conditional write " +
      "(two round trips). Each on its own fresh `redis-server`. `server µs/op`: Redis's own CPU time per " +
      "operation from `INFO commandstats`, which the machine's load does not swing like the client-side rate.",
    target: "versioned ≥ 0.9x set (L2 writes at most 10% slower); versioned-hit ≈ set-hit",
    libs: ["set", "versioned", "set-hit", "versioned-hit", "get-versioned", "insert-if-version"],
    baseline: "set",
    ratioMetric: "opsPerSec",
    columns: [
      OPS,
      { metric: "p50", label: "p50 ms", format: "ms" },
      { metric: "p99", label: "p99 ms", format: "ms" },
      { metric: "serverUs", label: "server µs/op", format: "ms" },
    ],
    redis: true,
    maxReps: 3,
  },
  ...CONSISTENCY_SCENARIOS,
  {
    id: "tracking-latency",
    title: "L1 invalidation latency: Redis CLIENT TRACKING vs the pub/sub bus vs the streams bus",
    method:
      "A writer cache inserts one of 100 keys at a time (sequential); the reader cache hears of it by " +
      "`tracking` (its `external_change` event) or by a `RedisBus` (`bus_received`). Latency from the " +
      "writer's `insert` call (its L2 write included) to the reader's event, on loopback, each on its own " +
      "fresh `redis-server`; 2,000 writes measured after 4,000 unmeasured ones (the JIT warm-up a running service is past). Floor: `raw-tracking`, a bare ioredis `SET` heard by a bare ioredis " +
      "connection with `CLIENT TRACKING … BCAST` (no cache, no tier), the same loop.",
    target: "tracking p99 < 2 ms",
    libs: ["raw-tracking", "tracking", "pubsub", "streams"],
    baseline: "pubsub",
    floors: { tracking: "raw-tracking" },
    ratioMetric: "p99",
    columns: [
      { metric: "p50", label: "p50 ms", format: "ms" },
      { metric: "p99", label: "p99 ms", format: "ms" },
    ],
    redis: true,
    maxReps: 3,
  },
  {
    id: "tracking-stale",
    title: "Stale L1 reads per 10k with 10% of writes made outside cachet, with and without tracking",
    method:
      "1,000 keys; 16 loops; each operation is, with probability 0.1, a write of a new version by a bare " +
      "`RedisTier` (no cache, no bus), else a read through an L1+L2 cache without a bus. A read is stale when " +
      "it returns a version older than one whose write completed before the read began; `after bound` counts " +
      "only versions replaced 10 ms or more before the read.",
    target: "with tracking: 0 stale reads after the bound",
    libs: ["tracking", "no-tracking"],
    columns: [
      { metric: "stalePer10k", label: "stale / 10k", format: "count" },
      { metric: "staleAfterBoundPer10k", label: "stale after bound / 10k", format: "count" },
    ],
    redis: true,
    maxReps: 3,
  },
  {
    id: "tracking-hit",
    title: "L1 hit path with and without a tracked tier below",
    method: "`get` of 1,000 keys held in L1, sequential, with the L2 `RedisTier` tracked or not.",
    target: "no cost on the L1 hit path",
    libs: ["hit-plain", "hit-tracking"],
    baseline: "hit-plain",
    ratioMetric: "opsPerSec",
    columns: [OPS],
    redis: true,
    maxReps: 3,
  },
  {
    id: "tracking-cost",
    title: "What broadcast tracking costs Redis: 100k writes under a tracked prefix",
    method:
      "100,000 SETs of 64-byte values under the tier's prefix (pipelines of 1,000), with one tracking " +
      "connection on the prefix (`tracking-cost`) or none (`untracked-cost`): Redis CPU (`used_cpu_user` + " +
      "`used_cpu_sys`) and `used_memory` growth over the writes.",
    libs: ["untracked-cost", "tracking-cost"],
    baseline: "untracked-cost",
    ratioMetric: "cpuMs",
    columns: [
      { metric: "cpuMs", label: "Redis CPU ms", format: "ms" },
      { metric: "memoryBytes", label: "memory growth", format: "bytes" },
    ],
    redis: true,
    maxReps: 3,
  },
  {
    id: "resilience",
    title: "Resilience: loader failing 50%, Redis killed halfway",
    method:
      "200 keys, L1 + Redis L2, ttl 200 ms, loader 5 ms failing 50% of the time (seeded); all keys loaded once " +
      "(loader healthy), then 64 concurrent loops of `getOrInsert` on uniformly random keys; Redis is SIGKILLed " +
      "halfway. cachet: `.staleWhileRevalidate('1s').failSafe({ maxStaleAge: '1m', backoff: '1s' })`; " +
      "bentocache: `grace: '1m', graceBackoff: '1s'`, L2 circuit breaker 30 s (cachet's default for L2). " +
      "`bentocache-failfast` also gives its ioredis client `enableOfflineQueue: false, maxRetriesPerRequest: 0` " +
      "(cachet's Redis client fails fast by default). `served` = a value came back; `error` = the call threw. " +
      "Latency is per call; the loops yield to the event loop every 8 calls so timers run.",
    target: "100% served when a stale value exists; p99 with Redis down ≤ 2x p99 with Redis up",
    libs: ["cachet", "bentocache", "bentocache-failfast"],
    columns: [
      { metric: "servedRate", label: "served", format: "percent" },
      { metric: "errorRate", label: "errors", format: "percent" },
      { metric: "p99Up", label: "p99 ms, Redis up", format: "ms" },
      { metric: "p99Down", label: "p99 ms, Redis down", format: "ms" },
      { metric: "opsPerSec", label: "ops/s", format: "ops" },
      { metric: "loaderCalls", label: "loader calls", format: "count" },
    ],
    redis: true,
    maxReps: 3,
  },
  listener("seq"),
  listener("256"),
  {
    id: "value-mode-l1",
    title: "Value modes on L1 hits: `get`, 256 in flight",
    method:
      "As the L1 hit scenario, cachet only: `valueMode('freeze')` (the default: values deep-frozen on insert), " +
      "`'reference'` (stored and returned as they are), `'clone'` (`structuredClone` on every hit).",
    libs: ["cachet", "cachet-reference", "cachet-clone"],
    baseline: "cachet",
    ratioMetric: "opsPerSec",
    columns: [OPS],
  },
  {
    id: "value-mode-l2",
    title: "Value modes on L2 hits (L1 miss, Redis hit, back-fill), 256 in flight",
    method:
      "As the L2 hit scenario, cachet only, in its three value modes: with `freeze` every value decoded from " +
      "Redis is deep-frozen before it is shared and promoted.",
    libs: ["cachet", "cachet-reference", "cachet-clone"],
    baseline: "cachet",
    ratioMetric: "opsPerSec",
    columns: [
      OPS,
      { metric: "p50", label: "p50 ms", format: "ms" },
      { metric: "p99", label: "p99 ms", format: "ms" },
    ],
    redis: true,
    maxReps: 3,
  },
  http("node"),
  http("fetch"),
  http("fastify"),
  ...REGISTERED.flatMap((module) => module.defs),
];

export function scenarioById(id: string): ScenarioDef | undefined {
  return SCENARIOS.find((s) => s.id === id);
}
