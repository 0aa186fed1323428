import type { BusTransport, TransportHost } from "./bus-transport.js";
import type { IORedisClient } from "./ioredis-client.js";
import { closeConnection, clusterNodes, duplicateClient } from "./ioredis-client.js";

/** How long a Cluster subscriber may stay disconnected before it moves to another node. */
const CLUSTER_FAILOVER_MS = 2_000;

/**
 * Redis pub/sub: PUBLISH on the user's connection, SUBSCRIBE on a connection of our own.
 *
 * Pub/sub is at-most-once: whatever is published while the subscriber is disconnected is lost.
 * So after a reconnection the transport re-subscribes itself (ioredis's auto-resubscribe is off,
 * to know when the subscription is back) and only then reports `mayHaveMissedMessages: true`:
 * the cache clears its L1 after the point from which it again hears every message.
 *
 * Cluster: plain PUBLISH, which Redis Cluster forwards to every node, and a subscriber connected
 * to one master node. With one channel, sharded pub/sub (SPUBLISH) would put all traffic on one
 * shard anyway, and its subscribers are unsubscribed when the slot migrates; a plain subscriber
 * survives resharding and only needs another node when its own fails.
 */
export class PubSubTransport implements BusTransport {
  readonly #client: IORedisClient;
  readonly #channel: string;
  readonly #host: TransportHost;
  readonly #connectionName: string;
  #subscriber: IORedisClient | undefined;
  #generation = 0;
  #subscribed = false;
  #lost = false;
  #everSubscribed = false;
  #closed = false;
  #failover: NodeJS.Timeout | undefined;
  #started: { resolve: () => void; promise: Promise<void> } | undefined;
  #nodeIndex = 0;
  #waitingForCluster: (() => void) | undefined;

  constructor(client: IORedisClient, channel: string, host: TransportHost, connectionName: string) {
    this.#client = client;
    this.#channel = channel;
    this.#host = host;
    this.#connectionName = connectionName;
  }

  start(): Promise<void> {
    if (this.#started === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#started = { resolve, promise };
      this.#connect();
    }
    return this.#started.promise;
  }

  async send(payload: string): Promise<void> {
    await this.#client.call("PUBLISH", this.#channel, payload);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#failover !== undefined) clearTimeout(this.#failover);
    if (this.#waitingForCluster !== undefined) this.#client.off("ready", this.#waitingForCluster);
    this.#started?.resolve();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber !== undefined) await closeConnection(subscriber);
  }

  #connect(): void {
    if (this.#closed) return;
    let base = this.#client;
    if (this.#client.isCluster === true) {
      const nodes = clusterNodes(this.#client);
      if (nodes.length === 0) {
        // The cluster has not learned its nodes yet.
        this.#waitingForCluster = () => {
          this.#waitingForCluster = undefined;
          this.#connect();
        };
        this.#client.on("ready", this.#waitingForCluster);
        return;
      }
      base = nodes[this.#nodeIndex++ % nodes.length]!;
    }
    const generation = ++this.#generation;
    const subscriber = duplicateClient(base, {
      autoResubscribe: false,
      enableOfflineQueue: true,
      lazyConnect: false,
      readOnly: false,
      commandTimeout: undefined,
      connectionName: this.#connectionName,
    });
    this.#subscriber = subscriber;
    subscriber.on("message", (channel: string, message: string) => {
      if (channel === this.#channel && generation === this.#generation) this.#host.deliver(message);
    });
    subscriber.on("ready", () => void this.#subscribe(subscriber, generation));
    subscriber.on("close", () => {
      if (generation !== this.#generation || this.#closed) return;
      if (this.#subscribed) {
        this.#subscribed = false;
        this.#lost = true;
      }
      if (this.#client.isCluster === true && this.#failover === undefined) {
        this.#failover = setTimeout(() => {
          this.#failover = undefined;
          if (this.#closed || generation !== this.#generation || subscriber.status === "ready") return;
          subscriber.disconnect();
          this.#connect();
        }, CLUSTER_FAILOVER_MS);
        this.#failover.unref();
      }
    });
    subscriber.on("error", (error: Error) => {
      if (!this.#closed) this.#host.error("bus subscriber connection error", error);
    });
  }

  async #subscribe(subscriber: IORedisClient, generation: number): Promise<void> {
    try {
      await subscriber.subscribe(this.#channel);
    } catch (error) {
      // The next "ready" (after ioredis reconnects) tries again.
      if (!this.#closed) this.#host.error("bus SUBSCRIBE failed", error);
      return;
    }
    if (this.#closed || generation !== this.#generation) return;
    this.#subscribed = true;
    if (!this.#everSubscribed) {
      this.#everSubscribed = true;
      this.#started?.resolve();
    } else if (this.#lost) {
      this.#lost = false;
      this.#host.reconnected(true);
    }
  }
}
