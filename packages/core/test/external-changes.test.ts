// A lower tier that reports changes made outside the cache (the `externalChanges` capability):
// L1 copies are dropped or marked stale, blind spells keep L1 empty, and the read race is closed.
import { CacheEntry, ManualClock } from "@cachet/tier";
import type { CacheTier, ExternalChange, ExternalChanges } from "@cachet/tier";
import { Cache } from "../src/index.js";
import type { CacheEvent } from "../src/index.js";

/** A change feed driven by the test. */
class Feed implements ExternalChanges<string> {
  isWatching = true;
  readonly #listeners = new Set<(change: ExternalChange<string>) => void>();

  subscribe(listener: (change: ExternalChange<string>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(change: ExternalChange<string>): void {
    if (change.type === "everything") this.isWatching = change.isWatching;
    for (const listener of this.#listeners) listener(change);
  }

  get listeners(): number {
    return this.#listeners.size;
  }
}

/**
 * A shared tier whose entries another writer can change behind the cache's back, and whose reads
 * can be held: a held read takes its value when it is made and answers when released.
 */
class SharedTier implements CacheTier<string, string> {
  readonly name = "shared";
  readonly externalChanges = new Feed();
  readonly store = new Map<string, CacheEntry<string>>();
  holdReads = false;
  readonly held: (() => void)[] = [];
  gets = 0;

  get(key: string): Promise<CacheEntry<string> | undefined> {
    this.gets++;
    const entry = this.store.get(key);
    if (!this.holdReads) return Promise.resolve(entry);
    return new Promise((resolve) => this.held.push(() => resolve(entry)));
  }
  async insert(key: string, entry: CacheEntry<string>): Promise<void> {
    this.store.set(key, entry);
  }
  async invalidate(key: string): Promise<void> {
    this.store.delete(key);
  }
  async clear(): Promise<void> {
    this.store.clear();
  }
  /** Another process writes `key`; the feed reports it. */
  writeElsewhere(key: string, value: string): void {
    this.store.set(key, new CacheEntry(value));
    this.externalChanges.emit({ type: "keys", keys: [key] });
  }
}

function build(options: { failSafe?: boolean } = {}) {
  const clock = new ManualClock();
  const shared = new SharedTier();
  const events: CacheEvent[] = [];
  let builder = Cache.builder<string, string>({ clock })
    .name("users")
    .memory({ maxEntries: 100 })
    .ttl("1h")
    .fallback(Cache.builder<string, string>().storage(shared))
    .onEvent((e) => events.push(e));
  if (options.failSafe) builder = builder.failSafe({ maxStaleAge: "1h" });
  const cache = builder.build();
  return { clock, shared, cache, events };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("external changes reported by a lower tier", () => {
  it("a reported key drops the L1 copy: the next read sees the other writer's value", async () => {
    const { shared, cache, events } = build();
    await cache.insert("k", "v1");
    expect((await cache.get("k"))?.value).toBe("v1");
    const gets = shared.gets;
    shared.writeElsewhere("k", "v2");
    expect((await cache.get("k"))?.value).toBe("v2");
    expect(shared.gets).toBe(gets + 1);
    expect(events.filter((e) => e.type === "external_change")).toMatchObject([
      { tier: "shared", operation: "external" },
    ]);
  });

  it("with fail-safe the L1 copy is kept only as stale: a failing loader serves it, a read does not", async () => {
    const { shared, cache } = build({ failSafe: true });
    await cache.insert("k", "v1");
    shared.externalChanges.emit({ type: "keys", keys: ["k"] });
    shared.store.delete("k");
    expect(await cache.get("k")).toBeUndefined();
    expect(await cache.getOrInsert("k", () => Promise.reject(new Error("db down")))).toBe("v1");
  });

  it("a change reported while the read that would fill L1 is in flight keeps it out of L1", async () => {
    const { shared, cache } = build();
    await shared.insert("k", new CacheEntry("old"));
    shared.holdReads = true;
    const read = cache.get("k"); // L1 miss; the shared read takes "old" now, answers later
    await flush();
    expect(shared.held).toHaveLength(1);
    shared.writeElsewhere("k", "new"); // the invalidation overtakes the reply
    shared.holdReads = false;
    shared.held[0]!();
    expect((await read)?.value).toBe("old"); // the read began before the write: it may answer old
    await flush();
    expect((await cache.get("k"))?.value).toBe("new"); // but "old" never reached L1
  });

  it("the same race on getOrInsert: the load's write-back does not land after the report", async () => {
    const { shared, cache } = build();
    let release!: (value: string) => void;
    const load = cache.getOrInsert("k", () => new Promise<string>((resolve) => (release = resolve)));
    await flush();
    shared.writeElsewhere("k", "theirs");
    release("mine");
    expect(await load).toBe("mine");
    await flush();
    expect((await cache.get("k"))?.value).toBe("theirs");
  });

  it("while the tier is blind, L1 takes no copies; everything is dropped and reported on both edges", async () => {
    const { shared, cache, events } = build();
    await cache.insert("a", "1");
    shared.externalChanges.emit({
      type: "everything",
      reason: "lost",
      isWatching: false,
      detail: "tracking connection closed",
    });
    await flush();
    shared.store.set("a", new CacheEntry("2")); // unseen by the feed
    expect((await cache.get("a"))?.value).toBe("2"); // L1 was dropped
    shared.store.set("a", new CacheEntry("3"));
    expect((await cache.get("a"))?.value).toBe("3"); // and took no copy meanwhile
    await cache.insert("b", "mine");
    shared.store.set("b", new CacheEntry("theirs"));
    expect((await cache.get("b"))?.value).toBe("theirs"); // an explicit insert is not kept either
    shared.externalChanges.emit({ type: "everything", reason: "watching", isWatching: true, detail: "" });
    expect((await cache.get("a"))?.value).toBe("3");
    const gets = shared.gets;
    expect((await cache.get("a"))?.value).toBe("3");
    expect(shared.gets).toBe(gets); // watching again: L1 serves
    expect(events.filter((e) => e.type === "external_reset").map((e) => e.reason)).toEqual([
      "lost: tracking connection closed",
      "watching: ",
    ]);
  });

  it("a tier that starts blind keeps L1 empty until its first 'watching'", async () => {
    const clock = new ManualClock();
    const shared = new SharedTier();
    shared.externalChanges.isWatching = false;
    const cache = Cache.builder<string, string>({ clock })
      .name("users")
      .memory({ maxEntries: 10 })
      .fallback(Cache.builder<string, string>().storage(shared))
      .build();
    await shared.insert("k", new CacheEntry("v"));
    await cache.get("k");
    await cache.get("k");
    expect(shared.gets).toBe(2);
    shared.externalChanges.emit({ type: "everything", reason: "watching", isWatching: true, detail: "" });
    await cache.get("k");
    await cache.get("k");
    expect(shared.gets).toBe(3);
  });

  it("close() unsubscribes", async () => {
    const { shared, cache } = build();
    expect(shared.externalChanges.listeners).toBe(1);
    await cache.close();
    expect(shared.externalChanges.listeners).toBe(0);
  });
});
