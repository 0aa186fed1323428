// One chaos worker process: L1 memory + L2 RedisTier + RedisBus, fail-safe, SWR, timeouts, tier
// timeout and breaker, running a seeded mixed workload for a fixed count of operations and
// answering the driver's probes. Started by the driver with `--unhandled-rejections=strict`, so an
// unhandled rejection crashes it and the driver sees a non-zero exit.
import { performance } from "node:perf_hooks";
import { Cache, isCacheError } from "@cachet/core";
import type { BusReconnectInfo, CacheBus, CacheBusMessage, CacheEvent } from "@cachet/core";
import { RedisBus, RedisTier } from "@cachet/redis";
import type {
  ChaosValue,
  DriverMessage,
  Violation,
  WorkerConfig,
  WorkerMessage,
  WorkerReport,
} from "./protocol.js";
import { mulberry32 } from "./random.js";

const config = JSON.parse(process.argv[2] ?? "{}") as WorkerConfig;
const policy = config.policy;
const random = mulberry32(config.seed);
const send = (message: WorkerMessage): void => {
  process.send?.(message);
};

/** Wall-clock time with sub-millisecond precision, comparable across processes of one machine. */
const wallNow = (): number => performance.timeOrigin + performance.now();

// Last time a bus message about each probe key arrived (applied), and the last L1-clearing event.
const lastReceived = new Map<string, number>();
let lastClearAt = 0;

/**
 * Records what the bus delivers to this cache before the cache sees it, so a probe can tell that
 * a message about its key (or a reconnect that cleared the L1) arrived after the write resolved.
 */
class WatchedBus implements CacheBus {
  readonly instanceId: string;
  readonly #inner: RedisBus;
  readonly #listeners = new Set<(what: "message" | "reconnect", keys: readonly string[]) => void>();
  received = 0;
  reconnects = 0;

  constructor(inner: RedisBus) {
    this.#inner = inner;
    this.instanceId = inner.instanceId;
  }

  publish(message: CacheBusMessage): Promise<void> {
    return this.#inner.publish(message);
  }

  subscribe(handler: (message: CacheBusMessage) => void): () => void {
    return this.#inner.subscribe((message) => {
      this.received++;
      const keys = message.type === "set" || message.type === "invalidate" ? message.keys : [];
      // The cache applies the message first; a probe read issued after the notice sees its effect.
      handler(message);
      const at = wallNow();
      for (const key of keys) if (key.startsWith("p:")) lastReceived.set(key, at);
      if (message.type === "clear") lastClearAt = at;
      if (message.type === "clear") for (const l of this.#listeners) l("reconnect", []);
      else for (const l of this.#listeners) l("message", keys);
    });
  }

  onReconnect(handler: (info: BusReconnectInfo) => void): () => void {
    return this.#inner.onReconnect((info) => {
      this.reconnects++;
      handler(info);
      if (info.mayHaveMissedMessages) lastClearAt = wallNow();
      if (info.mayHaveMissedMessages) for (const l of this.#listeners) l("reconnect", []);
    });
  }

  watch(listener: (what: "message" | "reconnect", keys: readonly string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  ready(): Promise<void> {
    return this.#inner.ready();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

const url = `redis://${config.host}:${config.port}`;
const report: WorkerReport = {
  id: config.id,
  operations: 0,
  byKind: {},
  errorsByCode: {},
  latencies: [],
  maxLatencyByKind: {},
  staleServed: 0,
  failSafeServed: 0,
  tierErrors: 0,
  busReconnects: 0,
  busReceived: 0,
  corruptEntries: 0,
  freshPastTtl: 0,
  violations: [],
  closeMs: 0,
};
const violations: Violation[] = report.violations;
const violate = (invariant: Violation["invariant"], detail: string): void => {
  if (violations.length < 200) violations.push({ invariant, detail: `worker ${config.id}: ${detail}` });
};

// Insert tier errors seen per key while a probe write is in flight: such a write did not reach L2.
const insertTierErrors = new Map<string, number>();
// The same for probe reads, and the L2 breaker's state, to explain a probe read that missed.
const readTierErrors = new Map<string, number>();
let breakerOpen = false;

const bus = new WatchedBus(
  new RedisBus({
    client: url,
    transport: config.transport,
    channel: "chaos",
    sendTimeout: policy.sendTimeout,
    retryQueue: { interval: 250 },
    stream: { blockMs: 1_000 },
    onError: () => undefined,
  }),
);

const tier = new RedisTier<string, ChaosValue>({
  client: url,
  prefix: "chaos",
  commandTimeout: policy.commandTimeout,
  // Versions and tombstones: a load never writes back over another worker's newer write.
  conditionalWrites: true,
  onEvent: (event) => {
    if (event.type === "corrupt-entry") report.corruptEntries++;
  },
});

const onEvent = (event: CacheEvent): void => {
  switch (event.type) {
    case "stale_served":
      report.staleServed++;
      break;
    case "fail_safe":
      report.failSafeServed++;
      break;
    case "breaker_open":
      breakerOpen = true;
      break;
    case "breaker_closed":
      breakerOpen = false;
      break;
    case "tier_error":
      report.tierErrors++;
      if (event.operation === "get" && typeof event.key === "string" && readTierErrors.has(event.key)) {
        readTierErrors.set(event.key, readTierErrors.get(event.key)! + 1);
      }
      if (event.operation === "insert" && typeof event.key === "string" && insertTierErrors.has(event.key)) {
        insertTierErrors.set(event.key, insertTierErrors.get(event.key)! + 1);
      }
      break;
    default:
  }
};

const cache = Cache.builder<string, ChaosValue>()
  .name("chaos")
  .memory({ maxEntries: policy.l1MaxEntries })
  .ttl(policy.ttl)
  .fallback(
    Cache.builder<string, ChaosValue>()
      .storage(tier)
      .ttl(policy.ttl)
      .tierTimeout(policy.tierTimeout)
      .circuitBreaker({ failureThreshold: policy.breakerThreshold, cooldown: policy.breakerCooldown }),
  )
  .bus(bus)
  .failSafe({ maxStaleAge: policy.maxStaleAge, backoff: policy.failSafeBackoff })
  .staleWhileRevalidate(policy.staleWhileRevalidate)
  .timeouts({ soft: policy.softTimeout, hard: policy.hardTimeout })
  .eventKeys(true)
  .onEvent(onEvent)
  .build();

// Loader faults: a base rate, raised during a driver's "loader storm".
let failRate = 0.05;
let slowRate = 0.05;
let stormUntil = 0;
let writeSeq = 0;
let loadSeq = 0;

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(new Error("loader aborted"));
      },
      { once: true },
    );
  });

const loader = async (_key: string, ctx: { signal: AbortSignal }): Promise<ChaosValue> => {
  const storm = Date.now() < stormUntil;
  const roll = random();
  const fail = storm ? failRate : 0.05;
  const slow = storm ? slowRate : 0.05;
  if (roll < fail) {
    await sleep(random() * 20);
    throw new Error("injected loader failure");
  }
  if (roll < fail + slow) {
    // Slow: past the soft timeout, sometimes past the hard one. Half of them ignore the signal
    // (a hung dependency), the other half stop when it aborts.
    const ms = policy.softTimeout + random() * policy.hardTimeout * 1.5;
    if (random() < 0.5) await sleep(ms);
    else await sleep(ms, ctx.signal);
  } else {
    await sleep(random() * 5);
  }
  return { w: `l${config.id}`, seq: ++loadSeq, at: Date.now(), ttl: policy.ttl };
};

const keyOf = (i: number): string => `k:${i}`;
const tagOf = (i: number): string => `t:${i % config.tags}`;

// Bounds each kind of call must finish within (the configured timeouts), before the margin.
const bounds: Record<string, number> = {
  getOrInsert: policy.hardTimeout + 2 * policy.tierTimeout,
  get: 2 * policy.tierTimeout,
  insert: policy.tierTimeout + policy.sendTimeout,
  invalidate: policy.tierTimeout + policy.sendTimeout,
  invalidateTags: policy.tierTimeout + policy.sendTimeout,
  probeRead: 2 * policy.tierTimeout,
};

const checkValue = (kind: string, value: ChaosValue | undefined, stale: boolean): void => {
  if (value === undefined) return;
  const age = Date.now() - value.at;
  // No value may be served later than ttl + maxStaleAge after it was made (fail-safe age), and a
  // value served as fresh must be within its ttl (+ margin for the write's own latency).
  const limit = value.ttl + policy.maxStaleAge + config.marginMs;
  if (age > limit)
    violate("stale-age", `${kind} served ${JSON.stringify(value)} aged ${age} ms > ${limit} ms`);
  // Fail-safe keeps a stale entry as fresh for its backoff (and writes it so to every tier), so a
  // value served without the stale flag may also be past its ttl, but never past the same limit.
  if (!stale && age > value.ttl + config.marginMs) report.freshPastTtl++;
};

const record = (kind: string, ms: number): void => {
  report.operations++;
  report.byKind[kind] = (report.byKind[kind] ?? 0) + 1;
  report.latencies.push(Math.round(ms * 100) / 100);
  if (ms > (report.maxLatencyByKind[kind] ?? 0)) report.maxLatencyByKind[kind] = Math.round(ms);
  const bound = bounds[kind]! + config.marginMs;
  if (ms > bound) violate("timeout", `${kind} took ${Math.round(ms)} ms > bound ${bound} ms`);
};

const countError = (kind: string, error: unknown): void => {
  const code = isCacheError(error) ? error.code : "NOT_A_CACHE_ERROR";
  report.errorsByCode[code] = (report.errorsByCode[code] ?? 0) + 1;
  const expected = ["LOADER", "TIMEOUT"];
  if (!expected.includes(code)) {
    violate(
      "unexpected-error",
      `${kind} rejected with ${code}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
};

async function oneOperation(): Promise<void> {
  const roll = random();
  const i = Math.floor(random() * config.keys);
  const key = keyOf(i);
  const started = performance.now();
  let kind: string;
  try {
    if (roll < 0.55) {
      kind = "getOrInsert";
      const value = await cache.getOrInsert(key, loader);
      checkValue(kind, value, true);
    } else if (roll < 0.65) {
      kind = "get";
      const entry = await cache.get(key);
      checkValue(kind, entry?.value, entry?.isStale ?? false);
    } else if (roll < 0.85) {
      kind = "insert";
      const value: ChaosValue = { w: `w${config.id}`, seq: ++writeSeq, at: Date.now(), ttl: policy.ttl };
      await cache.insert(key, value, { tags: [tagOf(i)] });
    } else if (roll < 0.95) {
      kind = "invalidate";
      await cache.invalidate(key);
    } else {
      kind = "invalidateTags";
      await cache.invalidateTags([tagOf(i)]);
    }
  } catch (error) {
    kind = roll < 0.55 ? "getOrInsert" : roll < 0.65 ? "get" : "write";
    countError(kind, error);
    kind =
      roll < 0.55
        ? "getOrInsert"
        : roll < 0.65
          ? "get"
          : roll < 0.85
            ? "insert"
            : roll < 0.95
              ? "invalidate"
              : "invalidateTags";
  }
  record(kind, performance.now() - started);
}

async function loop(count: number): Promise<void> {
  for (let n = 0; n < count; n++) {
    await oneOperation();
    await sleep(random() * 2 * config.pauseMs);
  }
}

// Probes: driver-coordinated read-after-write checks on keys the workload never touches.
const armed = new Map<number, () => void>();

async function probeWrite(probe: number, key: string): Promise<void> {
  const startedAt = wallNow();
  const value: ChaosValue = { w: `w${config.id}`, seq: ++writeSeq, at: Date.now(), ttl: policy.ttl };
  insertTierErrors.set(key, 0);
  try {
    await cache.insert(key, value);
    const errors = insertTierErrors.get(key) ?? 0;
    // A write that failed on L2 (reported as a tier error) or skipped it (open breaker, reported
    // only as `breaker_open` when it opened) still resolves, but it is not a completed write:
    // nothing shared holds it. So a write counts only when a direct read of L2 then finds it.
    let inL2 = false;
    if (errors === 0) {
      try {
        const direct = await tier.get(key);
        inL2 = direct?.value.w === value.w && direct.value.seq === value.seq;
      } catch {
        inL2 = false;
      }
    }
    if (!inL2) send({ type: "probe-written", probe, value: undefined, startedAt, reason: "not-in-l2" });
    else send({ type: "probe-written", probe, value, startedAt });
  } catch (error) {
    send({
      type: "probe-written",
      probe,
      value: undefined,
      startedAt,
      reason: isCacheError(error) ? error.code : "error",
    });
  } finally {
    insertTierErrors.delete(key);
  }
}

function probeArm(probe: number, key: string, since: number): void {
  const delivered = (): "message" | "reconnect" | undefined =>
    (lastReceived.get(key) ?? 0) > since ? "message" : lastClearAt > since ? "reconnect" : undefined;
  const already = delivered();
  if (already !== undefined) {
    send({ type: "probe-delivered", probe, how: already });
    return;
  }
  let done = false;
  const finish = (how: "message" | "reconnect" | "none"): void => {
    if (done) return;
    done = true;
    stop();
    clearTimeout(timer);
    armed.delete(probe);
    send({ type: "probe-delivered", probe, how });
  };
  const stop = bus.watch(() => {
    const how = delivered();
    if (how !== undefined) finish(how);
  });
  const timer = setTimeout(() => finish("none"), 4_000);
  armed.set(probe, () => finish("none"));
}

async function probeRead(probe: number, key: string): Promise<void> {
  const started = performance.now();
  const readAt = Date.now();
  const breakerWasOpen = breakerOpen;
  readTierErrors.set(key, 0);
  try {
    const entry = await cache.get(key);
    const why =
      breakerWasOpen || breakerOpen
        ? "breaker-open"
        : readTierErrors.get(key)! > 0
          ? "l2-read-failed"
          : "no-l2-error";
    readTierErrors.delete(key);
    const latencyMs = performance.now() - started;
    if (latencyMs > bounds["probeRead"]! + config.marginMs) {
      violate("timeout", `probe get took ${Math.round(latencyMs)} ms`);
    }
    const outcome = entry === undefined ? "miss" : entry.isStale ? "stale" : "fresh";
    // Diagnostics for a miss: what L2 holds now, read from the tier directly.
    let l2: string | undefined;
    if (outcome === "miss") {
      try {
        const direct = await tier.get(key);
        l2 = `${direct === undefined ? "l2-miss" : "l2-hit"}/${why}`;
      } catch (error) {
        l2 = `l2-${isCacheError(error) ? error.code : "error"}`;
      }
    }
    send({
      type: "probe-result",
      probe,
      outcome,
      value: entry?.value,
      latencyMs,
      readAt,
      ...(l2 ? { l2 } : {}),
    });
  } catch (error) {
    send({
      type: "probe-result",
      probe,
      outcome: "error",
      value: undefined,
      latencyMs: performance.now() - started,
      readAt,
      error: isCacheError(error) ? error.code : String(error),
    });
  }
}

// Fleet probes (lost updates, resurrections): driver-ordered writes and reads on their own keys.
async function fleetWrite(probe: number, key: string, value: ChaosValue | undefined): Promise<void> {
  try {
    if (value === undefined) await cache.invalidate(key);
    else await cache.insert(key, value, { ttl: value.ttl });
    send({ type: "fleet-written", probe, ok: true });
  } catch {
    send({ type: "fleet-written", probe, ok: false });
  }
}

async function fleetRead(probe: number, key: string): Promise<void> {
  try {
    const entry = await cache.get(key);
    send({ type: "fleet-value", probe, value: entry?.value, ok: true });
  } catch {
    send({ type: "fleet-value", probe, value: undefined, ok: false });
  }
}

const gates = new Map<number, () => void>();

function gatedLoad(probe: number, key: string, value: ChaosValue): void {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  gates.set(probe, release);
  let running = false;
  // Its own hard timeout: the driver holds the loader while another worker invalidates.
  const answer = cache.getOrInsert(
    key,
    async () => {
      running = true;
      send({ type: "gated-running", probe, ok: true });
      await released;
      return value;
    },
    { timeouts: { hard: 10_000 } },
  );
  answer.then(
    (got) => {
      if (!running) send({ type: "gated-running", probe, ok: false });
      send({ type: "gated-done", probe, value: got });
    },
    () => {
      if (!running) send({ type: "gated-running", probe, ok: false });
      send({ type: "gated-done", probe, value: undefined });
    },
  );
}

let finishing = false;

process.on("message", (raw) => {
  const message = raw as DriverMessage;
  switch (message.type) {
    case "loader-storm":
      failRate = message.failRate;
      slowRate = message.slowRate;
      stormUntil = Date.now() + message.durationMs;
      break;
    case "probe-write":
      void probeWrite(message.probe, message.key);
      break;
    case "probe-arm":
      probeArm(message.probe, message.key, message.since);
      break;
    case "probe-read":
      void probeRead(message.probe, message.key);
      break;
    case "fleet-write":
      void fleetWrite(message.probe, message.key, message.value);
      break;
    case "fleet-read":
      void fleetRead(message.probe, message.key);
      break;
    case "gated-load":
      gatedLoad(message.probe, message.key, message.value);
      break;
    case "gated-release":
      gates.get(message.probe)?.();
      gates.delete(message.probe);
      break;
    case "finish":
      finishing = true;
      for (const release of gates.values()) release();
      break;
    case "start":
      break;
  }
});

async function main(): Promise<void> {
  await bus.ready();
  send({ type: "ready" });
  const per = Math.ceil(config.operations / config.concurrency);
  await Promise.all(Array.from({ length: config.concurrency }, () => loop(per)));
  send({ type: "ops-done" });
  // Stay up for probes until the driver says it is done.
  while (!finishing) await sleep(50);
  for (const cancel of [...armed.values()]) cancel();
  report.busReceived = bus.received;
  report.busReconnects = bus.reconnects;
  const closeStarted = performance.now();
  await cache.close();
  await bus.close();
  report.closeMs = Math.round(performance.now() - closeStarted);
  send({ type: "report", report });
  process.disconnect();
}

void main();
