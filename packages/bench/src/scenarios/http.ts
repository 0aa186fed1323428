import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import type { Metrics, RunSettings } from "./types.js";

const SERVER = fileURLToPath(new URL("./http-server.js", import.meta.url));

function run(url: string, duration: number): Promise<autocannon.Result> {
  return autocannon({ url, connections: 32, duration });
}

/** autocannon against a server process of its own: the constant-response limit, cached or uncached. */
export async function runHttp(adapter: string, mode: string, settings: RunSettings): Promise<Metrics> {
  const server = fork(SERVER, [adapter, mode], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.once("message", (message) => resolve((message as { port: number }).port));
      server.once("exit", (code) => reject(new Error(`http server exited with code ${String(code)}`)));
    });
    const url = `http://127.0.0.1:${port}/`;
    // Prime: the first request fills the cache; the second must be a hit.
    await (await fetch(url)).arrayBuffer();
    const second = await fetch(url);
    await second.arrayBuffer();
    if (mode === "cached" && second.headers.get("x-cache") !== "HIT") {
      throw new Error(
        `${adapter}: the second request was not a cache hit (x-cache: ${second.headers.get("x-cache")})`,
      );
    }
    await run(url, settings.quick ? 0.3 : 0.4);
    const result = await run(url, settings.quick ? 0.7 : 1.5);
    if (result.non2xx > 0 || result.errors > 0) {
      throw new Error(`${adapter}/${mode}: ${result.non2xx} non-2xx responses, ${result.errors} errors`);
    }
    return {
      opsPerSec: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      requests: result.requests.total,
    };
  } finally {
    server.kill("SIGKILL");
  }
}
