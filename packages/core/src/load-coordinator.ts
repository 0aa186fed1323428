/**
 * The load coordinator: everything a loading operation (`getOrInsert` and friends) does after L1
 * could not answer it, and every background refresh.
 *
 * Owns the in-process flights (one load per key, shared by every caller: stampede protection),
 * background refresh (time-to-refresh), stale-while-revalidate, fail-safe, fallback values,
 * negative caching and the fleet lock wait; batch loads are delegated to `BatchLoads`, which
 * shares the flight table.
 *
 * Invariants enforced here:
 * - A flight's result is written only while its fence ticket is current and the flight was not
 *   superseded (an insert, invalidate, clear, tag operation or bus message came after it started).
 * - Callers without a signal share one promise per flight and operation: a stampede of a thousand
 *   callers allocates nothing per caller (except in clone mode, where each gets its own copy).
 * - Background work is tracked, so `close()` waits for it and it never rejects unhandled.
 *
 * It must never be reached on an L1 hit, except to start a refresh that is due.
 *
 * Length: about 560 lines, because one flight's life (read below, stale decisions, fleet lock,
 * loader, settle) is one story best read in one file; the batch and `get` paths live elsewhere.
 */
import { CacheEntry, CacheError, isCacheError } from "@cachet/tier";
import type { Clock, LockLease, Milliseconds } from "@cachet/tier";
import type { CacheOperationName } from "@cachet/tier";
import type { CacheEmitter, TraceHook } from "./cache-emitter.js";
import type { CacheCounters } from "./cache-stats.js";
import {
  asStale,
  isKeptByFailSafe,
  isNegative,
  keepForFailSafe,
  negativeEntry,
  newest,
  shareEntry,
  toEntry,
} from "./entry-helpers.js";
import type { BackgroundWork } from "./background-work.js";
import { BatchLoads } from "./batch-loads.js";
import type { FleetLock } from "./fleet-lock.js";
import { Flight } from "./flight.js";
import type { KeyFences, FenceTicket } from "./key-fences.js";
import { policyFor } from "./load-policy.js";
import type { LoadPolicy } from "./load-policy.js";
import { LoadContext } from "./load-context.js";
import type { BatchLoader, GetOrInsertOptions, Loader } from "./loader.js";
import { runLoader } from "./loader-runner.js";
import type { TagLedger } from "./tag-ledger.js";
import { describeError } from "./tier-guard.js";
import type { TierStack } from "./tier-stack.js";
import type { ValueMode } from "./value-mode.js";
import type { VersionBook } from "./versioned-writes.js";

/** The two single-key loading operations. */
export type LoadOperation = "getOrInsert" | "optionallyGetOrInsert";

/** Where a load starts: the first tier still to ask, and the expired L1 entry, if any. */
export interface LoadStart<V> {
  readonly operation: LoadOperation;
  readonly from: number;
  readonly stale: CacheEntry<V> | undefined;
}

/** What a due refresh needs: the entry that is due, where it was found, and how to reload it. */
export interface RefreshRequest<K, V> {
  readonly entry: CacheEntry<V>;
  readonly index: number;
  readonly now: number;
  /** The loader to refresh with (getOrInsert); without one, the tiers below are read (get). */
  readonly load?: { readonly loader: Loader<K, V>; readonly operation: LoadOperation } | undefined;
  readonly policy: LoadPolicy<V>;
}

interface FlightRun<V> {
  readonly policy: LoadPolicy<V>;
  readonly operation: CacheOperationName;
  readonly from: number;
  readonly knownStale: CacheEntry<V> | undefined;
  readonly background: boolean;
}

/** Fallback refresh backoff after a failed background load without fail-safe. */
const REFRESH_RETRY_MS = 1_000;
/** Bound on remembered refresh backoffs; past it they are forgotten at once (a refresh may repeat). */
const MAX_REFRESH_BACKOFFS = 10_000;

/** @internal */
export class LoadCoordinator<K, V> {
  readonly #stack: TierStack<K, V>;
  readonly #fences: KeyFences<K>;
  readonly #tags: TagLedger<K, V>;
  readonly #counters: CacheCounters;
  readonly #emitter: CacheEmitter<K>;
  readonly #background: BackgroundWork;
  readonly #clock: Clock;
  readonly #policy: LoadPolicy<V>;
  readonly #valueMode: ValueMode;
  readonly #stampede: boolean;
  readonly #ttr: Milliseconds | undefined;
  readonly #traceLoader: TraceHook | undefined;
  readonly #fleetLock: FleetLock<K, V> | undefined;
  readonly #isClosed: () => boolean;
  readonly #flights = new Map<K, Flight<V>>();
  readonly #refreshNotBefore = new Map<K, number>();
  readonly #batches: BatchLoads<K, V>;

  constructor(options: {
    stack: TierStack<K, V>;
    fences: KeyFences<K>;
    tags: TagLedger<K, V>;
    counters: CacheCounters;
    emitter: CacheEmitter<K>;
    background: BackgroundWork;
    clock: Clock;
    policy: LoadPolicy<V>;
    valueMode: ValueMode;
    stampede: boolean;
    timeToRefresh: Milliseconds | undefined;
    traceLoader: TraceHook | undefined;
    fleetLock: FleetLock<K, V> | undefined;
    isClosed: () => boolean;
  }) {
    this.#stack = options.stack;
    this.#fences = options.fences;
    this.#tags = options.tags;
    this.#counters = options.counters;
    this.#emitter = options.emitter;
    this.#background = options.background;
    this.#clock = options.clock;
    this.#policy = options.policy;
    this.#valueMode = options.valueMode;
    this.#stampede = options.stampede;
    this.#ttr = options.timeToRefresh;
    this.#traceLoader = options.traceLoader;
    this.#fleetLock = options.fleetLock;
    this.#isClosed = options.isClosed;
    this.#batches = new BatchLoads<K, V>({
      flights: this.#flights,
      abandon: (key, flight) => this.#abandon(key, flight),
      stack: options.stack,
      fences: options.fences,
      tags: options.tags,
      counters: options.counters,
      emitter: options.emitter,
      clock: options.clock,
      valueMode: options.valueMode,
      stampede: options.stampede,
      traceLoader: options.traceLoader,
    });
  }

  /** Loads running now (for stats). */
  get inFlight(): number {
    return this.#flights.size;
  }

  // ---------------------------------------------------------------------------------------------
  // getOrInsert / optionallyGetOrInsert

  /** A load after an L1 miss: joins the key's flight, or starts one. */
  load(
    key: K,
    loader: Loader<K, V>,
    options: GetOrInsertOptions<V> | undefined,
    start: LoadStart<V>,
  ): Promise<V | undefined> {
    const signal = options?.signal;
    const { operation } = start;
    if (this.#stampede) {
      const existing = this.#flights.get(key);
      if (existing !== undefined) {
        this.#counters.coalesced++;
        if (this.#emitter.observed()) this.#emitter.emit("coalesced", operation, key, undefined);
        return this.#waitValue(key, existing, signal, operation);
      }
    }
    const policy = policyFor(this.#policy, options);
    const flight = Flight.forCallers<V>();
    if (this.#stampede) this.#flights.set(key, flight);
    const answer = this.#waitValue(key, flight, signal, operation);
    this.#background.track(
      this.#runFlight(key, flight, loader, {
        policy,
        operation,
        from: start.from,
        knownStale: start.stale,
        background: false,
      }),
    );
    return answer;
  }

  /**
   * One caller's promise of a flight's value. Callers without a signal share one promise per
   * operation (a stampede of a thousand callers allocates nothing per caller), except in clone mode,
   * where each caller gets its own copy.
   */
  #waitValue(
    key: K,
    flight: Flight<V>,
    signal: AbortSignal | undefined,
    operation: LoadOperation,
  ): Promise<V | undefined> {
    if (signal === undefined && this.#valueMode !== "clone") {
      flight.pinned = true;
      const shared = flight.values[operation];
      if (shared !== undefined) return shared;
      return (flight.values[operation] = flight.answer.then((entry) => this.#answerValue(entry)));
    }
    return flight.wait(signal, () => this.#abandon(key, flight)).then((entry) => this.#answerValue(entry));
  }

  #answerValue(entry: CacheEntry<V> | undefined): V | undefined {
    if (entry === undefined || isNegative(entry)) return undefined;
    return this.#valueMode === "clone" ? structuredClone(entry.value) : entry.value;
  }

  /** Every caller of a flight gave up: abort the loader and let new callers start afresh. */
  #abandon(key: K, flight: Flight<V>): void {
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
    flight.abort(new CacheError("ABORTED", "every caller waiting on this load aborted"));
  }

  /**
   * One flight from start to end: read the tiers below, decide what a stale entry may do (SWR,
   * fail-safe, soft timeout), wait for the fleet lock, run the loader, and settle the flight.
   */
  async #runFlight(key: K, flight: Flight<V>, loader: Loader<K, V>, run: FlightRun<V>): Promise<void> {
    const { policy, operation } = run;
    const emitter = this.#emitter;
    const ticket = this.#fences.acquire(key);
    let background = run.background;
    let lease: LockLease | undefined;
    let lastWrite: Promise<void> | undefined;
    // With conditional writes, the write-back is conditioned on the versions read here, first.
    const versions = this.#stack.versioned.book();
    try {
      let stale = run.knownStale;
      if (versions !== undefined && run.from > 1)
        await this.#stack.versioned.fill(key, versions, run.from, operation);
      if (run.from < this.#stack.slots.length) {
        const found = await this.#stack.readFrom(key, { from: run.from, operation, ticket, versions });
        if (flight.aborted) return;
        if (
          found.entry !== undefined &&
          (!isNegative(found.entry) || operation === "optionallyGetOrInsert")
        ) {
          this.#counters.hits++;
          flight.settle(found.entry);
          return;
        }
        stale = newest(stale, found.stale);
      }
      if (!background) {
        this.#counters.misses++;
        if (emitter.observed()) emitter.emit("miss", operation, key, undefined);
      }
      if (stale !== undefined && isNegative(stale) && operation === "getOrInsert") stale = undefined;

      const started = this.#clock.now();
      const staleAge = stale === undefined ? Infinity : started - stale.expiresAt!;
      if (stale !== undefined && policy.swr > 0 && staleAge < policy.swr) {
        // Stale-while-revalidate: answer now, keep loading for the cache.
        flight.settle(this.serveStale(stale, key, operation));
        if (emitter.observed())
          emitter.emit("refresh_started", "refresh", key, undefined, { background: true });
        background = true;
      }
      // Only an expired entry stands in for a failed load; a refresh of a fresh entry just reports.
      const failSafeStale =
        stale !== undefined &&
        policy.failSafe !== undefined &&
        staleAge >= 0 &&
        staleAge < policy.failSafe.maxStaleAge
          ? stale
          : undefined;

      // Fleet-wide stampede protection: one process loads, the others wait for its result in L2.
      const fleetLock = this.#fleetLock;
      if (fleetLock !== undefined && !background) {
        const locked = await fleetLock.acquireOrWait(key, {
          operation,
          shouldStop: () => flight.aborted || this.#isClosed(),
          readShared: () => this.#stack.readFrom(key, { from: 1, operation, ticket }),
        });
        if (locked.entry !== undefined) {
          flight.settle(locked.entry);
          return;
        }
        lease = locked.lease;
        if (flight.aborted) return;
      }

      this.#counters.loads++;
      if (emitter.observed()) emitter.emit("loader_started", operation, key, undefined, { background });
      const usable = failSafeStale ?? (stale !== undefined && staleAge < policy.swr ? stale : undefined);
      // Never hand out the fail-safe mark: a loader that returns this entry must not store it.
      const ctxStale = stale !== undefined && isKeptByFailSafe(stale) ? asStale(stale) : stale;
      const ctx = new LoadContext<V>(flight.controller.signal, ctxStale, background);
      const trace = this.#traceLoader;
      const outcome = await runLoader(() => loader(key, ctx), {
        clock: this.#clock,
        controller: flight.controller,
        hardTimeout: policy.hardTimeout,
        soft:
          policy.softTimeout !== undefined && usable !== undefined && !flight.settled
            ? {
                after: policy.softTimeout,
                onElapse: () => {
                  if (!flight.settled) {
                    flight.settle(this.serveStale(usable, key, operation));
                    background = true;
                  }
                },
              }
            : undefined,
        trace: trace && { hook: trace, call: emitter.traced({ key, operation, background }) },
      });
      const now = this.#clock.now();
      const durationMs = now - started;
      if (!outcome.ok) {
        this.#settleFailure(key, flight, {
          error: outcome.error,
          timedOut: outcome.timedOut,
          policy,
          operation,
          failSafeStale,
          background,
          ticket,
          now,
          durationMs,
        });
        return;
      }
      if (emitter.observed()) emitter.emit("loaded", operation, key, undefined, { durationMs, background });
      if (flight.aborted) return;
      lastWrite = this.#settleLoaded(key, flight, {
        value: ctx.finish(outcome.value),
        skip: ctx.skipped,
        policy,
        operation,
        background,
        ticket,
        now,
        versions,
      });
    } catch (error) {
      // Only a bug gets here; the callers still get an error rather than waiting forever.
      flight.fail(error);
    } finally {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
      this.#fences.release(ticket);
      if (lease !== undefined) await this.#fleetLock!.release(lease, { written: lastWrite, operation, key });
    }
  }

  /** Settles a flight whose loader succeeded; returns the write-back, when there is one. */
  #settleLoaded(
    key: K,
    flight: Flight<V>,
    loaded: {
      value: unknown;
      /** The loader called `ctx.skip()`: answer the callers, write nothing. */
      skip: boolean;
      policy: LoadPolicy<V>;
      operation: CacheOperationName;
      background: boolean;
      ticket: FenceTicket<K>;
      now: number;
      versions: VersionBook | undefined;
    },
  ): Promise<void> | undefined {
    const { policy, operation, background, now } = loaded;
    const value = loaded.value as V | CacheEntry<V> | undefined;
    let entry: CacheEntry<V> | undefined;
    if (value === undefined) {
      if (operation === "optionallyGetOrInsert" && policy.negativeTtl !== undefined)
        entry = negativeEntry(policy, now);
    } else {
      entry = toEntry(value, { policy, stampedAt: this.#tags.stamp(now), valueMode: this.#valueMode });
    }
    let write: Promise<void> | undefined;
    if (entry !== undefined && !loaded.skip && this.#fences.isCurrent(loaded.ticket) && !flight.superseded) {
      write = this.#stack.writeAll(key, entry, {
        operation: background ? "refresh" : operation,
        explicit: false,
        versions: loaded.versions,
      });
      this.#background.track(write);
      if (background && this.#emitter.observed())
        this.#emitter.emit("refresh_hit", "refresh", key, undefined, { background });
    }
    flight.settle(entry);
    return write;
  }

  /** Settles a flight whose loader failed: fail-safe, then fallback, then the error. */
  #settleFailure(
    key: K,
    flight: Flight<V>,
    failed: {
      error: unknown;
      timedOut: boolean;
      policy: LoadPolicy<V>;
      operation: CacheOperationName;
      failSafeStale: CacheEntry<V> | undefined;
      background: boolean;
      ticket: FenceTicket<K>;
      now: number;
      durationMs: number;
    },
  ): void {
    const { error, policy, operation, failSafeStale, background, now } = failed;
    const emitter = this.#emitter;
    this.#counters.loadErrors++;
    if (emitter.observed())
      emitter.emit("loader_failed", operation, key, undefined, {
        error,
        durationMs: failed.durationMs,
        background,
      });
    // The hard timeout aborts the flight's controller; fail-safe still answers for it.
    const answerable = !flight.aborted || failed.timedOut;
    if (failSafeStale !== undefined && answerable) {
      // Fail-safe: serve the last good entry and keep it for `backoff` before trying again. Only
      // this instance's first tier keeps it: other processes must not read it from L2 as fresh.
      const backoff = policy.failSafe!.backoff;
      // Marked (FAIL_SAFE_TAG), so that every read of it during the backoff says `isStale`.
      const kept = keepForFailSafe(failSafeStale, {
        ttl: now - failSafeStale.cachedAt! + backoff,
        staleFor: Math.max(0, failSafeStale.retainUntil! - (now + backoff)),
      });
      if (this.#fences.isCurrent(failed.ticket) && !flight.superseded) {
        this.#background.track(
          this.#stack.writeAll(key, kept, {
            operation: background ? "refresh" : operation,
            explicit: false,
            upTo: 0,
          }),
        );
      }
      this.#refreshNotBefore.set(key, now + backoff);
      if (emitter.observed()) emitter.emit("fail_safe", operation, key, undefined, { error });
      flight.settle(this.serveStale(failSafeStale, key, operation));
      return;
    }
    if (background) {
      this.#refreshNotBefore.set(key, now + (policy.failSafe?.backoff ?? REFRESH_RETRY_MS));
      if (emitter.observed()) emitter.emit("refresh_miss", "refresh", key, undefined, { error, background });
    }
    if (policy.hasFallback && !flight.aborted) {
      if (emitter.observed()) emitter.emit("fail_safe", operation, key, undefined, { error });
      flight.settle(new CacheEntry(policy.fallback as V, { cachedAt: now, ttl: 0, isStale: true }));
      return;
    }
    flight.fail(
      failed.timedOut
        ? error
        : isCacheError(error) && (error.code === "CLOSED" || error.code === "ABORTED")
          ? error
          : new CacheError("LOADER", `the loader failed for ${operation}: ${describeError(error)}`, {
              cause: error,
            }),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Refresh

  /**
   * Starts a background refresh when `request.entry` is older than the time-to-refresh: by the
   * loader when there is one (getOrInsert), otherwise from the tiers below the one that answered
   * (get). Called only when a time-to-refresh is set.
   */
  refreshIfDue(key: K, request: RefreshRequest<K, V>): void {
    const { entry, now, index } = request;
    const ttr = this.#ttr!;
    if (entry.cachedAt === undefined || now - entry.cachedAt < ttr || this.#flights.has(key)) return;
    const notBefore = this.#refreshNotBefore.get(key);
    if (notBefore !== undefined) {
      if (now < notBefore) return;
      this.#refreshNotBefore.delete(key);
    }
    const load = request.load;
    if (load === undefined && index + 1 >= this.#stack.slots.length) return;
    if (this.#refreshNotBefore.size > MAX_REFRESH_BACKOFFS) this.#refreshNotBefore.clear();
    // Whatever happens, this entry is not refreshed again for one refresh age unless something changes.
    this.#refreshNotBefore.set(key, now + Math.min(ttr, REFRESH_RETRY_MS));
    const flight = Flight.inBackground<V>();
    this.#flights.set(key, flight);
    if (this.#emitter.observed())
      this.#emitter.emit("refresh_started", "refresh", key, undefined, { background: true });
    if (load !== undefined) {
      this.#background.track(
        this.#runFlight(key, flight, load.loader, {
          policy: request.policy,
          operation: load.operation,
          from: this.#stack.slots.length,
          knownStale: entry,
          background: true,
        }),
      );
    } else {
      this.#background.track(this.#refreshFromBelow(key, flight, entry, index));
    }
  }

  async #refreshFromBelow(key: K, flight: Flight<V>, current: CacheEntry<V>, index: number): Promise<void> {
    const ticket = this.#fences.acquire(key);
    const versions = this.#stack.versioned.book();
    try {
      if (versions !== undefined) await this.#stack.versioned.fill(key, versions, index + 1, "refresh");
      const found = await this.#stack.readFrom(key, {
        from: index + 1,
        operation: "refresh",
        ticket,
        versions,
      });
      const fresher = found.entry !== undefined && (found.entry.cachedAt ?? 0) > (current.cachedAt ?? 0);
      if (fresher && this.#fences.isCurrent(ticket) && !flight.superseded) {
        // readFrom promoted according to policy; a refresh also replaces what the upper tiers had.
        this.#stack.replaceAbove(key, found.entry, index, versions);
        if (this.#emitter.observed())
          this.#emitter.emit("refresh_hit", "refresh", key, undefined, { background: true });
      } else if (this.#emitter.observed()) {
        this.#emitter.emit("refresh_miss", "refresh", key, undefined, { background: true });
      }
      flight.settle(found.entry);
    } finally {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
      this.#fences.release(ticket);
    }
  }

  /** Hands out an expired entry (SWR, soft timeout, fail-safe), counted and reported. */
  serveStale(entry: CacheEntry<V>, key: K, operation: CacheOperationName): CacheEntry<V> {
    this.#counters.staleServed++;
    if (this.#emitter.observed()) this.#emitter.emit("stale_served", operation, key, undefined);
    return asStale(shareEntry(entry, this.#valueMode));
  }

  // ---------------------------------------------------------------------------------------------
  // getOrInsertMany

  /**
   * Loads the keys `entries` lacks with one `loadMany` call, joining flights already running for
   * some of them. `entries` is what the tiers had, in the order of `keys`.
   */
  loadMany(
    keys: readonly K[],
    entries: readonly (CacheEntry<V> | undefined)[],
    loadMany: BatchLoader<K, V>,
    options: { policy: LoadPolicy<V>; signal: AbortSignal | undefined },
  ): Promise<(V | undefined)[]> {
    return this.#batches.load(keys, entries, loadMany, options);
  }

  // ---------------------------------------------------------------------------------------------
  // Superseding and closing

  /** Marks `key` as rewritten: loads, refreshes and promotions that started earlier will not write. */
  supersede(key: K): void {
    this.#fences.bump(key);
    const flight = this.#flights.get(key);
    if (flight !== undefined) {
      flight.superseded = true;
      this.#flights.delete(key);
    }
    this.#refreshNotBefore.delete(key);
  }

  /** Marks every key as rewritten (clear, tag operation, bus gap). */
  supersedeAll(): void {
    this.#fences.bumpAll();
    for (const flight of this.#flights.values()) flight.superseded = true;
    this.#flights.clear();
    this.#refreshNotBefore.clear();
  }

  /** After an invalidation: a refresh of `key` may start again at once. */
  forgetRefreshBackoff(key: K): void {
    this.#refreshNotBefore.delete(key);
  }

  /** Aborts every flight (their callers get `reason`); the cache is closing. */
  abortAll(reason: CacheError): void {
    for (const flight of this.#flights.values()) flight.abort(reason);
    this.#flights.clear();
  }
}
