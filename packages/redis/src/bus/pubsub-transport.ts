import type { DedicatedConnection, RedisConnection } from "../connection/redis-connection.js";
import type { BusTransport, TransportHost } from "./bus-transport.js";

/** How long a Cluster subscriber may stay disconnected before it moves to another node. */
const CLUSTER_FAILOVER_MS = 2_000;

/**
 * Redis pub/sub: PUBLISH on the user's connection, SUBSCRIBE on a connection of our own.
 *
 * Pub/sub is at-most-once: whatever is published while the subscriber is disconnected is lost.
 * So after a reconnection the transport waits until the subscription is back (ioredis: it
 * re-subscribes itself, auto-resubscribe being off; node-redis: the client has re-subscribed
 * before it reports ready) and only then reports `mayHaveMissedMessages: true`: the cache clears
 * its L1 after the point from which it again hears every message.
 *
 * Cluster: plain PUBLISH, which Redis Cluster forwards to every node, and a subscriber connected
 * to one master node. With one channel, sharded pub/sub (SPUBLISH) would put all traffic on one
 * shard anyway, and its subscribers are unsubscribed when the slot migrates; a plain subscriber
 * survives resharding and only needs another node when its own fails.
 */
export class PubSubTransport implements BusTransport {
  readonly #connection: RedisConnection;
  readonly #channel: string;
  readonly #host: TransportHost;
  readonly #connectionName: string;
  #subscriber: DedicatedConnection | undefined;
  #generation = 0;
  #subscribed = false;
  #lost = false;
  #everSubscribed = false;
  #closed = false;
  #failover: NodeJS.Timeout | undefined;
  #started: { resolve: () => void; promise: Promise<void> } | undefined;
  #nodeIndex = 0;
  #stopWaitingForCluster: (() => void) | undefined;

  constructor(connection: RedisConnection, channel: string, host: TransportHost, connectionName: string) {
    this.#connection = connection;
    this.#channel = channel;
    this.#host = host;
    this.#connectionName = connectionName;
  }

  start(): Promise<void> {
    if (this.#started === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#started = { resolve, promise };
      void this.#connect();
    }
    return this.#started.promise;
  }

  async send(payload: string): Promise<void> {
    await this.#connection.call(["PUBLISH", this.#channel, payload]);
  }

  close(): Promise<void> {
    this.#closed = true;
    if (this.#failover !== undefined) clearTimeout(this.#failover);
    this.#stopWaitingForCluster?.();
    this.#started?.resolve();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    subscriber?.disconnect();
    return Promise.resolve();
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const generation = ++this.#generation;
    let subscriber: DedicatedConnection | undefined;
    try {
      subscriber = await this.#connection.dedicated({
        purpose: "subscriber",
        node: this.#nodeIndex++,
        name: this.#connectionName,
      });
    } catch (error) {
      subscriber = undefined;
      if (!this.#closed) this.#host.error("bus subscriber connection failed", error);
    }
    if (subscriber === undefined) {
      // A Cluster that has not learned its nodes yet (or a node that could not be reached): try
      // again when the connection is next ready, and on a timer for clients that report no readiness.
      if (this.#closed || this.#stopWaitingForCluster !== undefined) return;
      const retry = (): void => {
        this.#stopWaitingForCluster?.();
        void this.#connect();
      };
      const timer = setTimeout(retry, CLUSTER_FAILOVER_MS);
      timer.unref();
      const stopReady = this.#connection.onReady(retry);
      this.#stopWaitingForCluster = () => {
        this.#stopWaitingForCluster = undefined;
        clearTimeout(timer);
        stopReady();
      };
      return;
    }
    if (this.#closed || generation !== this.#generation) {
      subscriber.disconnect();
      return;
    }
    this.#subscriber = subscriber;
    subscriber.on("ready", () => void this.#subscribe(subscriber, generation));
    subscriber.on("close", () => {
      if (generation !== this.#generation || this.#closed) return;
      if (this.#subscribed) {
        this.#subscribed = false;
        this.#lost = true;
      }
      if (this.#connection.isCluster && this.#failover === undefined) {
        this.#failover = setTimeout(() => {
          this.#failover = undefined;
          if (this.#closed || generation !== this.#generation || subscriber.status() === "ready") return;
          subscriber.disconnect();
          void this.#connect();
        }, CLUSTER_FAILOVER_MS);
        this.#failover.unref();
      }
    });
    subscriber.on("error", (error) => {
      if (!this.#closed) this.#host.error("bus subscriber connection error", error);
    });
    // Already connected (a client that reports ready before we listened) needs no "ready" event.
    if (subscriber.status() === "ready") void this.#subscribe(subscriber, generation);
  }

  async #subscribe(subscriber: DedicatedConnection, generation: number): Promise<void> {
    try {
      await subscriber.subscribe(this.#channel, (message) => {
        if (generation === this.#generation) this.#host.deliver(message);
      });
    } catch (error) {
      // The next "ready" (after the client reconnects) tries again.
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
