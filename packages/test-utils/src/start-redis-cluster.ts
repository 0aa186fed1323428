import { execFile } from "node:child_process";
import { findFreePort } from "./free-port.js";
import { requireRedisBinaries } from "./find-redis.js";
import { RedisProcess } from "./redis-process.js";
import { sendCommand } from "./resp.js";

/** Options for {@link startRedisCluster}. */
export interface StartRedisClusterOptions {
  /** Number of masters (no replicas). At least 3, as `redis-cli --cluster create` requires. @default 3 */
  masters?: number;
  /** Extra `redis-server` arguments for every node. */
  args?: readonly string[];
  /** Always spawn nodes, even when `REDIS_CLUSTER_URLS` is set. @default false */
  own?: boolean;
  /** Bound on each wait: nodes answering PING, the cluster reaching `cluster_state:ok`. @default 15_000 */
  startTimeout?: number;
}

/** One cluster node's address. */
export interface RedisNodeAddress {
  host: string;
  port: number;
}

/** A Redis Cluster for a test. */
export interface RedisClusterHandle {
  /** Every master's address, in start order. */
  readonly nodes: readonly RedisNodeAddress[];
  /** True for the external cluster from `REDIS_CLUSTER_URLS`. */
  readonly isExternal: boolean;
  /** Stops every node and removes the temp dirs. A no-op for an external cluster. */
  stop(): Promise<void>;
  /** SIGKILLs node `i`. */
  killNode(i: number): Promise<void>;
  /** Starts node `i` again (same port, same nodes.conf) and waits for `cluster_state:ok` everywhere. */
  restartNode(i: number): Promise<void>;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitForClusterOk(nodes: readonly RedisNodeAddress[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    let allOk = true;
    for (const node of nodes) {
      try {
        const info = await sendCommand(node.host, node.port, ["CLUSTER", "INFO"], 500);
        if (
          typeof info !== "string" ||
          !info.includes("cluster_state:ok") ||
          !info.includes("cluster_slots_ok:16384")
        ) {
          allOk = false;
          last = `${node.port}: ${typeof info === "string" ? (info.split("\r\n")[0] ?? "") : JSON.stringify(info)}`;
          break;
        }
      } catch (error) {
        allOk = false;
        last = `${node.port}: ${(error as Error).message}`;
        break;
      }
    }
    if (allOk) return;
    await delay(50);
  }
  throw new Error(`Redis Cluster did not reach cluster_state:ok within ${timeoutMs} ms (last: ${last})`);
}

function runCli(cli: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cli, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error)
        reject(new Error(`redis-cli ${args.join(" ")} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

function externalCluster(urls: string): RedisClusterHandle {
  const nodes = urls
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const url = new URL(entry.includes("://") ? entry : `redis://${entry}`);
      return { host: url.hostname, port: Number(url.port || 6379) };
    });
  const unsupported = (): never => {
    throw new Error("killNode/restartNode are not possible on the external REDIS_CLUSTER_URLS cluster");
  };
  return {
    nodes,
    isExternal: true,
    stop: () => Promise.resolve(),
    killNode: unsupported,
    restartNode: unsupported,
  };
}

/**
 * Starts a Redis Cluster of `masters` nodes (no replicas) on free ports, joins it with
 * `redis-cli --cluster create`, and resolves once every node reports `cluster_state:ok`.
 * When `REDIS_CLUSTER_URLS` (comma-separated `host:port`) is set, resolves with that cluster.
 */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const external = process.env["REDIS_CLUSTER_URLS"];
  if (!options.own && external) return externalCluster(external);
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3) throw new Error("`masters` must be an integer >= 3");
  const timeout = options.startTimeout ?? 15_000;
  const { server, cli } = requireRedisBinaries();
  if (!cli)
    throw new Error("redis-cli not found next to redis-server or on PATH; it is needed to create a cluster");
  const nodeArgs = [
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    "nodes.conf",
    "--cluster-node-timeout",
    "2000",
    ...(options.args ?? []),
  ];
  const procs: RedisProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((proc) => proc.dispose()));
  };
  try {
    const chosen = new Set<number>();
    for (let i = 0; i < masters; i++) {
      let port = await findFreePort(true);
      while (chosen.has(port)) port = await findFreePort(true);
      chosen.add(port);
      const proc = new RedisProcess(server, port, nodeArgs, timeout, "cachet-redis-cluster-");
      procs.push(proc);
    }
    await Promise.all(procs.map((proc) => proc.start()));
    await runCli(
      cli,
      [
        "--cluster",
        "create",
        ...procs.map((p) => `${p.host}:${p.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ],
      timeout,
    );
    const nodes = procs.map((p) => ({ host: p.host, port: p.port }));
    await waitForClusterOk(nodes, timeout);
    const nodeAt = (i: number): RedisProcess => {
      const proc = procs[i];
      if (!proc) throw new Error(`no cluster node ${i}; there are ${procs.length}`);
      return proc;
    };
    return {
      nodes,
      isExternal: false,
      stop,
      killNode: (i) => nodeAt(i).kill(),
      restartNode: async (i) => {
        const proc = nodeAt(i);
        await proc.stop();
        await proc.start();
        await waitForClusterOk(nodes, timeout);
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
