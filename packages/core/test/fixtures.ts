import { Cache, CacheError, ManualClock, MemoryBus, MemoryBusHub, MemoryTier } from "../src/index.js";
import type { CacheEvent, CacheTier, CacheEntry } from "../src/index.js";
import type { ConditionalWrites } from "@cachet/tier";
import type { MockCache } from "@cachet/tier/testing";

/** A tier over a MemoryTier that counts calls and can be made to fail or hang. */
export class CountingTier<V> implements CacheTier<string, V> {
  readonly name: string;
  readonly inner: MemoryTier<string, V>;
  gets = 0;
  getManys = 0;
  inserts = 0;
  invalidates = 0;
  failing = false;
  /** While set, get() waits for this promise first. */
  gate: Promise<void> | undefined;

  constructor(clock: ManualClock, name = "l2") {
    this.name = name;
    this.inner = new MemoryTier<string, V>({ maxEntries: 10_000, clock, name });
  }

  async get(key: string): Promise<CacheEntry<V> | undefined> {
    this.gets++;
    if (this.failing) throw new CacheError("TIER_FAILURE", "down", { tier: this.name });
    const entry = await this.inner.get(key);
    if (this.gate) await this.gate;
    return entry;
  }
  async getMany(keys: readonly string[]): Promise<(CacheEntry<V> | undefined)[]> {
    this.getManys++;
    if (this.failing) throw new CacheError("TIER_FAILURE", "down", { tier: this.name });
    return this.inner.getMany(keys);
  }
  async insert(key: string, entry: CacheEntry<V>): Promise<void> {
    this.inserts++;
    if (this.failing) throw new CacheError("TIER_FAILURE", "down", { tier: this.name });
    return this.inner.insert(key, entry);
  }
  async invalidate(key: string): Promise<void> {
    this.invalidates++;
    if (this.failing) throw new CacheError("TIER_FAILURE", "down", { tier: this.name });
    return this.inner.invalidate(key);
  }
  async clear(): Promise<void> {
    if (this.failing) throw new CacheError("TIER_FAILURE", "down", { tier: this.name });
    return this.inner.clear();
  }
  size(): number {
    return this.inner.size();
  }
}

/** A promise with its resolve/reject exposed. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets queued promise callbacks run (one macrotask turn); no time passes on any clock. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface TwoTier<V> {
  clock: ManualClock;
  l2: CountingTier<V>;
  cache: Cache<string, V>;
  events: CacheEvent[];
}

/** L1 memory (ttl 60 s) in front of a counting L2 (ttl 300 s). */
export function twoTier<V>(
  configure: (
    b: ReturnType<typeof Cache.builder<string, V>>,
  ) => ReturnType<typeof Cache.builder<string, V>> = (b) => b,
): TwoTier<V> {
  const clock = new ManualClock();
  const l2 = new CountingTier<V>(clock);
  const events: CacheEvent[] = [];
  const builder = Cache.builder<string, V>({ clock })
    .name("test")
    .memory({ maxEntries: 1_000 })
    .ttl(60_000)
    .fallback(Cache.builder<string, V>({ clock }).storage(l2).ttl(300_000).circuitBreaker(false))
    .onEvent((e) => events.push(e));
  const cache = configure(builder).build();
  return { clock, l2, cache, events };
}

/** Two instances (each its own L1) over one shared L2, connected by an in-process bus. */
export function fleet(options: { failSafe?: boolean; swr?: number } = {}) {
  const clock = new ManualClock();
  const shared = new CountingTier<string>(clock, "shared");
  const hub = new MemoryBusHub();
  const events: Record<string, CacheEvent[]> = { a: [], b: [] };
  const make = (name: "a" | "b") => {
    let builder = Cache.builder<string, string>({ clock })
      .name("users")
      .memory({ maxEntries: 1_000 })
      .ttl(60_000)
      .fallback(Cache.builder<string, string>().storage(shared).circuitBreaker(false))
      .bus(new MemoryBus(hub, name))
      .onEvent((e) => events[name]!.push(e));
    if (options.failSafe) builder = builder.failSafe({ maxStaleAge: 600_000 });
    if (options.swr !== undefined) builder = builder.staleWhileRevalidate(options.swr);
    return builder.build();
  };
  return { clock, shared, hub, a: make("a"), b: make("b"), events };
}

/**
 * One process's connection to a shared store: a test can cut it (every call then rejects with
 * `TIER_FAILURE`). Passes the store's conditional writes through when it has them.
 */
export class Connection<V> implements CacheTier<string, V> {
  readonly name = "shared";
  cut = false;
  readonly conditionalWrites: ConditionalWrites<string, V> | undefined;
  constructor(readonly store: MockCache<string, V>) {
    const inner = store.conditionalWrites;
    this.conditionalWrites =
      inner === undefined
        ? undefined
        : {
            tombstoneTtl: inner.tombstoneTtl,
            getVersioned: async (key) => {
              this.#check();
              return inner.getVersioned(key);
            },
            insertIfVersion: async (key, entry, expected) => {
              this.#check();
              return inner.insertIfVersion(key, entry, expected);
            },
          };
  }
  #check(): void {
    if (this.cut) throw new CacheError("TIER_FAILURE", "connection cut", { tier: this.name });
  }
  async get(key: string) {
    this.#check();
    return this.store.get(key);
  }
  async getMany(keys: readonly string[]) {
    this.#check();
    return this.store.getMany(keys);
  }
  async insert(key: string, entry: CacheEntry<V>) {
    this.#check();
    return this.store.insert(key, entry);
  }
  async invalidate(key: string) {
    this.#check();
    return this.store.invalidate(key);
  }
  async clear() {
    this.#check();
    return this.store.clear();
  }
}
