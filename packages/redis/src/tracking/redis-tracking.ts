/**
 * `RedisTracking`: the external-changes capability of a `RedisTier` with `tracking` on, built on
 * Redis's `CLIENT TRACKING` in broadcast mode (https://redis.io/docs/latest/develop/reference/client-side-caching/).
 *
 * Owns one tracking session per master: a connection of its own (see `tracking-connection.ts`)
 * that runs `CLIENT TRACKING ON REDIRECT <its own id> BCAST PREFIX <tier prefix>:` and subscribes to
 * `__redis__:invalidate`, so Redis sends it the key of every write, removal, expiry and eviction
 * under the prefix, by any client, and a null message on `FLUSHDB`/`FLUSHALL`.
 *
 * Invariants:
 * - `isWatching` is true only while every current master has a session that finished its set-up;
 *   it turns false, and `everything`/`lost` is reported, as soon as one session is lost or the set
 *   of masters changes (failover, resharding to a new node), and back, with `watching`, once every
 *   master has a session again. A lost session is never resumed: a new one starts after a delay.
 * - "Master" means a node that serves slots now, as the cluster itself says at each check: after a
 *   failover the demoted node (now a replica) serves none, so its session is ended and does not
 *   count, even though its connection is fine and the client's slot map may still name it.
 * - Keys are reported only while watching (an invalidation before the set-up completed changes
 *   nothing: the cache drops everything when watching starts).
 * - Never throws into the client's event emitters; listener errors are ignored.
 */
import { CacheError } from "@cachet/tier";
import type { ExternalChange, ExternalChangeReason, ExternalChanges } from "@cachet/tier";
import type { TrackingConnection, TrackingNode } from "./tracking-connection.js";

/** What the tier gives its tracking. @internal */
export interface RedisTrackingHost<K> {
  readonly tier: string;
  /**
   * The masters, read again at each check (a Cluster's change after failover or resharding). On a
   * Cluster, a Promise: the slot owners as the cluster says now, not the client's slot map.
   */
  readonly nodes: () => readonly TrackingNode[] | Promise<readonly TrackingNode[]>;
  /** Turns a Redis key under the prefix into the cache's key; `undefined` for a key it cannot read. */
  readonly decodeKey: (redisKey: Buffer) => K | undefined;
  /** For Clusters: how often the set of masters is compared with the sessions, in ms. */
  readonly topologyCheck: number | undefined;
  /** Reports a tracking failure to the tier's `onEvent` (never throws). */
  readonly report: (message: string, cause?: unknown) => void;
}

/** One master's tracking connection, from opening to loss. */
interface Session {
  readonly address: string;
  connection: TrackingConnection | undefined;
  isWatching: boolean;
  isClosed: boolean;
  retryTimer: NodeJS.Timeout | undefined;
  failures: number;
}

const FIRST_RETRY = 50;
const MAX_RETRY = 2_000;

/** @internal */
export class RedisTracking<K> implements ExternalChanges<K> {
  #isWatching = false;
  readonly #listeners = new Set<(change: ExternalChange<K>) => void>();
  readonly #sessions = new Map<string, Session>();
  readonly #host: RedisTrackingHost<K>;
  #prefix: string | undefined;
  #checkTimer: NodeJS.Timeout | undefined;
  /** A check is waiting for the list of masters: a second one would only repeat it. */
  #isChecking = false;
  #closed = false;
  /** Settles when tracking first works, or fails with a server that refuses it. */
  readonly ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (error: CacheError) => void;

  constructor(host: RedisTrackingHost<K>) {
    this.#host = host;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => undefined);
  }

  get isWatching(): boolean {
    return this.#isWatching;
  }

  subscribe(listener: (change: ExternalChange<K>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts tracking `<prefix>:` (the escaped prefix) on every master. Idempotent. */
  start(prefix: string): void {
    if (this.#prefix !== undefined || this.#closed) return;
    this.#prefix = `${prefix}:`;
    this.#reconcile("started");
    const every = this.#host.topologyCheck;
    if (every !== undefined) {
      this.#checkTimer = setInterval(() => this.#reconcile("topology changed"), every);
      this.#checkTimer.unref();
    }
  }

  /** Closes every session; reports `lost` once if it was watching. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#checkTimer);
    for (const session of this.#sessions.values()) this.#end(session);
    this.#sessions.clear();
    this.#update("tier closed");
    this.#rejectReady(
      new CacheError("CLOSED", `tier "${this.#host.tier}" was closed`, { tier: this.#host.tier }),
    );
  }

  /** Brings the sessions in line with the current masters. */
  #reconcile(why: string): void {
    if (this.#closed || this.#prefix === undefined || this.#isChecking) return;
    let nodes: readonly TrackingNode[] | Promise<readonly TrackingNode[]>;
    try {
      nodes = this.#host.nodes();
    } catch (error) {
      this.#host.report("could not list the Redis masters to track", error);
      return;
    }
    if (!("then" in nodes)) {
      this.#apply(nodes, why);
      return;
    }
    this.#isChecking = true;
    nodes.then(
      (current) => {
        this.#isChecking = false;
        this.#apply(current, why);
      },
      (error: unknown) => {
        // Routine while a node is down or a failover is under way; the next check asks again.
        this.#isChecking = false;
        this.#host.report("could not list the Redis masters to track", error);
      },
    );
  }

  #apply(nodes: readonly TrackingNode[], why: string): void {
    if (this.#closed) return;
    const wanted = new Map(nodes.map((node) => [node.address, node]));
    let changed = false;
    for (const [address, session] of this.#sessions) {
      if (wanted.has(address)) continue;
      this.#end(session);
      this.#sessions.delete(address);
      changed = true;
    }
    for (const [address, node] of wanted) {
      if (this.#sessions.has(address)) continue;
      const session: Session = {
        address,
        connection: undefined,
        isWatching: false,
        isClosed: false,
        retryTimer: undefined,
        failures: 0,
      };
      this.#sessions.set(address, session);
      changed = true;
      void this.#open(session, node);
    }
    if (changed) this.#update(why);
  }

  async #open(session: Session, node: TrackingNode): Promise<void> {
    let connection: TrackingConnection;
    try {
      connection = await node.open();
    } catch (error) {
      this.#retry(session, node, `could not connect to ${session.address} for tracking`, error);
      return;
    }
    if (session.isClosed) {
      connection.close();
      return;
    }
    session.connection = connection;
    connection.onLost((reason) => {
      if (session.isClosed || session.connection !== connection) return;
      session.isWatching = false;
      session.connection = undefined;
      connection.close();
      this.#update(`${reason} (${session.address})`);
      this.#retry(session, node, `${reason} (${session.address})`, undefined);
    });
    try {
      const id = String(await connection.command(["CLIENT", "ID"]));
      await connection.command([
        "CLIENT",
        "TRACKING",
        "ON",
        "REDIRECT",
        id,
        "BCAST",
        "PREFIX",
        this.#prefix!,
      ]);
      await connection.subscribeInvalidations((keys) => this.#onInvalidation(session, keys));
    } catch (error) {
      // Lost during the set-up: the loss handler has already scheduled a new session.
      if (session.connection !== connection) return;
      session.connection = undefined;
      connection.close();
      if (isRefusal(error)) {
        // A server without CLIENT TRACKING (Redis < 6, some managed or compatible servers): never
        // watching, so the cache above keeps no copies; say so once, loudly.
        const refused = new CacheError(
          "INVALID_OPTION",
          `tier "${this.#host.tier}": \`tracking\` needs CLIENT TRACKING (Redis 6+), and ${session.address} refused it: ${describe(error)}`,
          { tier: this.#host.tier, cause: error },
        );
        this.#host.report(refused.message, refused);
        this.#rejectReady(refused);
        return;
      }
      this.#retry(session, node, `tracking set-up failed on ${session.address}`, error);
      return;
    }
    if (session.isClosed) return;
    session.failures = 0;
    session.isWatching = true;
    this.#update(`tracking ${session.address}`);
  }

  #retry(session: Session, node: TrackingNode, message: string, cause: unknown): void {
    if (session.isClosed || this.#closed) return;
    if (cause !== undefined) this.#host.report(message, cause);
    const delay = Math.min(FIRST_RETRY * 2 ** session.failures, MAX_RETRY);
    session.failures++;
    session.retryTimer = setTimeout(() => {
      session.retryTimer = undefined;
      // A Cluster may have replaced this master meanwhile: the check starts the right sessions.
      if (this.#host.topologyCheck !== undefined) this.#reconcile("topology changed");
      if (!session.isClosed && session.connection === undefined) void this.#open(session, node);
    }, delay);
    session.retryTimer.unref();
  }

  #end(session: Session): void {
    session.isClosed = true;
    session.isWatching = false;
    clearTimeout(session.retryTimer);
    session.connection?.close();
    session.connection = undefined;
  }

  /** Recomputes `isWatching` and reports an edge. */
  #update(detail: string): void {
    const watching =
      !this.#closed &&
      this.#sessions.size > 0 &&
      [...this.#sessions.values()].every((session) => session.isWatching);
    if (watching === this.#isWatching) return;
    this.#isWatching = watching;
    if (watching) this.#resolveReady();
    this.#emitEverything(watching ? "watching" : "lost", detail);
  }

  #onInvalidation(session: Session, keys: readonly Buffer[] | null): void {
    if (!session.isWatching || !this.#isWatching) return;
    if (keys === null) {
      this.#emitEverything("flushed", `the database was flushed (${session.address})`);
      return;
    }
    const decoded: K[] = [];
    for (const redisKey of keys) {
      const key = this.#host.decodeKey(redisKey);
      if (key !== undefined) decoded.push(key);
    }
    if (decoded.length > 0) this.#emit({ type: "keys", keys: decoded });
  }

  #emitEverything(reason: ExternalChangeReason, detail: string): void {
    this.#emit({ type: "everything", reason, isWatching: this.#isWatching, detail });
  }

  #emit(change: ExternalChange<K>): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // A listener's bug must not reach the client's event emitter.
      }
    }
  }
}

/** An answer that says the server will never track (unknown command or subcommand, disabled). */
function isRefusal(error: unknown): boolean {
  const text = describe(error);
  return /unknown (sub)?command|ERR.*TRACKING|NOPERM|not allowed|unsupported/i.test(text);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
