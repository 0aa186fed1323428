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
 * The wall clock. Its timers are `unref`'d: a cache's background timers never keep a process alive.
 */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as NodeJS.Timeout);
  },
});
