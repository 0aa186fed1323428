// Imports the main entry by package name (kept external by tsup) so that CacheError exists once.
import { CacheError, systemClock, toMilliseconds, toPositiveMilliseconds } from "@cachet/tier";
import type {
  CacheEntry,
  CacheTier,
  Clock,
  ConditionalWriteResult,
  ConditionalWrites,
  Duration,
  EntryVersion,
  Milliseconds,
} from "@cachet/tier";

/** The operations of a {@link MockCache} that are recorded and can fail or be delayed. */
export type MockCacheOperation =
  | "get"
  | "insert"
  | "invalidate"
  | "clear"
  | "size"
  | "getMany"
  | "insertMany"
  | "invalidateMany"
  | "close"
  | "getVersioned"
  | "insertIfVersion";

/** One recorded call to a {@link MockCache}. */
export interface MockCacheCall<K> {
  /** Which operation was called. */
  readonly op: MockCacheOperation;
  /** The key for single-key operations, the keys (in order) for batch ones, `undefined` for the rest. */
  readonly key: K | readonly K[] | undefined;
  /** The clock's time when the call was made, in epoch ms. */
  readonly at: number;
}

/** Options for {@link MockCache}. */
export interface MockCacheOptions {
  /** Time source for expiry, `cachedAt` stamps, call times and delays. Tests pass a `ManualClock`. @default systemClock */
  clock?: Clock | undefined;
  /** Default ttl for entries inserted without one. `undefined` means such entries never expire. @default undefined */
  ttl?: Duration | undefined;
  /** The tier's {@link CacheTier.name}, used in errors. @default "mock" */
  name?: string | undefined;
  /**
   * Offer the conditional-writes capability ({@link CacheTier.conditionalWrites}), a reference
   * implementation of its contract: versions from a counter, tombstones for `tombstoneTtl` on the
   * injected clock. Its two operations are recorded and take faults like the others.
   * @default undefined (no capability)
   */
  conditionalWrites?: { tombstoneTtl: Duration } | undefined;
}

/** Version state of one key; absent from the map means "absent, no tombstone". */
interface KeyVersion {
  readonly n: number;
  readonly writtenAt: number;
  /** Set for a tombstone: when it expires. */
  readonly tombstoneUntil: number | undefined;
}

/**
 * An in-memory {@link CacheTier} for unit tests: it records every call and injects failures and
 * latency per operation, deterministically.
 *
 * It honours the whole tier contract (and passes the conformance kit): entries without `cachedAt`
 * are stamped with the clock, entries without `ttl` get the default `ttl`, an entry is gone at
 * `cachedAt + ttl + staleFor`, `get` returns the effective `ttl` and `cachedAt`, and after
 * `close()` every call rejects with `CLOSED`.
 *
 * Faults never use randomness. A delay is a timer on the injected clock, so with a `ManualClock`
 * the operation's promise settles only when the test advances time. An injected failure rejects
 * after the delay, if both are set. Calls are recorded when they are made, even those that fail.
 *
 * @example
 * const clock = new ManualClock();
 * const tier = new MockCache<string, User>({ clock, ttl: "1m" });
 * tier.failNext("get");                     // the next get rejects with TIER_FAILURE
 * tier.delay("insert", 50);                 // inserts settle after clock.advance(50)
 * expect(tier.calls.filter((c) => c.op === "get")).toHaveLength(2);
 */
export class MockCache<K, V> implements CacheTier<K, V> {
  readonly name: string;
  readonly #clock: Clock;
  readonly #defaultTtl: Milliseconds | undefined;
  readonly #entries = new Map<K, CacheEntry<V>>();
  readonly #calls: MockCacheCall<K>[] = [];
  readonly #failNext = new Map<MockCacheOperation, Error[]>();
  readonly #failAll = new Map<MockCacheOperation, Error | undefined>();
  readonly #delays = new Map<MockCacheOperation, Milliseconds>();
  readonly #versions = new Map<K, KeyVersion>();
  readonly #tombstoneTtl: Milliseconds | undefined;
  #lastVersion = 0;
  #closed = false;

  readonly conditionalWrites: ConditionalWrites<K, V> | undefined;

  /** @throws CacheError `INVALID_OPTION` when `ttl` is not a valid duration or `name` is empty. */
  constructor(options: MockCacheOptions = {}) {
    if (options.name !== undefined && (typeof options.name !== "string" || options.name === "")) {
      throw new CacheError("INVALID_OPTION", "`name` must be a non-empty string");
    }
    this.name = options.name ?? "mock";
    this.#clock = options.clock ?? systemClock;
    this.#defaultTtl = options.ttl === undefined ? undefined : toMilliseconds(options.ttl, "ttl");
    const conditional = options.conditionalWrites;
    if (conditional !== undefined) {
      const tombstoneTtl = toPositiveMilliseconds(conditional.tombstoneTtl, "conditionalWrites.tombstoneTtl");
      this.#tombstoneTtl = tombstoneTtl;
      this.conditionalWrites = {
        tombstoneTtl,
        getVersioned: (key) =>
          this.#run("getVersioned", key, () => {
            const entry = this.#read(key);
            return { entry, version: this.#versionOf(key) };
          }),
        insertIfVersion: (key, entry, expected) =>
          this.#run("insertIfVersion", key, () => this.#insertIfVersion(key, entry, expected)),
      };
    }
  }

  /** Every call made so far, oldest first. */
  get calls(): readonly MockCacheCall<K>[] {
    return this.#calls;
  }

  /** True once {@link MockCache.close} has been called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Forgets the recorded calls (not the entries, faults or delays). */
  reset(): void {
    this.#calls.length = 0;
  }

  /**
   * Makes the next call of `op` reject with `error`, once. Calls queue up: two `failNext("get")`
   * fail the next two gets.
   * @param error - @default a fresh `CacheError("TIER_FAILURE", "injected failure")` per call
   */
  failNext(op: MockCacheOperation, error?: Error): this {
    const queue = this.#failNext.get(op) ?? [];
    queue.push(error ?? this.#injected());
    this.#failNext.set(op, queue);
    return this;
  }

  /**
   * Makes every call of `op` reject with `error` until {@link MockCache.heal}.
   * @param error - @default a fresh `CacheError("TIER_FAILURE", "injected failure")` per call
   */
  failAll(op: MockCacheOperation, error?: Error): this {
    this.#failAll.set(op, error);
    return this;
  }

  /**
   * Delays every later call of `op` by `ms` on the injected clock, until {@link MockCache.heal} or
   * `delay(op, 0)`. The operation takes effect, and its promise settles, when the delay has passed.
   * @throws CacheError `INVALID_OPTION` when `ms` is negative or not finite.
   */
  delay(op: MockCacheOperation, ms: Duration): this {
    const delayMs = toMilliseconds(ms, "ms");
    if (delayMs === 0) this.#delays.delete(op);
    else this.#delays.set(op, delayMs);
    return this;
  }

  /** Removes the failures (one-shot and persistent) and delays of `op`, or of every operation. */
  heal(op?: MockCacheOperation): this {
    if (op === undefined) {
      this.#failNext.clear();
      this.#failAll.clear();
      this.#delays.clear();
    } else {
      this.#failNext.delete(op);
      this.#failAll.delete(op);
      this.#delays.delete(op);
    }
    return this;
  }

  /** The stored entry for `key`, without recording a call, applying faults or checking expiry. */
  peek(key: K): CacheEntry<V> | undefined {
    return this.#entries.get(key);
  }

  get(key: K): Promise<CacheEntry<V> | undefined> {
    return this.#run("get", key, () => this.#read(key));
  }

  insert(key: K, entry: CacheEntry<V>): Promise<void> {
    return this.#run("insert", key, () => this.#write(key, entry));
  }

  invalidate(key: K): Promise<void> {
    return this.#run("invalidate", key, () => this.#delete(key));
  }

  clear(): Promise<void> {
    return this.#run("clear", undefined, () => {
      this.#entries.clear();
      this.#versions.clear();
    });
  }

  /** Number of stored entries; like the contract allows, it counts expired entries not yet read. */
  size(): Promise<number> {
    return this.#run("size", undefined, () => this.#entries.size);
  }

  getMany(keys: readonly K[]): Promise<(CacheEntry<V> | undefined)[]> {
    return this.#run("getMany", [...keys], () => keys.map((key) => this.#read(key)));
  }

  insertMany(entries: readonly (readonly [K, CacheEntry<V>])[]): Promise<void> {
    return this.#run(
      "insertMany",
      entries.map(([key]) => key),
      () => {
        for (const [key, entry] of entries) this.#write(key, entry);
      },
    );
  }

  invalidateMany(keys: readonly K[]): Promise<void> {
    return this.#run("invalidateMany", [...keys], () => {
      for (const key of keys) this.#delete(key);
    });
  }

  /** Marks the tier closed and drops its entries. Idempotent; faults and delays on `close` apply. */
  close(): Promise<void> {
    return this.#run("close", undefined, () => {
      this.#closed = true;
      this.#entries.clear();
      this.#versions.clear();
    });
  }

  #read(key: K): CacheEntry<V> | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const retainUntil = entry.retainUntil;
    if (retainUntil !== undefined && this.#clock.now() >= retainUntil) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #write(key: K, entry: CacheEntry<V>): void {
    const now = this.#clock.now();
    const cachedAt = entry.cachedAt ?? now;
    const ttl = entry.ttl ?? this.#defaultTtl;
    const stored =
      cachedAt === entry.cachedAt && ttl === entry.ttl && !entry.isStale
        ? entry
        : entry.with({ cachedAt, ttl, isStale: false });
    if (this.#tombstoneTtl !== undefined && ttl !== undefined && now >= cachedAt + ttl + entry.staleFor) {
      // Already expired: with versions, storing it means invalidating the key.
      this.#delete(key);
      return;
    }
    this.#entries.set(key, stored);
    if (this.#tombstoneTtl !== undefined) {
      this.#versions.set(key, { n: ++this.#lastVersion, writtenAt: now, tombstoneUntil: undefined });
    }
  }

  #delete(key: K): void {
    this.#entries.delete(key);
    if (this.#tombstoneTtl === undefined) return;
    const now = this.#clock.now();
    this.#versions.set(key, {
      n: ++this.#lastVersion,
      writtenAt: now,
      tombstoneUntil: now + this.#tombstoneTtl,
    });
  }

  /** The key's current version: its entry's, its live tombstone's, or "absent" (`0`). */
  #versionOf(key: K): EntryVersion {
    const now = this.#clock.now();
    let state = this.#versions.get(key);
    if (state !== undefined) {
      const gone =
        state.tombstoneUntil === undefined ? this.#read(key) === undefined : now >= state.tombstoneUntil;
      if (gone) {
        this.#versions.delete(key);
        state = undefined;
      }
    }
    // The read time travels in the token: a version of an absent key is honoured for tombstoneTtl.
    return state === undefined
      ? { token: `0@${now}`, writtenAt: undefined }
      : { token: String(state.n), writtenAt: state.writtenAt };
  }

  #insertIfVersion(key: K, entry: CacheEntry<V>, expected: EntryVersion): ConditionalWriteResult {
    const [n, readAt = 0] = expected.token.split("@").map(Number) as [number, number?];
    const current = Number(this.#versionOf(key).token.split("@")[0]);
    if (current !== n) return { written: false, reason: "conflict" };
    if (n === 0 && this.#clock.now() - readAt >= this.#tombstoneTtl!) {
      return { written: false, reason: "expired-token" };
    }
    this.#write(key, entry);
    return { written: true, version: this.#versionOf(key) };
  }

  #injected(): CacheError {
    return new CacheError("TIER_FAILURE", "injected failure", { tier: this.name });
  }

  async #run<T>(op: MockCacheOperation, key: K | readonly K[] | undefined, action: () => T): Promise<T> {
    this.#calls.push({ op, key, at: this.#clock.now() });
    if (this.#closed && op !== "close") throw this.#closedError(op);
    let failure: Error | undefined = this.#failNext.get(op)?.shift();
    if (failure === undefined && this.#failAll.has(op)) failure = this.#failAll.get(op) ?? this.#injected();
    const delayMs = this.#delays.get(op);
    if (delayMs !== undefined) {
      await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, delayMs));
    }
    if (failure !== undefined) throw failure;
    if (this.#closed && op !== "close") throw this.#closedError(op);
    return action();
  }

  #closedError(op: MockCacheOperation): CacheError {
    return new CacheError("CLOSED", `\`${op}\` called on tier \`${this.name}\` after close()`, {
      tier: this.name,
    });
  }
}
