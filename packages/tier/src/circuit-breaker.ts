import { CacheError } from "./cache-error.js";
import { systemClock } from "./clock.js";
import type { Clock } from "./clock.js";
import { toPositiveMilliseconds } from "./duration.js";
import { assertKnownKeys } from "./known-keys.js";
import type { Duration, Milliseconds } from "./duration.js";

/**
 * The state of a {@link CircuitBreaker}: `closed` lets calls through, `open` rejects them, and
 * `half-open` lets exactly one probe through to test whether the backend has recovered.
 */
export type CircuitState = "closed" | "open" | "half-open";

/** Opens the circuit when the share of failed calls in a recent window is too high. */
export interface FailureRateOptions {
  /** Share of failed calls (0 < threshold ≤ 1) at or above which the circuit opens. */
  threshold: number;
  /** How far back calls are counted. Counted in 10 buckets, so it slides in steps of `window / 10`. */
  window: Duration;
  /** Fewest calls in the window before the rate is considered, so one early failure does not open it. */
  minimumCalls: number;
}

/** Options for {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /**
   * Consecutive failures that open the circuit. A success resets the count.
   * @default 5
   */
  failureThreshold?: number | undefined;
  /** Also open the circuit on a failure rate over a sliding window. @default undefined (off) */
  failureRate?: FailureRateOptions | undefined;
  /**
   * How long the circuit stays open before it lets one probe through (half-open), the first time
   * it opens. Each probe that fails doubles it, up to `maxCooldown`; closing the circuit resets
   * it. Also the longest a probe may stay unreported before another probe is allowed. Short by
   * default so that a backend that is back (a Redis restart takes about a second) is used again
   * within a few seconds, while one that stays down is probed ever more rarely.
   * @default 1_000 ("1s")
   */
  cooldown?: Duration | undefined;
  /**
   * The longest the cool-down grows to after repeated failed probes, and so the longest a backend
   * that is back waits to be used again (one call per this period probes a backend that is down).
   * @default 5_000 ("5s") when `cooldown` is not given; otherwise `cooldown` (a fixed cool-down,
   * as before this option existed)
   */
  maxCooldown?: Duration | undefined;
  /** Time source; tests pass a `ManualClock`. The breaker sets no timers. @default systemClock */
  clock?: Clock | undefined;
  /** Name used in the `CIRCUIT_OPEN` error (as its `tier`) and by telemetry. @default "circuit" */
  name?: string | undefined;
  /**
   * Called on every state change. Errors it throws are swallowed: telemetry never breaks the
   * caller. Note that `open → half-open` is noticed lazily, when {@link CircuitBreaker.state} or
   * {@link CircuitBreaker.tryAcquire} is next read after the cooldown.
   */
  onStateChange?: ((state: CircuitState, previous: CircuitState) => void) | undefined;
  /**
   * Decides whether an error thrown inside {@link CircuitBreaker.execute} counts as a failure.
   * Return `false` for errors that say nothing about the backend's health (a `CODEC` error, an
   * abort). @default every error counts
   */
  isFailure?: ((error: unknown) => boolean) | undefined;
}

const BUCKETS = 10;

/** Every key of {@link CircuitBreakerOptions}; the `Record` type keeps the list complete. */
const BREAKER_KEYS = Object.keys({
  failureThreshold: true,
  failureRate: true,
  cooldown: true,
  maxCooldown: true,
  clock: true,
  name: true,
  onStateChange: true,
  isFailure: true,
} satisfies Record<keyof CircuitBreakerOptions, true>);
const RATE_KEYS = Object.keys({
  threshold: true,
  window: true,
  minimumCalls: true,
} satisfies Record<keyof FailureRateOptions, true>);

interface Bucket {
  index: number;
  successes: number;
  failures: number;
}

/**
 * Stops calling a failing backend for a while, so that requests fail fast instead of piling up
 * behind timeouts, and lets a single probe through to detect recovery. Shared by `@cachet/core`
 * (around remote tiers) and `@cachet/service` (as a layer).
 *
 * Closed: calls pass; the circuit opens after `failureThreshold` consecutive failures, or when
 * `failureRate` is exceeded. Open: calls are refused for the cool-down (`cooldown`, doubled per
 * failed probe up to `maxCooldown`). Half-open: the first {@link CircuitBreaker.tryAcquire} returns
 * `true` (the probe) and the rest `false` until the probe's outcome is recorded: a success closes
 * the circuit, a failure opens it for a cool-down twice as long. A backend that signals its own
 * recovery (a client's "ready" event) can cut the wait short with {@link CircuitBreaker.recovered}.
 *
 * The breaker is driven entirely by its clock and sets no timers, so it never keeps a process
 * alive and tests need only `ManualClock.advance`.
 *
 * @example
 * const breaker = new CircuitBreaker({ failureThreshold: 3, cooldown: "10s", name: "redis" });
 * const entry = await breaker.execute(() => redisTier.get(key)); // CIRCUIT_OPEN while open
 */
export class CircuitBreaker {
  /** The name given in the options. */
  readonly name: string;
  readonly #clock: Clock;
  readonly #failureThreshold: number;
  readonly #baseCooldown: Milliseconds;
  readonly #maxCooldown: Milliseconds;
  /** The cool-down of the current (or next) open period: base, doubled per failed probe. */
  #cooldown: Milliseconds;
  readonly #rate: { threshold: number; minimumCalls: number; bucketMs: Milliseconds } | undefined;
  readonly #onStateChange: ((state: CircuitState, previous: CircuitState) => void) | undefined;
  readonly #isFailure: (error: unknown) => boolean;
  #state: CircuitState = "closed";
  #consecutiveFailures = 0;
  #openedAt = 0;
  #probeStartedAt: number | undefined;
  #buckets: Bucket[] = [];

  /** @throws CacheError `INVALID_OPTION` naming the option when one is out of range. */
  constructor(options: CircuitBreakerOptions = {}) {
    assertKnownKeys(options, BREAKER_KEYS, "circuitBreaker");
    assertKnownKeys(options.failureRate, RATE_KEYS, "circuitBreaker.failureRate");
    const threshold = options.failureThreshold ?? 5;
    if (!Number.isInteger(threshold) || threshold < 1) {
      throw new CacheError(
        "INVALID_OPTION",
        `\`failureThreshold\` must be an integer >= 1, got ${threshold}`,
      );
    }
    if (options.name !== undefined && (typeof options.name !== "string" || options.name === "")) {
      throw new CacheError("INVALID_OPTION", "`name` must be a non-empty string");
    }
    const rate = options.failureRate;
    if (rate !== undefined) {
      if (!(typeof rate.threshold === "number" && rate.threshold > 0 && rate.threshold <= 1)) {
        throw new CacheError(
          "INVALID_OPTION",
          `\`failureRate.threshold\` must be a number in (0, 1], got ${String(rate.threshold)}`,
        );
      }
      if (!Number.isInteger(rate.minimumCalls) || rate.minimumCalls < 1) {
        throw new CacheError(
          "INVALID_OPTION",
          `\`failureRate.minimumCalls\` must be an integer >= 1, got ${String(rate.minimumCalls)}`,
        );
      }
      const window = toPositiveMilliseconds(rate.window, "failureRate.window");
      this.#rate = { threshold: rate.threshold, minimumCalls: rate.minimumCalls, bucketMs: window / BUCKETS };
    }
    this.#baseCooldown = toPositiveMilliseconds(options.cooldown ?? 1_000, "cooldown");
    this.#maxCooldown =
      options.maxCooldown !== undefined
        ? toPositiveMilliseconds(options.maxCooldown, "maxCooldown")
        : options.cooldown === undefined
          ? 5_000
          : this.#baseCooldown;
    if (this.#maxCooldown < this.#baseCooldown) {
      throw new CacheError(
        "INVALID_OPTION",
        `\`maxCooldown\` (${this.#maxCooldown} ms) must not be less than \`cooldown\` (${this.#baseCooldown} ms)`,
      );
    }
    this.#cooldown = this.#baseCooldown;
    this.#failureThreshold = threshold;
    this.#clock = options.clock ?? systemClock;
    this.name = options.name ?? "circuit";
    this.#onStateChange = options.onStateChange;
    this.#isFailure = options.isFailure ?? (() => true);
  }

  /** The current state. Reading it after the cooldown moves an open circuit to `half-open`. */
  get state(): CircuitState {
    this.#checkCooldown();
    return this.#state;
  }

  /**
   * Asks to make one call. `true` means go ahead and report the outcome with
   * {@link CircuitBreaker.recordSuccess} or {@link CircuitBreaker.recordFailure}; `false` means
   * the circuit is open (or half-open with its probe already out): fail fast.
   */
  tryAcquire(): boolean {
    this.#checkCooldown();
    if (this.#state === "closed") return true;
    if (this.#state === "open") return false;
    const now = this.#clock.now();
    // A probe whose caller never reported back must not wedge the circuit half-open forever.
    if (this.#probeStartedAt !== undefined && now - this.#probeStartedAt < this.#cooldown) return false;
    this.#probeStartedAt = now;
    return true;
  }

  /** Reports a successful call. In `half-open` it closes the circuit. */
  recordSuccess(): void {
    this.#checkCooldown();
    if (this.#state === "open") return; // a call that started before the circuit opened
    this.#consecutiveFailures = 0;
    this.#count(false);
    if (this.#state === "half-open") {
      this.#buckets = [];
      this.#cooldown = this.#baseCooldown;
      this.#transition("closed");
    }
  }

  /** Reports a failed call. It may open the circuit; in `half-open` it always does. */
  recordFailure(): void {
    this.#checkCooldown();
    if (this.#state === "open") return;
    if (this.#state === "half-open") {
      // The backend is still down: wait twice as long before the next probe.
      this.#cooldown = Math.min(this.#maxCooldown, this.#cooldown * 2);
      this.#open();
      return;
    }
    this.#consecutiveFailures++;
    const rateExceeded = this.#count(true);
    if (this.#consecutiveFailures >= this.#failureThreshold || rateExceeded) this.#open();
  }

  /**
   * Runs `fn` if the circuit allows it and records its outcome.
   * @throws CacheError `CIRCUIT_OPEN` (with the breaker's name as `tier`) when the call is not
   *   allowed; `fn` is not called. Errors from `fn` are rethrown unchanged.
   */
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.tryAcquire()) {
      throw new CacheError("CIRCUIT_OPEN", `circuit \`${this.name}\` is ${this.#state}: call refused`, {
        tier: this.name,
      });
    }
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      if (this.#isFailure(error)) this.recordFailure();
      else this.recordSuccess();
      throw error;
    }
    this.recordSuccess();
    return result;
  }

  /**
   * Tells the breaker that the backend says it is back, e.g. from its client's "ready" event
   * (`RedisTier.onReady`): an open circuit turns half-open at once, so the next call probes
   * instead of waiting out the cool-down, and a probe already out no longer blocks another. It
   * does not close the circuit: only a successful probe does. No effect while closed.
   */
  recovered(): void {
    if (this.#state === "closed") return;
    this.#probeStartedAt = undefined;
    this.#transition("half-open");
  }

  /** The cool-down the circuit waits (or will wait) before its next probe, in ms. */
  get cooldown(): Milliseconds {
    return this.#cooldown;
  }

  /** Closes the circuit and forgets all counts, e.g. after an operator fixed the backend. */
  reset(): void {
    this.#cooldown = this.#baseCooldown;
    this.#consecutiveFailures = 0;
    this.#buckets = [];
    this.#probeStartedAt = undefined;
    this.#transition("closed");
  }

  #open(): void {
    this.#openedAt = this.#clock.now();
    this.#consecutiveFailures = 0;
    this.#buckets = [];
    this.#probeStartedAt = undefined;
    this.#transition("open");
  }

  #checkCooldown(): void {
    if (this.#state === "open" && this.#clock.now() - this.#openedAt >= this.#cooldown) {
      this.#probeStartedAt = undefined;
      this.#transition("half-open");
    }
  }

  /** Counts an outcome in the rate window; returns true when the failure rate is now exceeded. */
  #count(failed: boolean): boolean {
    const rate = this.#rate;
    if (rate === undefined) return false;
    const index = Math.floor(this.#clock.now() / rate.bucketMs);
    this.#buckets = this.#buckets.filter((b) => b.index > index - BUCKETS && b.index <= index);
    let bucket = this.#buckets.find((b) => b.index === index);
    if (bucket === undefined) {
      bucket = { index, successes: 0, failures: 0 };
      this.#buckets.push(bucket);
    }
    if (failed) bucket.failures++;
    else bucket.successes++;
    if (!failed) return false;
    let failures = 0;
    let total = 0;
    for (const b of this.#buckets) {
      failures += b.failures;
      total += b.failures + b.successes;
    }
    return total >= rate.minimumCalls && failures / total >= rate.threshold;
  }

  #transition(next: CircuitState): void {
    const previous = this.#state;
    if (previous === next) return;
    this.#state = next;
    try {
      this.#onStateChange?.(next, previous);
    } catch {
      // A listener's error must not break the call that changed the state.
    }
  }
}
