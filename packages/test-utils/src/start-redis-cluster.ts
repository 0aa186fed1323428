import { execFile } from "node:child_process";
import { findFreePort } from "./free-port.js";
import { requireRedisBinaries } from "./find-redis.js";
import { RedisProcess } from "./redis-process.js";
import { sendCommand } from "./resp.js";
import type { RespReply } from "./resp.js";

/** Options for {@link startRedisCluster}. */
export interface StartRedisClusterOptions {
  /** Number of masters. At least 3, as `redis-cli --cluster create` requires. @default 3 */
  masters?: number;
  /**
   * Replicas per master (`--cluster-replicas`), so a test can fail a shard over with
   * {@link RedisClusterHandle.failover} or by killing its master. @default 0
   */
  replicasPerMaster?: number;
  /**
   * `--cluster-node-timeout` in ms: how long a node may be unreachable before it counts as failed
   * and, with replicas, before one of them takes over (a few times this after a kill).
   * @default 2000
   */
  nodeTimeout?: number;
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

/** How {@link RedisClusterHandle.failover} asks a replica to take over (`CLUSTER FAILOVER [FORCE|TAKEOVER]`). */
export type ClusterFailoverMode = "default" | "force" | "takeover";

/** A Redis Cluster for a test. */
export interface RedisClusterHandle {
  /** Every master's address, in start order (shard `i` is the shard whose master was `nodes[i]`). */
  readonly nodes: readonly RedisNodeAddress[];
  /** `replicas[i]`: the replicas that shard `i` started with (empty without `replicasPerMaster`). */
  readonly replicas: readonly (readonly RedisNodeAddress[])[];
  /** True for the external cluster from `REDIS_CLUSTER_URLS`. */
  readonly isExternal: boolean;
  /** Stops every node and removes the temp dirs. A no-op for an external cluster. */
  stop(): Promise<void>;
  /** SIGKILLs node `i` (the master shard `i` started with). */
  killNode(i: number): Promise<void>;
  /**
   * Starts node `i` again (same port, same nodes.conf) and waits for `cluster_state:ok` on every
   * running node. With replicas, a master that was replaced meanwhile comes back as a replica.
   */
  restartNode(i: number): Promise<void>;
  /**
   * SIGKILLs shard `i`'s current master (which, after a failover, is not `nodes[i]`) and resolves
   * with its address; {@link RedisClusterHandle.waitForMaster} then waits for a replica to take over.
   */
  killMaster(i: number): Promise<RedisNodeAddress>;
  /**
   * Makes a running replica of shard `i` its master with `CLUSTER FAILOVER` (`"default"`: the
   * coordinated hand-over, after which the old master is a replica of the new one; `"force"` or
   * `"takeover"` when the master is unreachable), then waits, bounded by `startTimeout`, until
   * every running node agrees (see {@link RedisClusterHandle.waitForMaster}).
   * Resolves with the new master's address.
   */
  failover(i: number, mode?: ClusterFailoverMode): Promise<RedisNodeAddress>;
  /**
   * Waits, bounded by `startTimeout`, until shard `i`'s slots are owned by a running node other
   * than `except` that is a master in its own view and in every running node's `CLUSTER SLOTS`,
   * with `cluster_state:ok` everywhere (e.g. after {@link RedisClusterHandle.killNode} of its
   * master, until a replica was promoted). Resolves with that master's address.
   */
  waitForMaster(i: number, except?: RedisNodeAddress): Promise<RedisNodeAddress>;
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
    throw new Error(
      "killNode/restartNode/failover/waitForMaster are not possible on the external REDIS_CLUSTER_URLS cluster",
    );
  };
  return {
    nodes,
    replicas: nodes.map(() => []),
    isExternal: true,
    stop: () => Promise.resolve(),
    killNode: unsupported,
    restartNode: unsupported,
    killMaster: unsupported,
    failover: unsupported,
    waitForMaster: unsupported,
  };
}

/** A scalar RESP reply as text (host names, ports, roles). */
function text(reply: RespReply | undefined): string {
  return typeof reply === "string" || typeof reply === "number" ? String(reply) : JSON.stringify(reply);
}

/** `host:port` of an address. */
function addressOf(node: RedisNodeAddress): string {
  return `${node.host}:${node.port}`;
}

/** Who serves `slot` in `node`'s `CLUSTER SLOTS` (`host:port`), or a reason it cannot say. */
async function slotOwner(node: RedisNodeAddress, slot: number): Promise<string> {
  const slots = await sendCommand(node.host, node.port, ["CLUSTER", "SLOTS"], 500);
  if (!Array.isArray(slots)) throw new Error(`CLUSTER SLOTS answered ${JSON.stringify(slots)}`);
  for (const range of slots) {
    if (!Array.isArray(range)) continue;
    const [from, to, master] = range;
    if (typeof from === "number" && typeof to === "number" && from <= slot && slot <= to) {
      if (Array.isArray(master)) return `${text(master[0])}:${text(master[1])}`;
    }
  }
  throw new Error(`no owner of slot ${slot} in ${addressOf(node)}'s CLUSTER SLOTS`);
}

/** `ROLE`'s first word: `"master"`, `"slave"`, or the error. */
async function roleOf(node: RedisNodeAddress): Promise<string> {
  const role = await sendCommand(node.host, node.port, ["ROLE"], 500);
  return Array.isArray(role) ? text(role[0]) : JSON.stringify(role);
}

/** The first slot of each master's ranges in `CLUSTER SLOTS`, by `host:port`. */
async function firstSlots(node: RedisNodeAddress): Promise<Map<string, number>> {
  const slots = await sendCommand(node.host, node.port, ["CLUSTER", "SLOTS"], 2_000);
  const first = new Map<string, number>();
  for (const range of Array.isArray(slots) ? slots : []) {
    if (!Array.isArray(range) || !Array.isArray(range[2])) continue;
    const owner = `${text(range[2][0])}:${text(range[2][1])}`;
    const from = Number(range[0]);
    if (!first.has(owner) || from < first.get(owner)!) first.set(owner, from);
  }
  return first;
}

/**
 * Starts a Redis Cluster of `masters` nodes, each with `replicasPerMaster` replicas, on free ports;
 * joins it with `redis-cli --cluster create`, and resolves once every node reports
 * `cluster_state:ok` and every replica is in sync with its master.
 * When `REDIS_CLUSTER_URLS` (comma-separated `host:port`) is set, resolves with that cluster.
 */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const external = process.env["REDIS_CLUSTER_URLS"];
  if (!options.own && external) return externalCluster(external);
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3) throw new Error("`masters` must be an integer >= 3");
  const replicasPerMaster = options.replicasPerMaster ?? 0;
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0)
    throw new Error("`replicasPerMaster` must be an integer >= 0");
  const nodeTimeout = options.nodeTimeout ?? 2_000;
  if (!Number.isInteger(nodeTimeout) || nodeTimeout < 100)
    throw new Error("`nodeTimeout` must be an integer >= 100 (ms)");
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
    String(nodeTimeout),
    ...(options.args ?? []),
  ];
  const procs: RedisProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((proc) => proc.dispose()));
  };
  try {
    const chosen = new Set<number>();
    for (let i = 0; i < masters * (1 + replicasPerMaster); i++) {
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
        String(replicasPerMaster),
        "--cluster-yes",
      ],
      timeout,
    );
    const all = procs.map((p) => ({ host: p.host, port: p.port }));
    const running = (): RedisNodeAddress[] =>
      procs.filter((p) => p.isRunning).map((p) => ({ host: p.host, port: p.port }));
    await waitForClusterOk(all, timeout);
    // redis-cli chooses which nodes become masters: group the nodes into shards by what they serve.
    const firstSlot = await firstSlots(all[0]!);
    const shards: { slot: number; members: RedisProcess[] }[] = procs
      .filter((p) => firstSlot.has(`${p.host}:${p.port}`))
      .map((p) => ({ slot: firstSlot.get(`${p.host}:${p.port}`)!, members: [p] }));
    if (shards.length !== masters)
      throw new Error(`expected ${masters} masters, CLUSTER SLOTS lists ${shards.length}`);
    for (const proc of procs) {
      if (firstSlot.has(`${proc.host}:${proc.port}`)) continue;
      // Each replica serves its master's slots read-only: its CLUSTER SLOTS owner is that master.
      const deadline = Date.now() + timeout;
      for (;;) {
        const info = await sendCommand(proc.host, proc.port, ["INFO", "replication"], 500).catch(() => "");
        const match =
          typeof info === "string" ? /master_port:(\d+)[\s\S]*master_link_status:up/.exec(info) : null;
        const shard = match ? shards.find((s) => s.members[0]!.port === Number(match[1])) : undefined;
        if (shard) {
          shard.members.push(proc);
          break;
        }
        if (Date.now() > deadline)
          throw new Error(
            `replica ${proc.host}:${proc.port} was not in sync with a master within ${timeout} ms`,
          );
        await delay(50);
      }
    }
    const shardAt = (i: number): { slot: number; members: RedisProcess[] } => {
      const shard = shards[i];
      if (!shard) throw new Error(`no cluster shard ${i}; there are ${shards.length}`);
      return shard;
    };
    const nodes = shards.map((s) => ({ host: s.members[0]!.host, port: s.members[0]!.port }));

    /** Waits until shard `i`'s slot is served by a running master that `accept`s, in every running node's view. */
    const waitForOwner = async (
      i: number,
      accept: (address: string) => boolean,
    ): Promise<RedisNodeAddress> => {
      const { slot, members } = shardAt(i);
      const deadline = Date.now() + timeout;
      let last = "";
      while (Date.now() < deadline) {
        try {
          const live = running();
          const owners = new Set(await Promise.all(live.map((node) => slotOwner(node, slot))));
          const [owner] = owners;
          const member = members.find((p) => `${p.host}:${p.port}` === owner);
          if (owners.size !== 1 || owner === undefined || !accept(owner) || !member?.isRunning) {
            last = `slot ${slot} owners: ${[...owners].join(", ")}`;
          } else if ((await roleOf(member)) !== "master") {
            last = `${owner} is not a master in its own view yet`;
          } else {
            await waitForClusterOk(live, Math.max(1, deadline - Date.now()));
            return { host: member.host, port: member.port };
          }
        } catch (error) {
          last = (error as Error).message;
        }
        await delay(50);
      }
      throw new Error(`shard ${i} did not get an agreed master within ${timeout} ms (last: ${last})`);
    };

    return {
      nodes,
      replicas: shards.map((s) => s.members.slice(1).map((p) => ({ host: p.host, port: p.port }))),
      isExternal: false,
      stop,
      killNode: (i) => shardAt(i).members[0]!.kill(),
      restartNode: async (i) => {
        const proc = shardAt(i).members[0]!;
        await proc.stop();
        await proc.start();
        await waitForClusterOk(running(), timeout);
      },
      killMaster: async (i) => {
        const { slot, members } = shardAt(i);
        const owner = await slotOwner(running()[0]!, slot);
        const master = members.find((p) => `${p.host}:${p.port}` === owner && p.isRunning);
        if (!master) throw new Error(`shard ${i}'s master ${owner} is not one of its running nodes`);
        await master.kill();
        return { host: master.host, port: master.port };
      },
      failover: async (i, mode = "default") => {
        const { members } = shardAt(i);
        let replica: RedisProcess | undefined;
        for (const member of members) {
          if (member.isRunning && (await roleOf(member)) === "slave") {
            replica = member;
            break;
          }
        }
        if (!replica) throw new Error(`shard ${i} has no running replica to fail over to`);
        const args =
          mode === "default" ? ["CLUSTER", "FAILOVER"] : ["CLUSTER", "FAILOVER", mode.toUpperCase()];
        const reply = await sendCommand(replica.host, replica.port, args, 2_000);
        if (reply !== "OK")
          throw new Error(`${args.join(" ")} on ${replica.host}:${replica.port}: ${JSON.stringify(reply)}`);
        const chosen = `${replica.host}:${replica.port}`;
        return waitForOwner(i, (owner) => owner === chosen);
      },
      waitForMaster: (i, except) =>
        waitForOwner(i, (owner) => except === undefined || owner !== addressOf(except)),
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
