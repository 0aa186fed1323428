import type {
  ConnectionStatus,
  DedicatedConnection,
  DedicatedOptions,
  RedisConnection,
} from "./redis-connection.js";

/**
 * The part of an ioredis `Redis` or `Cluster` (ioredis 5 or 6) that {@link RedisBus},
 * {@link RedisLock} and {@link RedisStreams} use. Declared structurally so that this package's
 * types do not require ioredis to be installed; pass the ioredis client itself.
 */
export interface IORedisClient {
  /** ioredis connection status: `"ready"` when commands go out at once. */
  readonly status: string;
  /** True for an ioredis `Cluster`. */
  readonly isCluster?: boolean;
  /** Sends any command. */
  call(command: string, ...args: (string | number | Buffer)[]): Promise<unknown>;
  /** Enters subscriber mode on this connection. */
  subscribe(...channels: string[]): Promise<unknown>;
  /** A new connection with the same settings (ioredis `duplicate`). */
  duplicate(...args: never[]): unknown;
  on<A extends unknown[]>(event: string, listener: (...args: A) => void): unknown;
  off<A extends unknown[]>(event: string, listener: (...args: A) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/** True for something that looks like an ioredis `Redis` or `Cluster`. */
export function isIORedisClient(value: unknown): value is IORedisClient {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { status?: unknown }).status === "string" &&
    typeof (value as { call?: unknown }).call === "function" &&
    typeof (value as { duplicate?: unknown }).duplicate === "function"
  );
}

/** ioredis statuses of a first connection attempt; a failed attempt goes on as "reconnecting". */
const FIRST_CONNECT = new Set(["wait", "connecting", "connect"]);

/**
 * Maps ioredis's status to ours. Only a first attempt still in progress counts as "connecting";
 * once an attempt failed (`"reconnecting"`), or a connection that was up is lost, it is "down".
 */
function statusOf(client: IORedisClient, wasReady: boolean): ConnectionStatus {
  if (client.status === "ready") return "ready";
  if (client.status === "end") return "closed";
  return !wasReady && FIRST_CONNECT.has(client.status) ? "connecting" : "down";
}

/**
 * Opens a new connection like `client`, with `overrides` applied to each node connection (for a
 * Cluster, through `redisOptions`). The caller owns the result.
 */
function duplicateClient(client: IORedisClient, overrides: Record<string, unknown>): IORedisClient {
  if (client.isCluster === true) {
    const cluster = client as unknown as {
      options?: { redisOptions?: Record<string, unknown> };
      duplicate(nodes: unknown[], options: object): IORedisClient;
    };
    return cluster.duplicate([], { redisOptions: { ...cluster.options?.redisOptions, ...overrides } });
  }
  return (client as unknown as { duplicate(options: object): IORedisClient }).duplicate(overrides);
}

/** Closes a connection: QUIT when possible (bounded), then a hard disconnect. */
export async function closeIORedis(client: IORedisClient): Promise<void> {
  if (client.status === "end") return;
  if (client.status === "ready") {
    await Promise.race([
      client.quit().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 200).unref()),
    ]);
  }
  client.disconnect();
}

/**
 * A dedicated ioredis connection. It always has an `"error"` listener, so ioredis never prints
 * "Unhandled error event"; errors reach whoever listens through {@link DedicatedConnection.on}.
 */
class IORedisDedicated implements DedicatedConnection {
  readonly #client: IORedisClient;
  readonly #channels = new Map<string, (message: string) => void>();
  readonly #errorListeners = new Set<(error: unknown) => void>();
  #wasReady = false;

  constructor(client: IORedisClient) {
    this.#client = client;
    client.on("ready", () => {
      this.#wasReady = true;
    });
    client.on("message", (channel: string, message: string) => this.#channels.get(channel)?.(message));
    client.on("error", (error: unknown) => {
      for (const listener of this.#errorListeners) listener(error);
    });
  }

  status(): ConnectionStatus {
    return statusOf(this.#client, this.#wasReady);
  }

  call(args: readonly string[]): Promise<unknown> {
    return this.#client.call(args[0]!, ...args.slice(1));
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<void> {
    this.#channels.set(channel, onMessage);
    await this.#client.subscribe(channel);
  }

  on(event: "ready" | "close" | "error", listener: (error: unknown) => void): void {
    if (event === "error") this.#errorListeners.add(listener);
    else this.#client.on(event, () => listener(undefined));
  }

  disconnect(): void {
    this.#client.disconnect();
  }
}

class IORedisConnection implements RedisConnection {
  readonly kind = "ioredis";
  readonly isCluster: boolean;
  readonly #client: IORedisClient;
  #wasReady: boolean;

  constructor(client: IORedisClient) {
    this.#client = client;
    this.isCluster = client.isCluster === true;
    // No listener on the user's client (it would outlive the bus or lock that wraps it): readiness
    // is noted whenever the status is read, which is enough to tell a first connection apart.
    this.#wasReady = client.status === "ready";
  }

  status(): ConnectionStatus {
    if (this.#client.status === "ready") this.#wasReady = true;
    return statusOf(this.#client, this.#wasReady);
  }

  call(args: readonly string[]): Promise<unknown> {
    // ioredis routes a Cluster command by the keys it finds in the arguments itself.
    return this.#client.call(args[0]!, ...args.slice(1));
  }

  onReady(listener: () => void): () => void {
    this.#client.on("ready", listener);
    return () => this.#client.off("ready", listener);
  }

  dedicated(options: DedicatedOptions): Promise<DedicatedConnection | undefined> {
    let base = this.#client;
    const overrides: Record<string, unknown> = {
      enableOfflineQueue: true,
      lazyConnect: false,
      commandTimeout: undefined,
      connectionName: options.name,
    };
    if (options.purpose === "subscriber") {
      if (this.isCluster) {
        // Redis Cluster forwards PUBLISH to every node: a subscriber on one master hears all.
        const nodes = (this.#client as unknown as { nodes(role: string): IORedisClient[] }).nodes("master");
        if (nodes.length === 0) return Promise.resolve(undefined);
        base = nodes[(options.node ?? 0) % nodes.length]!;
      }
      // Resubscribing is the transport's job, so it knows when the subscription is back.
      overrides.autoResubscribe = false;
      overrides.readOnly = false;
    } else {
      // A paused or half-dead server must not hold a blocking read forever (ioredis >= 5.8).
      if (options.blockingTimeout !== undefined) {
        overrides.blockingTimeout = options.blockingTimeout;
        overrides.blockingTimeoutGrace = 2_000;
      }
      overrides.autoResendUnfulfilledCommands = false;
    }
    return Promise.resolve(new IORedisDedicated(duplicateClient(base, overrides)));
  }

  close(): Promise<void> {
    return closeIORedis(this.#client);
  }
}

/** Wraps an ioredis `Redis` or `Cluster` as a {@link RedisConnection}. */
export function ioredisConnection(client: IORedisClient): RedisConnection {
  return new IORedisConnection(client);
}
