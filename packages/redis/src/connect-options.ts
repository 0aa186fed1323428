import { CacheError } from "@cachet/tier";
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

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  "url",
  "host",
  "port",
  "username",
  "password",
  "db",
  "tls",
  "cluster",
  "autoPipelining",
  "ioredis",
]);

/**
 * True for a plain object of connection settings. A plain object with any other key is refused,
 * rather than silently connecting to the default `127.0.0.1:6379` (a mistyped option, or an
 * adapter missing a method).
 *
 * @throws CacheError `INVALID_OPTION` naming the unknown key.
 */
export function isConnectOptions(value: unknown, tier: string): value is RedisConnectOptions {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key of Object.keys(value)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new CacheError(
        "INVALID_OPTION",
        `\`client\` has an unknown connection option \`${key}\` (known: ${[...KNOWN_OPTIONS].join(", ")}); an adapter needs every RedisAdapter method`,
        { tier },
      );
    }
  }
  return true;
}
