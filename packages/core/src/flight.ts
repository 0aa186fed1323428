import { CacheError } from "@cachet/tier";
import type { CacheEntry } from "@cachet/tier";

/**
 * One load in progress for one key, shared by every caller that asks for that key meanwhile.
 *
 * The answer may settle before the work ends: with stale-while-revalidate or a soft timeout the
 * callers get the stale entry at once while the loader keeps running to update the cache.
 * The work is aborted only when every caller waiting on it has aborted (and nobody pinned it by
 * waiting without a signal), or when the cache closes.
 * @internal
 */
export class Flight<V> {
  readonly controller = new AbortController();
  readonly answer: Promise<CacheEntry<V> | undefined>;
  /** Callers waiting with an abort signal. */
  waiters = 0;
  /** True once a caller waits without a signal, or the flight runs for nobody (background refresh). */
  pinned: boolean;
  /** True once an insert, invalidate or clear made this flight's result obsolete. */
  superseded = false;
  settled = false;
  /** The value promises shared by callers without a signal, per operation. */
  readonly values: { getOrInsert?: Promise<V | undefined>; optionallyGetOrInsert?: Promise<V | undefined> } =
    {};
  #resolve!: (entry: CacheEntry<V> | undefined) => void;
  #reject!: (error: unknown) => void;

  /** A load some caller is waiting for. */
  static forCallers<V>(): Flight<V> {
    return new Flight<V>(false);
  }

  /** A refresh nobody waits for: pinned from the start, so no caller's abort can stop it. */
  static inBackground<V>(): Flight<V> {
    return new Flight<V>(true);
  }

  private constructor(pinned: boolean) {
    this.pinned = pinned;
    this.answer = new Promise<CacheEntry<V> | undefined>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Nobody may be listening (background refresh, every caller aborted): never an unhandled rejection.
    this.answer.catch(noop);
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  settle(entry: CacheEntry<V> | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.#resolve(entry);
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.#reject(error);
  }

  abort(reason: CacheError): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    this.fail(reason);
  }

  /**
   * The answer for one caller. Without a signal it is the shared promise itself (no allocation); with
   * one, the caller stops waiting as soon as it aborts, and `onLastWaiterGone` runs when it was the
   * last one.
   */
  wait(signal: AbortSignal | undefined, onLastWaiterGone: () => void): Promise<CacheEntry<V> | undefined> {
    if (signal === undefined) {
      this.pinned = true;
      return this.answer;
    }
    if (signal.aborted) return Promise.reject(abortedError(signal));
    this.waiters++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiters--;
        reject(abortedError(signal));
        if (this.waiters === 0 && !this.pinned && !this.settled) onLastWaiterGone();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.answer.then(
        (entry) => {
          signal.removeEventListener("abort", onAbort);
          this.waiters--;
          resolve(entry);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          this.waiters--;
          reject(error);
        },
      );
    });
  }
}

/** @internal */
export function abortedError(signal: AbortSignal): CacheError {
  return new CacheError("ABORTED", "the caller's signal aborted before a result was ready", {
    cause: signal.reason,
  });
}

function noop(): void {}
