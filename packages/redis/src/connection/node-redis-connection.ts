import type { NodeRedisClientLike, NodeRedisClusterLike } from "../node-redis-adapter.js";
import type {
  ConnectionStatus,
  DedicatedConnection,
  DedicatedOptions,
  RedisConnection,
} from "./redis-connection.js";

type Listener = (...args: unknown[]) => void;

/** What this file uses of a node-redis client beyond {@link NodeRedisClientLike}. */
interface Client extends NodeRedisClientLike {
  duplicate(overrides?: object): Client;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  destroy?(): void;
  disconnect?(): Promise<unknown>;
}

/** What this file uses of a node-redis cluster beyond {@link NodeRedisClusterLike}. */
interface Cluster extends NodeRedisClusterLike {
  duplicate(overrides?: object): Cluster;
  connect(): Promise<unknown>;
  nodeClient(node: never): Promise<Client>;
  on(event: string, listener: Listener): unknown;
  destroy?(): void;
  disconnect?(): Promise<unknown>;
}

function isCluster(value: NodeRedisClientLike | NodeRedisClusterLike): value is Cluster {
  return Array.isArray((value as { masters?: unknown }).masters) && "nodeClient" in value;
}

function destroy(client: { destroy?(): void; disconnect?(): Promise<unknown> }): void {
  if (client.destroy) client.destroy();
  else void client.disconnect?.().catch(() => undefined);
}

/**
 * A dedicated node-redis connection: a `duplicate()` of a standalone client (or of one master's
 * client), or of a whole cluster for blocking reads routed by key. It is connected at once and
 * always has an `"error"` listener (an EventEmitter without one would throw).
 *
 * node-redis resubscribes by itself before it reports `"ready"` again, so {@link subscribe} after a
 * reconnection finds the channel subscribed and resolves at once.
 */
class NodeRedisDedicated implements DedicatedConnection {
  readonly #client: Client | undefined;
  readonly #cluster: Cluster | undefined;
  readonly #key: string | undefined;
  readonly #channels = new Set<string>();
  readonly #errorListeners = new Set<(error: unknown) => void>();
  readonly #readyListeners = new Set<() => void>();
  #isReady = false;
  #wasReady = false;
  #closed = false;

  constructor(target: { client: Client } | { cluster: Cluster; key: string | undefined }) {
    const emitter = "client" in target ? target.client : target.cluster;
    if ("client" in target) this.#client = target.client;
    else {
      this.#cluster = target.cluster;
      this.#key = target.key;
    }
    emitter.on("error", (error) => {
      for (const listener of this.#errorListeners) listener(error);
    });
    if (this.#client) {
      this.#client.on("ready", () => this.#markReady());
      this.#client.on("reconnecting", () => {
        this.#isReady = false;
      });
      this.#client.on("end", () => {
        this.#isReady = false;
      });
    }
    // A cluster emits no per-connection events: it is ready once connected. (A lost node shows as
    // failed commands, which the callers retry.)
    (this.#client ?? this.#cluster)!.connect().then(
      () => {
        if (this.#cluster) this.#markReady();
      },
      (error: unknown) => {
        if (!this.#closed) for (const listener of this.#errorListeners) listener(error);
      },
    );
  }

  #markReady(): void {
    this.#isReady = true;
    this.#wasReady = true;
    for (const listener of this.#readyListeners) listener();
  }

  status(): ConnectionStatus {
    if (this.#closed) return "closed";
    if (this.#isReady) return "ready";
    return this.#wasReady ? "down" : "connecting";
  }

  call(args: readonly string[], key?: string): Promise<unknown> {
    if (this.#cluster) return this.#cluster.sendCommand(key ?? this.#key, false, args);
    return this.#client!.sendCommand(args);
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<void> {
    if (this.#channels.has(channel)) return;
    this.#channels.add(channel);
    try {
      await this.#client!.subscribe(channel, onMessage);
    } catch (error) {
      this.#channels.delete(channel);
      throw error;
    }
  }

  on(event: "ready" | "close" | "error", listener: (error: unknown) => void): void {
    if (event === "error") this.#errorListeners.add(listener);
    else if (event === "ready") this.#readyListeners.add(() => listener(undefined));
    else if (this.#client) {
      // node-redis reports a dropped socket as "reconnecting" (or "end" when it gives up).
      this.#client.on("reconnecting", () => listener(undefined));
      this.#client.on("end", () => listener(undefined));
    }
  }

  disconnect(): void {
    this.#closed = true;
    this.#isReady = false;
    destroy((this.#client ?? this.#cluster)!);
  }
}

class NodeRedisConnection implements RedisConnection {
  readonly kind = "node-redis";
  readonly isCluster: boolean;
  readonly #client: Client | undefined;
  readonly #cluster: Cluster | undefined;
  #wasReady: boolean;

  constructor(client: NodeRedisClientLike | NodeRedisClusterLike) {
    if (isCluster(client)) {
      this.isCluster = true;
      this.#cluster = client;
      this.#wasReady = client.isOpen;
    } else {
      const standalone = client as Client;
      this.isCluster = false;
      this.#client = standalone;
      // No listener on the user's client (it would outlive the bus or lock that wraps it):
      // readiness is noted whenever the status is read.
      this.#wasReady = standalone.isReady;
    }
  }

  status(): ConnectionStatus {
    if (this.#cluster) return this.#cluster.isOpen ? "ready" : "closed";
    const client = this.#client!;
    if (client.isReady) {
      this.#wasReady = true;
      return "ready";
    }
    // A client its owner never connected (or closed) takes no commands at all.
    if (!client.isOpen) return "closed";
    return this.#wasReady ? "down" : "connecting";
  }

  call(args: readonly string[], key?: string): Promise<unknown> {
    if (this.#cluster) return this.#cluster.sendCommand(key, false, args);
    return this.#client!.sendCommand(args);
  }

  onReady(listener: () => void): () => void {
    // A cluster reports no per-connection readiness; callers also retry on a timer.
    if (!this.#client) return () => undefined;
    this.#client.on("ready", listener);
    return () => this.#client!.off("ready", listener);
  }

  async dedicated(options: DedicatedOptions): Promise<DedicatedConnection | undefined> {
    // Our own connection: no offline-queue limits of the user's, no client-side cache, named.
    const overrides = { name: options.name };
    if (this.#cluster) {
      if (options.purpose === "blocking") {
        return new NodeRedisDedicated({ cluster: this.#cluster.duplicate(), key: options.key });
      }
      // Redis Cluster forwards PUBLISH to every node: a subscriber on one master hears all.
      const masters = this.#cluster.masters;
      if (masters.length === 0) return undefined;
      const master = masters[(options.node ?? 0) % masters.length]!;
      const nodeClient = await this.#cluster.nodeClient(master as never);
      return new NodeRedisDedicated({ client: nodeClient.duplicate(overrides) });
    }
    return new NodeRedisDedicated({ client: this.#client!.duplicate(overrides) });
  }

  async close(): Promise<void> {
    const target = this.#cluster ?? this.#client!;
    await (target.close ?? target.quit)?.call(target);
  }
}

/** Wraps a node-redis client or cluster (`redis` 5 or 6) as a {@link RedisConnection}. */
export function nodeRedisConnection(client: NodeRedisClientLike | NodeRedisClusterLike): RedisConnection {
  return new NodeRedisConnection(client);
}
