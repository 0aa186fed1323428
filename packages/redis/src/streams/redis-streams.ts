import { CacheError, assertKnownOptions, toMilliseconds } from "@cachet/tier";
import type { Duration } from "@cachet/tier";
import type { DedicatedConnection } from "../connection/redis-connection.js";
import type { RedisConnectionInput, ResolvedConnection } from "../connection/resolve-connection.js";
import { checkClientOption, describeError, resolveConnection } from "../connection/resolve-connection.js";
import type { RawStreamEntry } from "../connection/stream-replies.js";
import { streamReadReply } from "../connection/stream-replies.js";

/** One stream entry: its id (`<ms>-<seq>`) and its decoded payload. */
export interface StreamEntry<T> {
  readonly id: string;
  readonly data: T;
}

/** Options for {@link RedisStreams}. */
export interface RedisStreamsOptions<T> {
  /**
   * The Redis connection: an ioredis `Redis` or `Cluster`, or a connected node-redis client or
   * cluster, that you made (never closed), or a `redis://` URL (owned, closed in `close()`).
   * Blocking reads use a second connection the helpers open on first use, so they never stall the
   * commands of this one.
   */
  client: RedisConnectionInput;
  /** Approximate length each stream is trimmed to on append (`MAXLEN ~`); per call with `append(..., { maxLen })`. @default 10_000 */
  maxLen?: number;
  /** Turns a payload into the string stored in the entry's `d` field. @default JSON.stringify */
  serialize?: (data: T) => string;
  /** The inverse of `serialize`. @default JSON.parse */
  parse?: (text: string) => T;
  /**
   * Receives connection errors of the connections the helpers opened (the blocking one, and the
   * client made from a URL). Without it they are dropped, never printed. Exceptions thrown here
   * are ignored.
   */
  onError?: (error: CacheError) => void;
}

const KNOWN_OPTIONS = ["client", "maxLen", "serialize", "parse", "onError"];

/** Options of a blocking or non-blocking read. */
export interface StreamReadOptions {
  /** Most entries returned. @default 100 */
  count?: number;
  /** Wait up to this long for an entry when none is there yet; 0 or absent: do not wait. */
  block?: Duration;
}

/** Result of {@link RedisStreams.claimStale}. */
export interface ClaimResult<T> {
  /** Entries now owned by the claiming consumer. */
  readonly entries: readonly StreamEntry<T>[];
  /** Pass back as `start` to continue the scan; `"0-0"` when the whole pending list was scanned. */
  readonly next: string;
  /** Ids that were pending but no longer exist in the stream (trimmed); acknowledged and dropped by Redis. */
  readonly deleted: readonly string[];
}

const STREAMS_NAME = "redis-streams";
const DATA_FIELD = "d";

type RawEntry = RawStreamEntry;

/**
 * Typed helpers for Redis Streams, for applications that publish and consume events next to
 * their cache: append with automatic trimming, read the latest N, blocking reads from an id, and
 * consumer groups with acknowledgement and claiming of stale pending entries (`XAUTOCLAIM`,
 * Redis 6.2+). Each entry stores one field, `d`, holding the serialized payload.
 *
 * @example
 * const events = new RedisStreams<{ userId: string; action: string }>({ client: redis, maxLen: 100_000 });
 * await events.append("audit", { userId: "42", action: "login" });
 * await events.createGroup("audit", "mailer");
 * for (const entry of await events.readGroup("audit", "mailer", "worker-1", { block: 5_000 })) {
 *   await send(entry.data);
 *   await events.ack("audit", "mailer", entry.id);
 * }
 *
 * @throws {CacheError} `INVALID_OPTION` from the constructor for a bad option. Methods reject with
 * `TIER_FAILURE` when Redis errs, `CODEC` for an entry that `parse` refuses, `CLOSED` after `close()`.
 */
export class RedisStreams<T> {
  readonly #resolved: Promise<ResolvedConnection>;
  readonly #maxLen: number;
  readonly #serialize: (data: T) => string;
  readonly #parse: (text: string) => T;
  readonly #onError: ((error: CacheError) => void) | undefined;
  #blocking: Promise<DedicatedConnection | undefined> | undefined;
  #closed = false;

  constructor(options: RedisStreamsOptions<T>) {
    if (typeof options !== "object" || options === null) {
      throw new CacheError("INVALID_OPTION", "`options` must be an object", { tier: STREAMS_NAME });
    }
    assertKnownOptions(options, KNOWN_OPTIONS, { owner: "RedisStreams", tier: STREAMS_NAME });
    checkClientOption(options.client, STREAMS_NAME);
    this.#maxLen = checkCount(options.maxLen ?? 10_000, "maxLen");
    this.#serialize = options.serialize ?? ((data) => JSON.stringify(data));
    this.#parse = options.parse ?? ((text) => JSON.parse(text) as T);
    this.#onError = options.onError;
    this.#resolved = resolveConnection(options.client, STREAMS_NAME, (error) => this.#report(error));
    this.#resolved.catch(() => undefined);
  }

  /** Appends `data` and trims the stream to about `maxLen` entries; resolves to the new entry's id. */
  async append(stream: string, data: T, options?: { maxLen?: number }): Promise<string> {
    const maxLen = checkCount(options?.maxLen ?? this.#maxLen, "maxLen");
    const text = this.#encode(data);
    return (await this.#call(
      "XADD",
      [stream, "MAXLEN", "~", String(maxLen), "*", DATA_FIELD, text],
      stream,
    )) as string;
  }

  /** The newest `count` entries, oldest first. */
  async latest(stream: string, count: number): Promise<StreamEntry<T>[]> {
    const raw = (await this.#call(
      "XREVRANGE",
      [stream, "+", "-", "COUNT", String(checkCount(count, "count"))],
      stream,
    )) as RawEntry[];
    return this.#decodeAll(raw).reverse();
  }

  /**
   * Entries after `after` (exclusive; `"0-0"` for the start, `"$"` for only new ones when
   * blocking). With `block`, waits up to that long for the first entry, on the helpers' own
   * connection; resolves to `[]` when nothing came.
   */
  async read(stream: string, after: string, options: StreamReadOptions = {}): Promise<StreamEntry<T>[]> {
    const count = checkCount(options.count ?? 100, "count");
    const block = options.block === undefined ? 0 : toMilliseconds(options.block, "block");
    const args = [
      "COUNT",
      String(count),
      ...(block > 0 ? ["BLOCK", String(block)] : []),
      "STREAMS",
      stream,
      after,
    ];
    const reply = streamReadReply(await this.#call("XREAD", args, stream, block > 0));
    return this.#decodeAll(reply[0]?.[1] ?? []);
  }

  /**
   * Creates consumer group `group` on `stream` (creating the stream if needed), starting after
   * `from` (`"$"`: only new entries; `"0"`: everything already there). Resolves to false when the
   * group already existed.
   */
  async createGroup(stream: string, group: string, from = "$"): Promise<boolean> {
    try {
      await this.#call("XGROUP", ["CREATE", stream, group, from, "MKSTREAM"], stream);
      return true;
    } catch (error) {
      if (/BUSYGROUP/.test(describeError(error))) return false;
      throw error;
    }
  }

  /**
   * Reads entries never delivered to any consumer of `group` (`XREADGROUP ... >`); they become
   * pending for `consumer` until acknowledged. With `block`, waits like {@link RedisStreams.read}.
   */
  async readGroup(
    stream: string,
    group: string,
    consumer: string,
    options: StreamReadOptions = {},
  ): Promise<StreamEntry<T>[]> {
    const count = checkCount(options.count ?? 100, "count");
    const block = options.block === undefined ? 0 : toMilliseconds(options.block, "block");
    const args = ["GROUP", group, consumer, "COUNT", String(count)];
    if (block > 0) args.push("BLOCK", String(block));
    args.push("STREAMS", stream, ">");
    const reply = streamReadReply(await this.#call("XREADGROUP", args, stream, block > 0));
    return this.#decodeAll(reply[0]?.[1] ?? []);
  }

  /** Acknowledges entries of `group`; resolves to how many were pending. */
  async ack(stream: string, group: string, ...ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.#call("XACK", [stream, group, ...ids], stream)) as number;
  }

  /**
   * Takes over entries of `group` that have been pending for more than `minIdle` (their consumer
   * died or hangs), giving them to `consumer` (`XAUTOCLAIM`). Call again with `next` until it is
   * `"0-0"` to scan the whole pending list.
   */
  async claimStale(
    stream: string,
    group: string,
    consumer: string,
    options: { minIdle: Duration; count?: number; start?: string },
  ): Promise<ClaimResult<T>> {
    const minIdle = toMilliseconds(options.minIdle, "minIdle");
    const count = checkCount(options.count ?? 100, "count");
    const reply = (await this.#call(
      "XAUTOCLAIM",
      [stream, group, consumer, String(minIdle), options.start ?? "0-0", "COUNT", String(count)],
      stream,
    )) as [string, RawEntry[], string[]?];
    return { next: reply[0], entries: this.#decodeAll(reply[1]), deleted: reply[2] ?? [] };
  }

  /** Closes the blocking connection and, when the client was a URL, the client. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A blocked read would hold a QUIT back: drop the connection.
    (await this.#blocking?.catch(() => undefined))?.disconnect();
    const resolved = await this.#resolved.catch(() => undefined);
    if (resolved?.owned === true) await resolved.connection.close().catch(() => undefined);
  }

  #encode(data: T): string {
    try {
      return this.#serialize(data);
    } catch (error) {
      throw new CacheError("CODEC", `the payload could not be serialized: ${describeError(error)}`, {
        tier: STREAMS_NAME,
        cause: error,
      });
    }
  }

  #decodeAll(raw: readonly RawEntry[]): StreamEntry<T>[] {
    const entries: StreamEntry<T>[] = [];
    for (const [id, fields] of raw) {
      if (fields === null) continue; // XAUTOCLAIM on Redis 6.2 returns deleted entries as nil
      const index = fields.indexOf(DATA_FIELD);
      if (index === -1 || index + 1 >= fields.length) {
        throw new CacheError("CODEC", `stream entry ${id} has no \`${DATA_FIELD}\` field`, {
          tier: STREAMS_NAME,
        });
      }
      try {
        entries.push({ id, data: this.#parse(fields[index + 1]!) });
      } catch (error) {
        throw new CacheError("CODEC", `stream entry ${id} could not be parsed: ${describeError(error)}`, {
          tier: STREAMS_NAME,
          cause: error,
        });
      }
    }
    return entries;
  }

  async #call(command: string, args: string[], key: string, blocking = false): Promise<unknown> {
    if (this.#closed) throw new CacheError("CLOSED", "the stream helpers are closed", { tier: STREAMS_NAME });
    const { connection } = await this.#resolved;
    try {
      if (!blocking) return await connection.call([command, ...args], key);
      this.#blocking ??= this.#openBlocking(connection, key);
      const target = await this.#blocking;
      if (target === undefined) throw new Error("no connection for blocking reads");
      return await target.call([command, ...args], key);
    } catch (error) {
      throw new CacheError("TIER_FAILURE", `${command} failed: ${describeError(error)}`, {
        tier: STREAMS_NAME,
        cause: error,
      });
    }
  }

  async #openBlocking(
    connection: ResolvedConnection["connection"],
    key: string,
  ): Promise<DedicatedConnection | undefined> {
    const blocking = await connection.dedicated({ purpose: "blocking", key, name: "cachet-streams" });
    blocking?.on("error", (error) => this.#report(error));
    if (this.#closed) blocking?.disconnect();
    return blocking;
  }

  #report(error: unknown): void {
    try {
      this.#onError?.(
        new CacheError("TIER_FAILURE", `stream helpers connection error: ${describeError(error)}`, {
          tier: STREAMS_NAME,
          cause: error,
        }),
      );
    } catch {
      // A throwing callback must not break the helpers.
    }
  }
}

function checkCount(value: number, option: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new CacheError("INVALID_OPTION", `\`${option}\` must be a positive integer`, {
      tier: STREAMS_NAME,
    });
  }
  return value;
}
