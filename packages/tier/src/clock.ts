/** An opaque timer handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * The source of time for everything cachet does: expiry, refresh ages, timeouts, backoff.
 *
 * Inject one everywhere a component takes a `clock`; tests pass a {@link ManualClock} and drive
 * time with `advance(ms)` instead of sleeping.
 */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer made by {@link Clock.setTimeout}; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Reading the wall clock costs about 100 ns on some virtual machines, which would be most of an L1
 * hit. So, like lru-cache's `ttlResolution`, the system clock caches `Date.now()` for at most 1 ms
 * of event-loop progress, and re-reads it at least every 256 calls so that a long synchronous or
 * microtask-only stretch of work still sees time move.
 */
const RESOLUTION_MS = 1;
const MAX_READS = 256;
let cachedNow = 0;
let reads = MAX_READS;
let expiry: NodeJS.Timeout | undefined;

function expire(): void {
  expiry = undefined;
  reads = MAX_READS;
}

function coarseNow(): number {
  if (++reads >= MAX_READS) {
    cachedNow = Date.now();
    reads = 0;
    if (expiry === undefined) {
      expiry = setTimeout(expire, RESOLUTION_MS);
      expiry.unref();
    }
  }
  return cachedNow;
}

/**
 * The wall clock, with up to 1 ms of resolution (see above). Its timers are `unref`'d: a cache's
 * background timers never keep a process alive.
 */
export const systemClock: Clock = Object.freeze({
  now: coarseNow,
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as NodeJS.Timeout);
  },
});
