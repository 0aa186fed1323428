import { CacheError } from "./cache-error.js";
import type { Clock, TimerHandle } from "./clock.js";

interface ManualTimer {
  readonly id: number;
  readonly dueAt: number;
  readonly fn: () => void;
}

/**
 * A clock that moves only when told to, so TTL, refresh and timeout logic are tested without sleeping.
 *
 * `advance(ms)` moves time forward and fires every timer that falls due, in due-time order (ties in
 * the order they were scheduled), with `now()` equal to each timer's due time while it runs. Timers
 * scheduled by a firing timer fire in the same call if they fall due within the window.
 *
 * @example
 * const clock = new ManualClock();
 * const tier = new MemoryTier({ maxEntries: 100, clock });
 * await tier.insert("k", CacheEntry.expiresAfter("v", 1_000));
 * clock.advance(1_000);
 * await tier.get("k"); // undefined
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: ManualTimer[] = [];

  /** @param startMs - initial epoch time. @default 1_700_000_000_000 (a fixed, realistic epoch) */
  constructor(startMs = 1_700_000_000_000) {
    if (!Number.isFinite(startMs))
      throw new CacheError("INVALID_OPTION", "`startMs` must be a finite number");
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: ManualTimer = { id: this.#nextId++, dueAt: this.#now + delay, fn };
    // Keep timers sorted by (dueAt, id): insertion after every timer due at or before this one.
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1]!.dueAt > timer.dueAt) i--;
    this.#timers.splice(i, 0, timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    const i = this.#timers.findIndex((t) => t.id === handle);
    if (i !== -1) this.#timers.splice(i, 1);
  }

  /** Number of timers scheduled and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /**
   * Moves time forward by `ms` and fires the timers that fall due, in order.
   * @throws CacheError `INVALID_OPTION` when `ms` is negative or not finite.
   */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new CacheError("INVALID_OPTION", `\`ms\` must be zero or more, got ${ms}`);
    }
    this.#runUntil(this.#now + ms);
  }

  /**
   * Like {@link ManualClock.advance}, but lets promise callbacks and I/O callbacks run after each timer
   * fires (and once at the end), so work that a timer starts can settle before time moves on.
   */
  async advanceAsync(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new CacheError("INVALID_OPTION", `\`ms\` must be zero or more, got ${ms}`);
    }
    const target = this.#now + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || next.dueAt > target) break;
      this.#timers.shift();
      this.#now = next.dueAt;
      next.fn();
      await flushMicrotasks();
    }
    this.#now = target;
    await flushMicrotasks();
  }

  /**
   * Sets the time to `epochMs`. Moving forward fires due timers as {@link ManualClock.advance} does;
   * moving backward fires nothing (timers stay due at their original instants).
   */
  set(epochMs: number): void {
    if (!Number.isFinite(epochMs))
      throw new CacheError("INVALID_OPTION", "`epochMs` must be a finite number");
    if (epochMs >= this.#now) this.#runUntil(epochMs);
    else this.#now = epochMs;
  }

  #runUntil(target: number): void {
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || next.dueAt > target) break;
      this.#timers.shift();
      this.#now = next.dueAt;
      next.fn();
    }
    this.#now = target;
  }
}

/** Lets pending promise reactions and immediates run: one macrotask turn. */
function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
