import { CacheError } from "@cachet/tier";
import { importIORedis } from "../import-ioredis.js";
import type { NodeRedisClientLike, NodeRedisClusterLike } from "../node-redis-adapter.js";
import { isNodeRedisLike } from "../node-redis-adapter.js";
import type { IORedisClient } from "./ioredis-connection.js";
import { ioredisConnection, isIORedisClient } from "./ioredis-connection.js";
import { nodeRedisConnection } from "./node-redis-connection.js";
import type { RedisConnection } from "./redis-connection.js";

/**
 * What the `client` option of {@link RedisBus}, {@link RedisLock} and {@link RedisStreams}
 * accepts: an ioredis `Redis` or `Cluster` or a node-redis client or cluster you made (never
 * closed for you), or a `redis://` / `rediss://` URL, from which an ioredis client is created and
 * owned (closed in `close()`).
 */
export type RedisConnectionInput = IORedisClient | NodeRedisClientLike | NodeRedisClusterLike | string;

/** The connection in use, and whether this package created it (and so closes it). */
export interface ResolvedConnection {
  readonly connection: RedisConnection;
  readonly owned: boolean;
}

/** Checks a `client` option eagerly, so a wrong value throws from the constructor. */
export function checkClientOption(client: unknown, owner: string): void {
  if (typeof client === "string") {
    let url: URL;
    try {
      url = new URL(client);
    } catch (error) {
      throw new CacheError("INVALID_OPTION", "`client` must be a Redis client or a redis:// URL", {
        tier: owner,
        cause: error,
      });
    }
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
      throw new CacheError("INVALID_OPTION", "`client` URL must use redis:// or rediss://", { tier: owner });
    }
    return;
  }
  if (!isIORedisClient(client) && !isNodeRedisLike(client)) {
    throw new CacheError(
      "INVALID_OPTION",
      "`client` must be an ioredis Redis or Cluster, a node-redis client or cluster, or a redis:// URL",
      { tier: owner },
    );
  }
}

interface IORedisModule {
  Redis: new (url: string, options: object) => IORedisClient;
}

/**
 * Resolves the `client` option. A URL loads ioredis lazily and creates a client that the caller
 * owns; its connection errors go to `onError` (never to ioredis's "Unhandled error event" on
 * stderr), and it reconnects forever with a capped backoff so the owner comes back by itself.
 */
export async function resolveConnection(
  client: RedisConnectionInput,
  owner: string,
  onError: (error: unknown) => void,
): Promise<ResolvedConnection> {
  if (typeof client !== "string") {
    const connection = isIORedisClient(client) ? ioredisConnection(client) : nodeRedisConnection(client);
    return { connection, owned: false };
  }
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
  if (Redis === undefined) {
    throw new CacheError("INVALID_OPTION", "the ioredis module has no Redis export", { tier: owner });
  }
  const created = new Redis(client, {
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
  });
  created.on("error", onError);
  return { connection: ioredisConnection(created), owned: true };
}

/** The message of an unknown error. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
