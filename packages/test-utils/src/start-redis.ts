import { findFreePort } from "./free-port.js";
import { requireRedisBinaries } from "./find-redis.js";
import { RedisProcess } from "./redis-process.js";

/** Options for {@link startRedis}. */
export interface StartRedisOptions {
  /** Extra `redis-server` arguments, e.g. `["--maxmemory", "10mb"]`. */
  args?: readonly string[];
  /**
   * Always spawn a server this test controls, even when `REDIS_URL` is set. Fault tests (kill,
   * restart, pause) need this.
   * @default false
   */
  own?: boolean;
  /** How long to wait for the server to answer PING. @default 10_000 */
  startTimeout?: number;
}

/** Connection options in the shape both ioredis and node-redis socket options accept. */
export interface RedisClientOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
}

/** A Redis server for a test: one the harness spawned, or the external one named by `REDIS_URL`. */
export interface RedisHandle {
  /** `redis://host:port` (or `REDIS_URL` itself). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Options to build a client from. */
  readonly clientOptions: RedisClientOptions;
  /** The server's pid while the harness runs it; `undefined` for an external server or when stopped. */
  readonly pid: number | undefined;
  /** True when this is the external `REDIS_URL` server, which the harness cannot kill or restart. */
  readonly isExternal: boolean;
  /** Stops the server and removes its temp dir. A no-op for an external server. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash. @throws for an external server. */
  kill(): Promise<void>;
  /** Starts the server again on the same port with the same arguments (data may be lost). */
  restart(): Promise<void>;
  /** SIGSTOP: the server keeps its connections but stops answering. */
  pause(): void;
  /** SIGCONT after {@link RedisHandle.pause}. */
  resume(): void;
}

function externalHandle(url: string): RedisHandle {
  const parsed = new URL(url);
  const host = parsed.hostname || "127.0.0.1";
  const port = parsed.port ? Number(parsed.port) : 6379;
  const clientOptions: RedisClientOptions = { host, port };
  if (parsed.username) clientOptions.username = decodeURIComponent(parsed.username);
  if (parsed.password) clientOptions.password = decodeURIComponent(parsed.password);
  const db = parsed.pathname.replace("/", "");
  if (db) clientOptions.db = Number(db);
  const unsupported = (operation: string) => (): never => {
    throw new Error(
      `${operation}() is not possible on the external server from REDIS_URL; call startRedis({ own: true }) for fault tests`,
    );
  };
  return {
    url,
    host,
    port,
    clientOptions,
    pid: undefined,
    isExternal: true,
    stop: () => Promise.resolve(),
    kill: unsupported("kill"),
    restart: unsupported("restart"),
    pause: unsupported("pause"),
    resume: unsupported("resume"),
  };
}

/**
 * Starts a `redis-server` on a free port of 127.0.0.1 (no persistence, its own temp dir) and
 * resolves once it answers PING. When `REDIS_URL` is set (and `own` is not), resolves with a
 * handle for that server instead.
 *
 * @example
 * const redis = await startRedis();
 * const client = new Redis(redis.clientOptions);
 * // ...
 * await client.quit();
 * await redis.stop();
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisHandle> {
  const external = process.env["REDIS_URL"];
  if (!options.own && external) return externalHandle(external);
  const { server } = requireRedisBinaries();
  const port = await findFreePort();
  const proc = new RedisProcess(server, port, options.args ?? [], options.startTimeout ?? 10_000);
  try {
    await proc.start();
  } catch (error) {
    await proc.dispose();
    throw error;
  }
  return {
    url: `redis://${proc.host}:${port}`,
    host: proc.host,
    port,
    clientOptions: { host: proc.host, port },
    get pid() {
      return proc.pid;
    },
    isExternal: false,
    stop: () => proc.dispose(),
    kill: () => proc.kill(),
    restart: async () => {
      await proc.stop();
      await proc.start();
    },
    pause: () => proc.pause(),
    resume: () => proc.resume(),
  };
}
