import { CacheError } from "@cachet/tier";
import { importIORedis } from "../import-ioredis.js";

/**
 * The part of an ioredis `Redis` or `Cluster` that {@link RedisBus}, {@link RedisLock} and
 * {@link RedisStreams} use. Declared structurally so that this package's types do not require
 * ioredis to be installed; pass the ioredis client itself.
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

/** A cluster's node connections, for subscribing to one node. */
interface ClusterNodes {
  nodes(role?: string): IORedisClient[];
}

/** A client handed in (kept open on close) or one made from a URL (owned, closed on close). */
export interface ResolvedClient {
  readonly client: IORedisClient;
  readonly owned: boolean;
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

/** Checks a `client` option eagerly, so a wrong value throws from the constructor. */
export function checkClientOption(client: unknown, owner: string): void {
  if (typeof client === "string") {
    let url: URL;
    try {
      url = new URL(client);
    } catch (error) {
      throw new CacheError("INVALID_OPTION", "`client` must be an ioredis client or a redis:// URL", {
        tier: owner,
        cause: error,
      });
    }
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
      throw new CacheError("INVALID_OPTION", "`client` URL must use redis:// or rediss://", { tier: owner });
    }
    return;
  }
  if (!isIORedisClient(client)) {
    throw new CacheError(
      "INVALID_OPTION",
      "`client` must be an ioredis Redis or Cluster, or a redis:// URL",
      {
        tier: owner,
      },
    );
  }
}

interface IORedisModule {
  Redis: new (url: string, options: object) => IORedisClient;
}

/** Resolves the `client` option; a URL loads ioredis lazily and creates a client this object owns. */
export async function resolveClient(client: string | IORedisClient, owner: string): Promise<ResolvedClient> {
  if (typeof client !== "string") return { client, owned: false };
  let Redis: IORedisModule["Redis"] | undefined;
  try {
    const mod = (await importIORedis()) as Partial<IORedisModule> & {
      default?: Partial<IORedisModule>;
    };
    Redis = mod.Redis ?? mod.default?.Redis;
  } catch (error) {
    throw new CacheError(
      "INVALID_OPTION",
      "`client` as a URL needs the `ioredis` package: `npm install ioredis`",
      {
        tier: owner,
        cause: error,
      },
    );
  }
  if (Redis === undefined)
    throw new CacheError("INVALID_OPTION", "the ioredis module has no Redis export", { tier: owner });
  // Reconnect forever with a capped backoff: a bus or lock must come back by itself.
  const created = new Redis(client, {
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
  });
  // Without a listener, ioredis prints every connection error to stderr ("Unhandled error
  // event") while Redis is down. The owner already sees them as failed commands, which it
  // reports and retries.
  created.on("error", () => undefined);
  return { client: created, owned: true };
}

/**
 * Opens a new connection like `client`, with `overrides` applied to each node connection (for a
 * Cluster, through `redisOptions`). The caller owns the result.
 */
export function duplicateClient(client: IORedisClient, overrides: Record<string, unknown>): IORedisClient {
  if (client.isCluster === true) {
    const cluster = client as unknown as {
      options?: { redisOptions?: Record<string, unknown> };
      duplicate(nodes: unknown[], options: object): IORedisClient;
    };
    return cluster.duplicate([], { redisOptions: { ...cluster.options?.redisOptions, ...overrides } });
  }
  return (client as unknown as { duplicate(options: object): IORedisClient }).duplicate(overrides);
}

/** The node connections of a Cluster (empty before it learned its slots). */
export function clusterNodes(client: IORedisClient): IORedisClient[] {
  return (client as unknown as ClusterNodes).nodes("master");
}

/** Closes a connection this package opened: QUIT when possible, then a hard disconnect. */
export async function closeConnection(client: IORedisClient): Promise<void> {
  if (client.status === "end") return;
  if (client.status === "ready") {
    await Promise.race([client.quit().catch(() => undefined), delay(200)]);
  }
  client.disconnect();
}

/** A promise resolved after `ms`, on an unreferenced timer. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The message of an unknown error. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
