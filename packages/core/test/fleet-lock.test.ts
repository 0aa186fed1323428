// Fleet-wide stampede protection (`distributedStampedeProtection`): one loader run across processes.
import { Cache, ManualClock } from "../src/index.js";
import type { DistributedLock, LockLease } from "../src/index.js";
import { CountingTier } from "./fixtures.js";

/** An in-process lock with leases on the test clock, standing in for RedisLock. */
class FakeLock implements DistributedLock {
  readonly #held = new Map<string, { token: string; until: number }>();
  #next = 0;
  acquired = 0;
  down = false;
  constructor(private readonly clock: ManualClock) {}
  tryAcquire(key: string, lease: number): Promise<LockLease | undefined> {
    if (this.down) return Promise.reject(new Error("lock service down"));
    const held = this.#held.get(key);
    if (held && held.until > this.clock.now()) return Promise.resolve(undefined);
    const token = String(++this.#next);
    this.#held.set(key, { token, until: this.clock.now() + lease });
    this.acquired++;
    return Promise.resolve({ key, token });
  }
  release(lease: LockLease): Promise<void> {
    if (this.#held.get(lease.key)?.token === lease.token) this.#held.delete(lease.key);
    return Promise.resolve();
  }
}

describe("distributed stampede protection", () => {
  function processes(count: number, lock: FakeLock, clock: ManualClock, shared: CountingTier<string>) {
    return Array.from({ length: count }, (_, i) =>
      Cache.builder<string, string>({ clock })
        .name("fleet")
        .memory({ maxEntries: 100 })
        .ttl(60_000)
        .fallback(Cache.builder<string, string>().storage(shared).circuitBreaker(false))
        .distributedStampedeProtection({ lock, lease: 5_000, pollInterval: 50 })
        .onEvent(() => void i)
        .build(),
    );
  }

  it("runs the loader once across processes; the others read its result from the shared tier", async () => {
    const clock = new ManualClock();
    const shared = new CountingTier<string>(clock, "shared");
    const lock = new FakeLock(clock);
    const fleetCaches = processes(4, lock, clock, shared);
    let loads = 0;
    const loader = () =>
      new Promise<string>((resolve) => {
        loads++;
        clock.setTimeout(() => resolve("v"), 120);
      });
    const calls = fleetCaches.flatMap((cache) =>
      Array.from({ length: 25 }, () => cache.getOrInsert("k", loader)),
    );
    for (let i = 0; i < 10; i++) await clock.advanceAsync(50);
    expect(await Promise.all(calls)).toEqual(calls.map(() => "v"));
    expect(loads).toBe(1);
    expect(lock.acquired).toBe(1);
  });

  it("loads locally when the lock service is down", async () => {
    const clock = new ManualClock();
    const shared = new CountingTier<string>(clock, "shared");
    const lock = new FakeLock(clock);
    lock.down = true;
    const [cache] = processes(1, lock, clock, shared);
    expect(await cache!.getOrInsert("k", () => "local")).toBe("local");
  });

  it("validates its options", () => {
    const lock = new FakeLock(new ManualClock());
    expect(() =>
      Cache.builder().memory({ maxEntries: 1 }).distributedStampedeProtection({ lock }).build(),
    ).toThrow(/needs a fallback tier/);
    expect(() =>
      Cache.builder()
        .memory({ maxEntries: 1 })
        .fallback(Cache.builder().memory({ maxEntries: 1 }))
        .timeouts({ hard: 1_000 })
        .distributedStampedeProtection({ lock, lease: 5_000 })
        .build(),
    ).toThrow(/must not exceed `timeouts.hard`/);
  });
});
