/**
 * Batch loads (`getOrInsertMany`): one `loadMany` call for every key no tier had, joining the
 * flights already running for some of them so that no key is loaded twice in this process.
 *
 * Owns the batch's flights from creation to settlement (they sit in the coordinator's flight
 * table, so single-key callers join them too). It must never write a key whose fence ticket went
 * stale while `loadMany` ran, and never leave a flight unsettled when `loadMany` throws.
 */
import { CacheError } from "@cachet/tier";
import type { CacheEntry, Clock } from "@cachet/tier";
import type { CacheEmitter, TraceHook } from "./cache-emitter.js";
import type { CacheCounters } from "./cache-stats.js";
import { isNegative, toEntry } from "./entry-helpers.js";
import { Flight } from "./flight.js";
import type { FenceTicket, KeyFences } from "./key-fences.js";
import type { LoadPolicy } from "./load-policy.js";
import type { BatchLoader } from "./loader.js";
import type { TagLedger } from "./tag-ledger.js";
import type { FencedWrite, TierStack } from "./tier-stack.js";
import type { ValueMode } from "./value-mode.js";
import type { VersionBook } from "./versioned-writes.js";

interface BatchJob<K, V> {
  readonly flight: Flight<V>;
  readonly ticket: FenceTicket<K>;
  /** Where the key occurs in the caller's `keys` (it may occur more than once). */
  readonly indexes: number[];
}

/** @internal */
export class BatchLoads<K, V> {
  readonly #flights: Map<K, Flight<V>>;
  readonly #abandon: (key: K, flight: Flight<V>) => void;
  readonly #stack: TierStack<K, V>;
  readonly #fences: KeyFences<K>;
  readonly #tags: TagLedger<K, V>;
  readonly #counters: CacheCounters;
  readonly #emitter: CacheEmitter<K>;
  readonly #clock: Clock;
  readonly #valueMode: ValueMode;
  readonly #stampede: boolean;
  readonly #traceLoader: TraceHook | undefined;

  constructor(options: {
    /** The coordinator's flight table, shared. */
    flights: Map<K, Flight<V>>;
    /** Called when every caller of a joined flight gave up. */
    abandon: (key: K, flight: Flight<V>) => void;
    stack: TierStack<K, V>;
    fences: KeyFences<K>;
    tags: TagLedger<K, V>;
    counters: CacheCounters;
    emitter: CacheEmitter<K>;
    clock: Clock;
    valueMode: ValueMode;
    stampede: boolean;
    traceLoader: TraceHook | undefined;
  }) {
    this.#flights = options.flights;
    this.#abandon = options.abandon;
    this.#stack = options.stack;
    this.#fences = options.fences;
    this.#tags = options.tags;
    this.#counters = options.counters;
    this.#emitter = options.emitter;
    this.#clock = options.clock;
    this.#valueMode = options.valueMode;
    this.#stampede = options.stampede;
    this.#traceLoader = options.traceLoader;
  }

  /**
   * Loads the keys `entries` lacks; `entries` is what the tiers had, in the order of `keys`.
   * @throws CacheError `LOADER` when `loadMany` fails (every key it was asked for fails together).
   */
  async load(
    keys: readonly K[],
    entries: readonly (CacheEntry<V> | undefined)[],
    loadMany: BatchLoader<K, V>,
    options: { policy: LoadPolicy<V>; signal: AbortSignal | undefined },
  ): Promise<(V | undefined)[]> {
    const { policy, signal } = options;
    const results: (V | undefined)[] = entries.map((entry) => entry?.value);
    const waits: Promise<void>[] = [];
    const toLoad = new Map<K, BatchJob<K, V>>();
    for (let i = 0; i < keys.length; i++) {
      if (entries[i] !== undefined) continue;
      const key = keys[i]!;
      const own = toLoad.get(key);
      if (own !== undefined) {
        own.indexes.push(i);
        continue;
      }
      const existing = this.#stampede ? this.#flights.get(key) : undefined;
      if (existing !== undefined) {
        this.#counters.coalesced++;
        const index = i;
        waits.push(
          existing
            .wait(signal, () => this.#abandon(key, existing))
            .then((entry) => {
              results[index] = entry === undefined || isNegative(entry) ? undefined : entry.value;
            }),
        );
        continue;
      }
      const flight = Flight.forCallers<V>();
      flight.pinned = true;
      if (this.#stampede) this.#flights.set(key, flight);
      toLoad.set(key, { flight, ticket: this.#fences.acquire(key), indexes: [i] });
    }
    if (toLoad.size > 0) await this.#runBatch(toLoad, { loadMany, policy, signal, results });
    await Promise.all(waits);
    return results;
  }

  /** The versions of `keys` in the tiers with conditional writes, when there are such tiers. */
  async #readVersions(keys: readonly K[]): Promise<Map<K, VersionBook> | undefined> {
    const versioned = this.#stack.versioned;
    if (!versioned.any) return undefined;
    const books = new Map<K, VersionBook>();
    const tiers = this.#stack.slots.length;
    await Promise.all(
      keys.map((key) => {
        const book = versioned.book()!;
        books.set(key, book);
        return versioned.fill(key, book, tiers, "getOrInsertMany");
      }),
    );
    return books;
  }

  async #runBatch(
    toLoad: Map<K, BatchJob<K, V>>,
    batch: {
      loadMany: BatchLoader<K, V>;
      policy: LoadPolicy<V>;
      signal: AbortSignal | undefined;
      results: (V | undefined)[];
    },
  ): Promise<void> {
    const { policy, signal, results } = batch;
    const emitter = this.#emitter;
    const missing = [...toLoad.keys()];
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#counters.loads++;
    const started = this.#clock.now();
    try {
      // Tiers with conditional writes: the versions the write-backs are conditioned on, read first.
      const books = await this.#readVersions(missing);
      if (emitter.observed()) emitter.emit("loader_started", "getOrInsertMany", undefined, undefined);
      const run = () =>
        Promise.resolve(batch.loadMany(missing, { signal: controller.signal, background: false }));
      const trace = this.#traceLoader;
      const loaded = await (trace
        ? trace(emitter.traced({ key: undefined, operation: "getOrInsertMany", background: false }), run)
        : run());
      const map = loaded instanceof Map ? (loaded as ReadonlyMap<K, V | CacheEntry<V>>) : new Map(loaded);
      const now = this.#clock.now();
      const writes: FencedWrite<K, V>[] = [];
      for (const [key, job] of toLoad) {
        const result = map.get(key);
        if (result === undefined) {
          job.flight.settle(undefined);
          continue;
        }
        const entry = toEntry(result, {
          policy,
          stampedAt: this.#tags.stamp(now),
          valueMode: this.#valueMode,
        });
        writes.push([key, entry, job.ticket, books?.get(key)]);
        job.flight.settle(entry);
        for (const index of job.indexes) results[index] = entry.value;
      }
      emitter.emit("loaded", "getOrInsertMany", undefined, undefined, {
        durationMs: this.#clock.now() - started,
      });
      await this.#stack.writeMany(writes);
    } catch (error) {
      this.#counters.loadErrors++;
      const failure = new CacheError("LOADER", "`loadMany` failed", { cause: error });
      for (const job of toLoad.values()) job.flight.fail(failure);
      emitter.emit("loader_failed", "getOrInsertMany", undefined, undefined, {
        error,
        durationMs: this.#clock.now() - started,
      });
      throw failure;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      for (const [key, job] of toLoad) {
        if (this.#flights.get(key) === job.flight) this.#flights.delete(key);
        this.#fences.release(job.ticket);
      }
    }
  }
}
