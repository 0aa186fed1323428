import type { ConnectionOptions } from "node:tls";

/**
 * Connection settings for a client the tier creates and owns (and closes in `close()`). The tier
 * builds it with ioredis, which must be installed.
 */
export interface RedisConnectOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://…` for TLS. Other fields override it. */
  url?: string;
  /** @default "127.0.0.1" */
  host?: string;
  /** @default 6379 */
  port?: number;
  username?: string;
  password?: string;
  /** @default 0 */
  db?: number;
  /** TLS: `true` for defaults, or `node:tls` options. A `rediss://` URL turns it on too. */
  tls?: boolean | ConnectionOptions;
  /** Startup nodes of a Redis Cluster. When given, the tier creates an ioredis `Cluster`. */
  cluster?: readonly { host: string; port: number }[];
  /**
   * Batch commands issued in the same event-loop tick into one write (ioredis
   * `enableAutoPipelining`). See the package README for the measurements behind the default.
   * @default true
   */
  autoPipelining?: boolean;
  /**
   * Further ioredis options, passed through as they are and applied last. Setting
   * `enableOfflineQueue: true` here brings back queueing while Redis is down (calls then wait up
   * to `commandTimeout` and fail with `TIMEOUT`).
   */
  ioredis?: Readonly<Record<string, unknown>>;
}

/** True for a plain object that is not a client: connection settings. */
export function isConnectOptions(value: unknown): value is RedisConnectOptions {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
