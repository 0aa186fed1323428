import { CacheError } from "@cachet/tier";
import type { Cluster, Redis, RedisOptions } from "ioredis";
import type { RedisConnectOptions } from "./connect-options.js";
import { importIORedis } from "./import-ioredis.js";

interface IORedisModule {
  Redis: new (options: RedisOptions) => Redis;
  Cluster: new (nodes: { host: string; port: number }[], options: object) => Cluster;
}

async function loadIORedis(tier: string): Promise<IORedisModule> {
  try {
    const mod = (await importIORedis()) as Partial<IORedisModule> & {
      default?: Partial<IORedisModule>;
    };
    const Redis = mod.Redis ?? mod.default?.Redis;
    const Cluster = mod.Cluster ?? mod.default?.Cluster;
    if (!Redis || !Cluster) throw new Error("the ioredis module has no Redis or Cluster export");
    return { Redis, Cluster };
  } catch (error) {
    throw new CacheError(
      "INVALID_OPTION",
      "`client` as a URL or connection options needs the `ioredis` package: install it with `npm install ioredis`, or pass a client you made",
      { tier, cause: error },
    );
  }
}

function fromUrl(url: string, tier: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new CacheError("INVALID_OPTION", "`client` must be a valid redis:// or rediss:// URL", {
      tier,
      cause: error,
    });
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new CacheError(
      "INVALID_OPTION",
      `\`client\` URL must use redis:// or rediss://, got ${parsed.protocol}//`,
      {
        tier,
      },
    );
  }
  const options: RedisOptions = { host: parsed.hostname || "127.0.0.1", port: Number(parsed.port || 6379) };
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  const db = parsed.pathname.slice(1);
  if (db) {
    const n = Number(db);
    if (!Number.isInteger(n) || n < 0)
      throw new CacheError("INVALID_OPTION", `\`client\` URL has an invalid db "${db}"`, { tier });
    options.db = n;
  }
  if (parsed.protocol === "rediss:") options.tls = { servername: parsed.hostname };
  return options;
}

/** Checks connection settings eagerly, so a bad URL throws from the constructor. */
export function resolveConnectOptions(
  input: string | RedisConnectOptions,
  tier: string,
): RedisConnectOptions & { base: RedisOptions } {
  const options: RedisConnectOptions = typeof input === "string" ? { url: input } : input;
  const base: RedisOptions = options.url !== undefined ? fromUrl(options.url, tier) : {};
  if (options.host !== undefined) base.host = options.host;
  if (options.port !== undefined) base.port = options.port;
  if (options.username !== undefined) base.username = options.username;
  if (options.password !== undefined) base.password = options.password;
  if (options.db !== undefined) base.db = options.db;
  if (options.tls === true) base.tls = {};
  else if (options.tls) base.tls = options.tls;
  if (options.cluster !== undefined && options.cluster.length === 0) {
    throw new CacheError("INVALID_OPTION", "`client.cluster` must list at least one startup node", { tier });
  }
  return { ...options, base };
}

/**
 * Creates the ioredis client for a tier that owns its connection. Defaults favour failing fast:
 * no offline queue (a call while Redis is down rejects at once instead of waiting for a
 * reconnect), no resending of in-flight commands after a reconnect (the tier times calls out
 * itself, so ioredis's per-command timer is not set), and reconnection forever with a capped backoff so the tier recovers by itself.
 */
export async function createIORedisClient(
  options: RedisConnectOptions & { base: RedisOptions },
  tier: string,
): Promise<Redis | Cluster> {
  const { Redis, Cluster } = await loadIORedis(tier);
  const perConnection: RedisOptions = {
    ...options.base,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    lazyConnect: false,
  };
  const autoPipelining = options.autoPipelining ?? true;
  if (options.cluster) {
    const { host: _host, port: _port, ...redisOptions } = perConnection;
    return new Cluster(
      options.cluster.map(({ host, port }) => ({ host, port })),
      {
        enableOfflineQueue: false,
        enableAutoPipelining: autoPipelining,
        clusterRetryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
        redisOptions: { ...redisOptions, enableOfflineQueue: true },
        ...options.ioredis,
      },
    );
  }
  return new Redis({ ...perConnection, enableAutoPipelining: autoPipelining, ...options.ioredis });
}
