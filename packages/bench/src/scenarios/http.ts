import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { median } from "../stats.js";
import type { Metrics, RunSettings } from "./types.js";

const SERVER = fileURLToPath(new URL("./http-server.js", import.meta.url));

function run(url: string, duration: number): Promise<autocannon.Result> {
  return autocannon({ url, connections: 32, duration });
}

/** The server process's CPU time so far, in microseconds (user + system). */
function serverCpu(server: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      const cpu = (message as { cpu?: NodeJS.CpuUsage }).cpu;
      if (cpu === undefined) return;
      server.off("message", onMessage);
      resolve(cpu.user + cpu.system);
    };
    server.on("message", onMessage);
    server.send({ cpu: true });
  });
}

/** Starts a server process; resolves with it and its URL once it listens. */
async function startServer(adapter: string, mode: string): Promise<{ server: ChildProcess; url: string }> {
  const server = fork(SERVER, [adapter, mode], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const port = await new Promise<number>((resolve, reject) => {
    const onMessage = (message: unknown) => {
      const found = (message as { port?: number }).port;
      if (found === undefined) return;
      server.off("message", onMessage);
      resolve(found);
    };
    server.on("message", onMessage);
    server.once("exit", (code) => reject(new Error(`http server exited with code ${String(code)}`)));
  });
  return { server, url: `http://127.0.0.1:${port}/` };
}

/**
 * One timed autocannon window: requests per second and the server's CPU microseconds per request.
 * The rate is the total over the measured elapsed time, never autocannon's `requests.average`: that
 * is the mean of per-second samples, so a 1.5 s run is divided into one or two samples (the partial
 * half second counts as a whole one or not at all, depending on timer jitter) and the same server
 * reads 25% slower or not from one run to the next.
 */
async function window(
  target: { server: ChildProcess; url: string },
  seconds: number,
  label: string,
): Promise<{ result: autocannon.Result; rate: number; usPerReq: number }> {
  const cpuBefore = await serverCpu(target.server);
  const started = performance.now();
  const result = await run(target.url, seconds);
  const elapsedMs = performance.now() - started;
  const cpuUs = (await serverCpu(target.server)) - cpuBefore;
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${label}: ${result.non2xx} non-2xx responses, ${result.errors} errors`);
  }
  const total = result.requests.total;
  return { result, rate: (total / elapsedMs) * 1000, usPerReq: cpuUs / total };
}

/**
 * autocannon against a server process of its own: the constant-response limit, cached or uncached.
 * `cached` also starts a `limit` server and measures the two in alternating windows (limit, cached,
 * limit, cached, ...): `pairedRatio` is the median over pairs of cached ÷ limit measured seconds apart,
 * so a change in the machine's load between two processes' runs does not decide it.
 */
export async function runHttp(adapter: string, mode: string, settings: RunSettings): Promise<Metrics> {
  const target = await startServer(adapter, mode);
  const limit = mode === "cached" ? await startServer(adapter, "limit") : undefined;
  try {
    const { url } = target;
    // Prime: the first request fills the cache; the second must be a hit.
    await (await fetch(url)).arrayBuffer();
    const second = await fetch(url);
    await second.arrayBuffer();
    if (mode === "cached" && second.headers.get("x-cache") !== "HIT") {
      throw new Error(
        `${adapter}: the second request was not a cache hit (x-cache: ${second.headers.get("x-cache")})`,
      );
    }
    // Warm-up by request count, not time: on a loaded machine a timed warm-up can end before the
    // JIT has compiled the handler, and the first windows then measure the interpreter.
    const warmup = settings.quick ? 3_000 : 10_000;
    await autocannon({ url, connections: 32, amount: warmup });
    if (limit !== undefined) await autocannon({ url: limit.url, connections: 32, amount: warmup });
    const { result, rate, usPerReq } = await window(target, settings.quick ? 0.7 : 1.5, `${adapter}/${mode}`);
    const metrics: Metrics = {
      opsPerSec: rate,
      p50: result.latency.p50,
      p99: result.latency.p99,
      requests: result.requests.total,
      // The server's CPU per request, and its inverse: requests one core could serve at that cost.
      serverUsPerReq: usPerReq,
      perCoreSec: 1e6 / usPerReq,
    };
    if (limit !== undefined) {
      const rates: number[] = [];
      const cpu: number[] = [];
      const pairs = settings.quick ? 2 : 5;
      const seconds = settings.quick ? 0.4 : 0.6;
      for (let i = 0; i < pairs; i++) {
        // A-B then B-A: whichever server runs second in a pair does not always get the same state.
        const first = i % 2 === 0 ? limit : target;
        const x = await window(first, seconds, adapter);
        const y = await window(first === limit ? target : limit, seconds, adapter);
        const [a, b] = first === limit ? [x, y] : [y, x];
        rates.push(b.rate / a.rate);
        cpu.push(a.usPerReq / b.usPerReq);
      }
      metrics["pairedRatio"] = median(rates);
      metrics["pairedCpuRatio"] = median(cpu);
    }
    return metrics;
  } finally {
    target.server.kill("SIGKILL");
    limit?.server.kill("SIGKILL");
  }
}
