import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { startRedis, startTcpProxy } from "@cachet/test-utils";
import type { RedisHandle, TcpProxy } from "@cachet/test-utils";
import type {
  ChaosPolicy,
  ChaosValue,
  DriverMessage,
  Violation,
  WorkerConfig,
  WorkerMessage,
  WorkerReport,
} from "./protocol.js";
import { mulberry32 } from "./random.js";
import { Exclusive, runFleetProbes } from "./fleet-probes.js";
import type { FleetProbeCounts, ProbeTarget } from "./fleet-probes.js";

/** Settings of one chaos run (one transport). */
export interface ChaosRunOptions {
  transport: "pubsub" | "stream";
  workers: number;
  operationsPerWorker: number;
  concurrency: number;
  pauseMs: number;
  seed: number;
  marginMs: number;
  maxmemory: string;
}

/** The cache policy of every worker. Small numbers so that faults and timeouts overlap often. */
export const CHAOS_POLICY: ChaosPolicy = {
  ttl: 2_000,
  staleWhileRevalidate: 1_000,
  maxStaleAge: 5_000,
  failSafeBackoff: 500,
  softTimeout: 100,
  hardTimeout: 600,
  tierTimeout: 200,
  commandTimeout: 250,
  sendTimeout: 300,
  breakerThreshold: 5,
  breakerCooldown: 1_000,
  l1MaxEntries: 100,
};

/** Outcome counts of the read-after-write probes. */
export interface ProbeCounts {
  attempted: number;
  writeIncomplete: number;
  undelivered: number;
  fresh: number;
  stale: number;
  miss: number;
  error: number;
  /** Misses broken down by what a direct L2 read found right after. */
  missL2: Record<string, number>;
}

/** Everything one run measured. */
export interface ChaosRunResult {
  options: ChaosRunOptions;
  durationMs: number;
  reports: WorkerReport[];
  faults: Record<string, number>;
  probes: ProbeCounts;
  /** Lost updates and resurrections (both must be 0), see `fleet-probes.ts`. */
  fleet: FleetProbeCounts;
  violations: Violation[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface WorkerHandle {
  id: number;
  child: ChildProcess;
  stderr: string;
  ready: Promise<void>;
  opsDone: Promise<void>;
  exited: Promise<number | null>;
  report: WorkerReport | undefined;
  isOpsDone: boolean;
  waiters: Map<string, (message: WorkerMessage) => void>;
}

function startWorker(config: WorkerConfig): WorkerHandle {
  const workerPath = fileURLToPath(new URL("./worker.ts", import.meta.url));
  const child = fork(workerPath, [JSON.stringify(config)], {
    execArgv: ["--unhandled-rejections=strict", "--import", "tsx"],
    stdio: ["ignore", "inherit", "pipe", "ipc"],
  });
  let markReady!: () => void;
  let markOpsDone!: () => void;
  const handle: WorkerHandle = {
    id: config.id,
    child,
    stderr: "",
    ready: new Promise((resolve) => (markReady = resolve)),
    opsDone: new Promise((resolve) => (markOpsDone = resolve)),
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
    report: undefined,
    isOpsDone: false,
    waiters: new Map(),
  };
  child.stderr?.on("data", (chunk: Buffer) => {
    if (handle.stderr.length < 20_000) handle.stderr += chunk.toString();
  });
  child.on("message", (raw) => {
    const message = raw as WorkerMessage;
    switch (message.type) {
      case "ready":
        markReady();
        break;
      case "ops-done":
        handle.isOpsDone = true;
        markOpsDone();
        break;
      case "report":
        handle.report = message.report;
        break;
      default: {
        const waiter = handle.waiters.get(`${message.type}:${message.probe}`);
        handle.waiters.delete(`${message.type}:${message.probe}`);
        waiter?.(message);
      }
    }
  });
  // A worker that dies early must not leave the driver waiting forever.
  void handle.exited.then(() => {
    markReady();
    markOpsDone();
    for (const waiter of handle.waiters.values()) waiter({ type: "ops-done" });
  });
  return handle;
}

function ask<T extends WorkerMessage>(
  worker: WorkerHandle,
  message: DriverMessage & { probe: number },
  reply: T["type"],
  timeoutMs: number,
): Promise<T | undefined> {
  return new Promise((resolve) => {
    const key = `${reply}:${message.probe}`;
    const timer = setTimeout(() => {
      worker.waiters.delete(key);
      resolve(undefined);
    }, timeoutMs);
    worker.waiters.set(key, (answer) => {
      clearTimeout(timer);
      resolve(answer.type === reply ? (answer as T) : undefined);
    });
    if (worker.child.connected) worker.child.send(message);
  });
}

/** Faults, each applied, held and undone by the driver. */
type FaultKind =
  | "redis-kill-restart"
  | "redis-pause"
  | "client-kill"
  | "proxy-cut"
  | "proxy-latency"
  | "proxy-stall"
  | "fill-maxmemory"
  | "loader-storm"
  | "partition-one";

const FAULTS: readonly FaultKind[] = [
  "proxy-latency",
  "client-kill",
  "redis-pause",
  "loader-storm",
  "proxy-cut",
  "fill-maxmemory",
  "partition-one",
  "redis-kill-restart",
  "proxy-stall",
  "partition-one",
];

async function fillToMaxmemory(admin: Redis, random: () => number): Promise<void> {
  const junk = Buffer.alloc(64 * 1024, 0x6a);
  for (let round = 0; round < 60; round++) {
    const pipeline = admin.pipeline();
    for (let i = 0; i < 16; i++) pipeline.set(`junk:${Math.floor(random() * 1e9)}`, junk);
    await pipeline.exec();
    const info = await admin.info("memory");
    const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
    const max = Number(/maxmemory:(\d+)/.exec(info)?.[1] ?? 0);
    if (max > 0 && used >= max * 0.98 && round > 4) break;
  }
}

async function injectFault(
  kind: FaultKind,
  redis: RedisHandle,
  proxies: readonly TcpProxy[],
  admin: Redis,
  workers: WorkerHandle[],
  random: () => number,
): Promise<void> {
  const hold = (min: number, max: number): Promise<void> => sleep(min + random() * (max - min));
  const all = (act: (proxy: TcpProxy) => void): void => proxies.forEach(act);
  switch (kind) {
    case "partition-one": {
      // One worker cut off from Redis (its data, bus and all) while the others go on.
      const proxy = proxies[Math.floor(random() * proxies.length)]!;
      proxy.partition();
      await hold(500, 1_500);
      proxy.heal();
      break;
    }
    case "redis-kill-restart":
      await redis.kill();
      await hold(500, 1_500);
      await redis.restart();
      break;
    case "redis-pause":
      redis.pause();
      await hold(300, 1_200);
      redis.resume();
      break;
    case "client-kill":
      // Every client but the driver's own connection (SKIPME yes is the default): the workers'
      // command connections and their bus subscribers / stream readers.
      await admin.call("CLIENT", "KILL", "TYPE", "normal");
      await admin.call("CLIENT", "KILL", "TYPE", "pubsub");
      break;
    case "proxy-cut":
      all((proxy) => proxy.cutAll());
      break;
    case "proxy-latency": {
      const ms = Math.round(20 + random() * 180);
      all((proxy) => proxy.setLatency(ms));
      await hold(800, 1_500);
      all((proxy) => proxy.setLatency(0));
      break;
    }
    case "proxy-stall":
      all((proxy) => proxy.pause());
      await hold(300, 1_000);
      all((proxy) => proxy.resume());
      break;
    case "fill-maxmemory":
      await fillToMaxmemory(admin, random);
      break;
    case "loader-storm": {
      const message: DriverMessage = {
        type: "loader-storm",
        failRate: 0.6,
        slowRate: 0.3,
        durationMs: 1_500,
      };
      for (const w of workers) if (w.child.connected) w.child.send(message);
      await sleep(1_500);
      break;
    }
  }
}

/** Runs the chaos workload for one transport and returns what it measured (no printing). */
export async function runChaos(options: ChaosRunOptions): Promise<ChaosRunResult> {
  const started = Date.now();
  const random = mulberry32(options.seed);
  const violations: Violation[] = [];
  const faults: Record<string, number> = {};
  const probes: ProbeCounts = {
    attempted: 0,
    writeIncomplete: 0,
    undelivered: 0,
    fresh: 0,
    stale: 0,
    miss: 0,
    error: 0,
    missL2: {},
  };
  const fleet: FleetProbeCounts = {
    lostUpdateProbes: 0,
    resurrectionProbes: 0,
    uncheckable: 0,
    lostUpdates: 0,
    resurrections: 0,
    convergeMs: [],
  };
  const exclusive = new Exclusive();

  const redis = await startRedis({
    own: true,
    args: ["--maxmemory", options.maxmemory, "--maxmemory-policy", "allkeys-lru"],
  });
  // One proxy per worker, so that one worker can be partitioned alone.
  const proxies = await Promise.all(
    Array.from({ length: options.workers }, () =>
      startTcpProxy({ target: { host: redis.host, port: redis.port } }),
    ),
  );
  // The driver's own connection goes straight to Redis (never through the proxy) and fails fast.
  const admin = new Redis({
    host: redis.host,
    port: redis.port,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 100,
  });
  admin.on("error", () => undefined);

  const workers: WorkerHandle[] = [];
  try {
    for (let id = 0; id < options.workers; id++) {
      workers.push(
        startWorker({
          id,
          host: proxies[id]!.host,
          port: proxies[id]!.port,
          transport: options.transport,
          operations: options.operationsPerWorker,
          concurrency: options.concurrency,
          pauseMs: options.pauseMs,
          keys: 200,
          tags: 10,
          seed: options.seed * 1_000 + id,
          policy: CHAOS_POLICY,
          marginMs: options.marginMs,
        }),
      );
    }
    await Promise.all(workers.map((w) => w.ready));
    const allOpsDone = Promise.all(workers.map((w) => w.opsDone));
    let running = true;
    void allOpsDone.then(() => (running = false));

    const faultLoop = async (): Promise<void> => {
      let n = 0;
      await sleep(500);
      while (running) {
        const kind = FAULTS[n++ % FAULTS.length]!;
        try {
          // A restart without persistence and an eviction lose data by design: never inside a
          // fleet probe's window (see fleet-probes.ts).
          const apply = () => injectFault(kind, redis, proxies, admin, workers, random);
          await (kind === "redis-kill-restart" || kind === "fill-maxmemory" ? exclusive.run(apply) : apply());
          faults[kind] = (faults[kind] ?? 0) + 1;
        } catch (error) {
          // A fault that could not be applied (e.g. CLIENT KILL while Redis restarts) is not counted.
          faults[`${kind} (failed to apply)`] = (faults[`${kind} (failed to apply)`] ?? 0) + 1;
          void error;
        }
        await sleep(300 + random() * 900);
      }
    };

    let probeId = 0;
    const probeLoop = async (chain: number): Promise<void> => {
      while (running && workers.length >= 2) {
        const probe = ++probeId;
        const key = `p:${chain}:${probe % 8}`;
        const a = workers[Math.floor(random() * workers.length)]!;
        let b = workers[Math.floor(random() * workers.length)]!;
        if (b === a) b = workers[(workers.indexOf(a) + 1) % workers.length]!;
        probes.attempted++;
        const written = await ask<Extract<WorkerMessage, { type: "probe-written" }>>(
          a,
          { type: "probe-write", probe, key },
          "probe-written",
          5_000,
        );
        if (written?.value === undefined) {
          probes.writeIncomplete++;
          await sleep(100 + random() * 200);
          continue;
        }
        const delivered = await ask<Extract<WorkerMessage, { type: "probe-delivered" }>>(
          b,
          { type: "probe-arm", probe, key, since: written.startedAt },
          "probe-delivered",
          6_000,
        );
        if (delivered === undefined || delivered.how === "none") {
          probes.undelivered++;
          await sleep(100);
          continue;
        }
        const result = await ask<Extract<WorkerMessage, { type: "probe-result" }>>(
          b,
          { type: "probe-read", probe, key },
          "probe-result",
          5_000,
        );
        if (result === undefined) {
          violations.push({
            invariant: "read-after-write",
            detail: `probe ${probe}: no answer from worker ${b.id}`,
          });
          continue;
        }
        probes[result.outcome]++;
        if (result.l2 !== undefined) {
          // A read that starts after the write's ttl may rightly miss (or be stale): say so.
          const why = result.readAt - written.value.at > CHAOS_POLICY.ttl ? "expired" : result.l2;
          probes.missL2[why] = (probes.missL2[why] ?? 0) + 1;
        }
        if (result.outcome === "fresh" && !sameValue(result.value, written.value)) {
          violations.push({
            invariant: "read-after-write",
            detail: `probe ${probe} on ${key}: worker ${a.id} wrote ${JSON.stringify(written.value)}, worker ${b.id} got ${JSON.stringify(result.value)} as fresh after ${delivered.how}`,
          });
        }
        if (result.outcome === "error") {
          violations.push({
            invariant: "unexpected-error",
            detail: `probe ${probe}: get rejected with ${result.error}`,
          });
        }
        await sleep(50 + random() * 100);
      }
    };

    const targets: ProbeTarget[] = workers.map((w) => ({
      id: w.id,
      ask: (message, reply, timeoutMs) => ask(w, message, reply, timeoutMs),
    }));
    await Promise.all([
      faultLoop(),
      probeLoop(0),
      probeLoop(1),
      runFleetProbes({
        workers: targets,
        running: () => running,
        random,
        exclusive,
        nextProbe: () => ++probeId,
        marginMs: options.marginMs,
        counts: fleet,
        violations,
      }),
      allOpsDone,
    ]);
    // Leave Redis healthy while the workers close.
    for (const proxy of proxies) {
      proxy.heal();
      proxy.setLatency(0);
      proxy.resume();
    }
    for (const w of workers) if (w.child.connected) w.child.send({ type: "finish" } satisfies DriverMessage);
    const exitTimeout = sleep(30_000).then(() => "timeout" as const);
    for (const w of workers) {
      const code = await Promise.race([w.exited, exitTimeout]);
      if (code === "timeout") {
        violations.push({ invariant: "crash", detail: `worker ${w.id} did not exit within 30 s of finish` });
        w.child.kill("SIGKILL");
      } else if (code !== 0) {
        violations.push({
          invariant: "crash",
          detail: `worker ${w.id} exited with ${code}: ${w.stderr.trim().split("\n").slice(0, 12).join("\n")}`,
        });
      } else if (w.report === undefined) {
        violations.push({ invariant: "report", detail: `worker ${w.id} exited without a report` });
      }
      if (w.report) violations.push(...w.report.violations);
    }
  } finally {
    for (const w of workers)
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    admin.disconnect();
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await redis.stop();
  }
  return {
    options,
    durationMs: Date.now() - started,
    reports: workers.flatMap((w) => (w.report ? [w.report] : [])),
    faults,
    probes,
    fleet,
    violations,
  };
}

function sameValue(a: ChaosValue | undefined, b: ChaosValue | undefined): boolean {
  return a !== undefined && b !== undefined && a.w === b.w && a.seq === b.seq;
}
