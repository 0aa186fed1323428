import { randomBytes } from "node:crypto";
import type { DedicatedConnection, RedisConnection } from "../connection/redis-connection.js";
import { streamInfoReply, streamReadReply } from "../connection/stream-replies.js";
import type { BusTransport, TransportHost } from "./bus-transport.js";

/** Settings of {@link StreamTransport}. */
export interface StreamTransportSettings {
  /** Stream key; its epoch key is `<key prefix up to the hash tag>:epoch`. */
  readonly key: string;
  readonly epochKey: string;
  readonly maxLen: number | undefined;
  readonly maxAge: number | undefined;
  readonly blockMs: number;
  readonly connectionName: string;
}

/** Entries asked for per XREAD. */
const READ_COUNT = 1_000;

/** Compares two stream ids (`ms-seq`). */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = "0", aSeq = "0"] = a.split("-");
  const [bMs = "0", bSeq = "0"] = b.split("-");
  const ms = BigInt(aMs) - BigInt(bMs);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(aSeq) - BigInt(bSeq);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/**
 * Redis Streams: XADD (trimmed with `MAXLEN ~` or `MINID ~`) on the user's connection, and a
 * reader loop doing `XREAD BLOCK` from the last id it saw, on a connection of its own (a blocking
 * read would stall every other command queued on a shared connection).
 *
 * After any interruption the loop resumes from its last id, so nothing is lost, and reports
 * `mayHaveMissedMessages: false`, unless:
 * - the stream was trimmed past that id (`XINFO STREAM` → `max-deleted-entry-id`, Redis 7; on
 *   older servers, a first entry newer than the last id counts as a possible gap), or
 * - the stream itself was lost (a restart without persistence, a FLUSHALL, a failover to a replica
 *   that had not seen the key): detected through a random epoch stored next to the stream with
 *   `SET NX`, which vanishes with it.
 */
export class StreamTransport implements BusTransport {
  readonly #connection: RedisConnection;
  readonly #settings: StreamTransportSettings;
  readonly #host: TransportHost;
  #reader: DedicatedConnection | undefined;
  #lastId = "0-0";
  #epoch: string | undefined;
  #interrupted = false;
  #closed = false;
  #loop: Promise<void> | undefined;
  #started: Promise<void> | undefined;
  readonly #wakers = new Set<() => void>();

  constructor(connection: RedisConnection, settings: StreamTransportSettings, host: TransportHost) {
    this.#connection = connection;
    this.#settings = settings;
    this.#host = host;
  }

  start(): Promise<void> {
    if (this.#started !== undefined) return this.#started;
    let resolveStarted!: () => void;
    this.#started = new Promise<void>((resolve) => (resolveStarted = resolve));
    this.#loop = this.#open().then(
      (reader) => (reader === undefined ? resolveStarted() : this.#run(reader, resolveStarted)),
      (error: unknown) => {
        if (!this.#closed) this.#host.error("bus stream reader connection failed", error);
        resolveStarted();
      },
    );
    return this.#started;
  }

  /** Opens the reader connection; `undefined` when closed meanwhile. */
  async #open(): Promise<DedicatedConnection | undefined> {
    const reader = await this.#connection.dedicated({
      purpose: "blocking",
      key: this.#settings.key,
      // The grace is generous: on a loaded machine a late reply is not a lost connection.
      blockingTimeout: this.#settings.blockMs + 2_000,
      name: this.#settings.connectionName,
    });
    if (reader === undefined) throw new Error("no connection for the stream reader");
    if (this.#closed) {
      reader.disconnect();
      return undefined;
    }
    this.#reader = reader;
    reader.on("close", () => {
      this.#interrupted = true;
    });
    reader.on("ready", () => this.#wake());
    reader.on("error", (error) => {
      if (!this.#closed) this.#host.error("bus stream reader connection error", error);
    });
    return reader;
  }

  async send(payload: string): Promise<void> {
    const { key, maxLen, maxAge } = this.#settings;
    if (maxAge !== undefined) {
      await this.#connection.call(
        ["XADD", key, "MINID", "~", String(Date.now() - maxAge), "*", "m", payload],
        key,
      );
    } else {
      await this.#connection.call(
        ["XADD", key, "MAXLEN", "~", String(maxLen ?? 10_000), "*", "m", payload],
        key,
      );
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wake();
    // A blocked XREAD would hold a QUIT back for up to `blockMs`: drop the connection instead.
    this.#reader?.disconnect();
    await this.#loop;
  }

  /** The last stream id delivered (for tests and diagnostics). */
  get lastId(): string {
    return this.#lastId;
  }

  async #run(reader: DedicatedConnection, started: () => void): Promise<void> {
    let backoff = 50;
    let positioned = false;
    while (!this.#closed) {
      try {
        await this.#untilReady(reader);
        if (this.#closed) break;
        if (!positioned) {
          // Start after the newest entry: what was published before this bus existed is not ours.
          const newest = (await reader.call(["XREVRANGE", this.#settings.key, "+", "-", "COUNT", "1"])) as [
            string,
          ][];
          this.#lastId = newest[0]?.[0] ?? "0-0";
          this.#epoch = await this.#ensureEpoch(reader);
          positioned = true;
          this.#interrupted = false;
          started();
        } else if (this.#interrupted) {
          this.#interrupted = false;
          const missed = await this.#checkGap(reader);
          this.#host.reconnected(missed);
        }
        const reply = streamReadReply(
          await reader.call([
            "XREAD",
            "COUNT",
            String(READ_COUNT),
            "BLOCK",
            String(this.#settings.blockMs),
            "STREAMS",
            this.#settings.key,
            this.#lastId,
          ]),
        );
        backoff = 50;
        if (this.#interrupted) {
          // The connection dropped while the read was in flight; check the gap before going on.
          this.#interrupted = false;
          const missed = await this.#checkGap(reader);
          this.#host.reconnected(missed);
        }
        for (const [, entries] of reply) {
          for (const [id, fields] of entries) {
            if (compareStreamIds(id, this.#lastId) <= 0) continue;
            this.#lastId = id;
            const index = fields?.indexOf("m") ?? -1;
            if (index !== -1 && index + 1 < fields!.length) this.#host.deliver(String(fields![index + 1]));
          }
        }
      } catch (error) {
        if (this.#closed) break;
        // Only a closed connection counts as an interruption (its "close" event says so); a
        // failed or timed-out read is retried from the same id, so it can lose nothing.
        this.#host.error("bus stream read failed", error);
        await this.#sleep(backoff);
        backoff = Math.min(backoff * 2, 1_000);
      }
    }
    started();
  }

  /** True when entries after the last id may be gone for good. */
  async #checkGap(reader: DedicatedConnection): Promise<boolean> {
    const epoch = (await reader.call(["GET", this.#settings.epochKey])) as string | null;
    if (epoch !== this.#epoch) {
      // The stream's data was lost: read the new stream from its start.
      this.#epoch = await this.#ensureEpoch(reader);
      this.#lastId = "0-0";
      return true;
    }
    let fields: Map<string, unknown>;
    try {
      fields = streamInfoReply(await reader.call(["XINFO", "STREAM", this.#settings.key]));
    } catch (error) {
      if (/no such key/i.test(String(error))) return this.#lastId !== "0-0";
      throw error;
    }
    const lastId = this.#lastId;
    // XDEL (Redis 7) records the newest id it deleted.
    const maxDeleted = fields.get("max-deleted-entry-id");
    if (typeof maxDeleted === "string" && compareStreamIds(maxDeleted, lastId) > 0) return true;
    // Trimming removes the oldest entries. Entries after ours may be gone when the oldest left is
    // newer than ours, or when none is left but some were added after ours. (It may also be that
    // nothing was ever written in between; that cannot be told apart, so it counts as a gap.)
    const length = Number(fields.get("length") ?? 0);
    const added = fields.get("entries-added");
    const wasTrimmed = typeof added === "number" ? added > length : lastId !== "0-0";
    if (!wasTrimmed) return false;
    const first = fields.get("first-entry") as [string, unknown] | null | undefined;
    if (first != null) return compareStreamIds(first[0], lastId) > 0;
    const lastGenerated = fields.get("last-generated-id");
    return typeof lastGenerated === "string" && compareStreamIds(lastGenerated, lastId) > 0;
  }

  async #ensureEpoch(reader: DedicatedConnection): Promise<string> {
    await reader.call(["SET", this.#settings.epochKey, randomBytes(12).toString("base64url"), "NX"]);
    return ((await reader.call(["GET", this.#settings.epochKey])) as string | null) ?? "";
  }

  #untilReady(reader: DedicatedConnection): Promise<void> {
    if (reader.status() === "ready" || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#wakers.delete(done);
        resolve();
      };
      this.#wakers.add(done);
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakers.add(done);
    });
  }

  #wake(): void {
    for (const waker of [...this.#wakers]) waker();
  }
}
