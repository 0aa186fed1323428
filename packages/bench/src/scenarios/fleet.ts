// Four cachet processes on one redis-server started by the measurement: how long an invalidation
// takes to be visible in every other process's L1, and how many loader calls a miss that all four
// processes take at the same moment costs (distributed stampede protection: it must be 1).
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { FleetRequest } from "../fleet-worker.js";
import { median } from "../stats.js";
import { ownRedis } from "./redis.js";
import type { Metrics, RunSettings, ScenarioDef, ScenarioModule } from "./types.js";

const WORKER = fileURLToPath(new URL("./fleet-worker.js", import.meta.url));
const PROCESSES = 4;

const now = (): number => performance.timeOrigin + performance.now();

/** One worker process and a request/answer channel to it. */
class Worker {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 1;
  readonly started: Promise<void>;

  constructor(host: string, port: number, name: string) {
    this.#child = fork(WORKER, [host, String(port), name], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
    this.started = new Promise((resolve, reject) => {
      this.#pending.set(0, { resolve: () => resolve(), reject });
      this.#child.once("exit", (code) => {
        const error = new Error(`fleet worker ${name} exited with ${String(code)}`);
        for (const waiter of this.#pending.values()) waiter.reject(error);
        this.#pending.clear();
      });
    });
    this.#child.on("message", (raw) => {
      const { id, result, error } = raw as { id: number; result?: unknown; error?: string };
      const waiter = this.#pending.get(id);
      this.#pending.delete(id);
      if (error !== undefined) waiter?.reject(new Error(error));
      else waiter?.resolve(result);
    });
  }

  ask<T>(request: FleetRequest): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ id, request });
    });
  }

  kill(): void {
    this.#child.kill("SIGKILL");
  }
}

async function measure(_scenario: string, lib: string, settings: RunSettings): Promise<Metrics> {
  if (lib !== "cachet") throw new Error(`the fleet scenario measures cachet only, not ${lib}`);
  const redis = await ownRedis();
  const workers = Array.from({ length: PROCESSES }, (_, i) => new Worker(redis.host, redis.port, `p${i}`));
  try {
    await Promise.all(workers.map((w) => w.started));
    await Promise.all(workers.map((w) => w.ask({ op: "ready" })));
    const [writer, ...others] = workers as [Worker, ...Worker[]];

    // Invalidation visible everywhere: all four hold the key in L1; one invalidates; the latency
    // is from the call's start to the last of the other three applying the bus message.
    const visible: number[] = [];
    const rounds = settings.quick ? 10 : 50;
    for (let r = 0; r < rounds; r++) {
      const key = `inv:${r}`;
      for (const w of workers) await w.ask({ op: "prime", key });
      const arrivals = others.map((w) => w.ask<number>({ op: "watch", key, timeoutMs: 10_000 }));
      const { startedAt } = await writer.ask<{ startedAt: number }>({ op: "invalidate", key });
      const seen = await Promise.all(arrivals);
      visible.push(Math.max(...seen) - startedAt);
      const after = await Promise.all(others.map((w) => w.ask<string | null>({ op: "get", key })));
      if (after.some((value) => value !== null)) {
        throw new Error(`round ${r}: a process still returned the invalidated value: ${after.join(", ")}`);
      }
    }

    // Concurrent misses across processes: 25 callers in each process at the same instant.
    const loaderCalls: number[] = [];
    const completions: number[] = [];
    const stampedes = settings.quick ? 3 : 10;
    for (let r = 0; r < stampedes; r++) {
      const at = now() + 100;
      const results = await Promise.all(
        workers.map((w) =>
          w.ask<{ loads: number; done: number[] }>({
            op: "stampede",
            key: `miss:${r}`,
            at,
            callers: 25,
            loaderMs: 50,
          }),
        ),
      );
      loaderCalls.push(results.reduce((sum, x) => sum + x.loads, 0));
      for (const x of results) completions.push(...x.done);
    }
    visible.sort((a, b) => a - b);
    completions.sort((a, b) => a - b);
    await Promise.all(workers.map((w) => w.ask({ op: "close" })));
    return {
      visibleP50: median(visible),
      visibleMax: visible[visible.length - 1]!,
      loaderCallsMax: Math.max(...loaderCalls),
      loaderCallsMin: Math.min(...loaderCalls),
      stampedeP50: median(completions),
      stampedeMax: completions[completions.length - 1]!,
    };
  } finally {
    for (const w of workers) w.kill();
    await redis.stop();
  }
}

const defs: ScenarioDef[] = [
  {
    id: "fleet",
    title: "Four processes on one Redis: invalidation visibility and cross-process stampede",
    method:
      "Four cachet processes (L1 + `RedisTier`, `RedisBus` over pub/sub, `distributedStampedeProtection` " +
      "with a `RedisLock`, poll interval 5 ms) on one `redis-server` started by the measurement. " +
      "Invalidation: all four hold a key in L1, one calls `invalidate`; latency from the call's start to " +
      "the last of the other three applying the bus message (epoch times with sub-ms precision, one " +
      "machine), then every process must read the key as absent; 50 rounds. Stampede: 25 concurrent " +
      "`getOrInsert` calls in each process at the same instant on a key nobody has, 50 ms loader; loader " +
      "calls summed over the four processes (must be 1 in every round), completion from the common start; " +
      "10 rounds.",
    target: "one loader call per fleet-wide miss",
    libs: ["cachet"],
    columns: [
      { metric: "visibleP50", label: "invalidation visible everywhere, p50 ms", format: "ms" },
      { metric: "visibleMax", label: "max ms", format: "ms" },
      { metric: "loaderCallsMax", label: "loader calls per miss (max over rounds)", format: "count" },
      { metric: "stampedeP50", label: "stampede completion p50 ms", format: "ms" },
      { metric: "stampedeMax", label: "max ms", format: "ms" },
    ],
    redis: true,
    maxReps: 3,
  },
];

/** Registered in `registry.ts`. */
export const fleetScenarios: ScenarioModule = { defs, measure };
