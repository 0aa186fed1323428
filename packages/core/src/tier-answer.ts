/**
 * The fused read's answer for a tier with `getInto` (see `TierStack.readThen`): the receiver the
 * tier reports to, and the promise the caller gets. Its outcome is the stack's (`TierStack.answered`
 * or `erred`: breaker, failure policy, vetting, promotion, the caller's answer), taken once.
 *
 * The promise's executor is one module-level function, not a closure per read: this runs on every
 * L1 miss over Redis (`packages/bench/PROFILE.md`, "The fused read").
 */
import type { CacheEntry, TierReadReceiver } from "@cachet/tier";
import type { TierReadSink, TierStack } from "./tier-stack.js";

let capturedResolve: ((value: unknown) => void) | undefined;
let capturedReject: ((error: unknown) => void) | undefined;

/** The executor of every {@link TierAnswer}'s promise: one function, not a closure per read. */
function capture(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/**
 * A fused read of a tier with `getInto`: the tier's receiver, and the promise the caller gets. Its
 * outcome is the stack's answer (`TierStack.answered` / `erred`), taken once: a tier that calls
 * back twice is ignored the second time.
 */
export class TierAnswer<K, V, R> implements TierReadReceiver<V> {
  readonly promise: Promise<Awaited<R>>;
  readonly #resolve: (value: unknown) => void;
  readonly #reject: (error: unknown) => void;
  readonly #stack: TierStack<K, V>;
  readonly #key: K;
  readonly #sink: TierReadSink<K, V, R>;
  #done = false;

  constructor(stack: TierStack<K, V>, key: K, sink: TierReadSink<K, V, R>) {
    this.promise = new Promise<Awaited<R>>(capture as (resolve: (value: Awaited<R>) => void) => void);
    this.#resolve = capturedResolve!;
    this.#reject = capturedReject!;
    capturedResolve = capturedReject = undefined;
    this.#stack = stack;
    this.#key = key;
    this.#sink = sink;
  }

  answered(entry: CacheEntry<V> | undefined): void {
    if (this.#done) return;
    this.#done = true;
    try {
      this.#resolve(this.#stack.answered(this.#key, this.#sink, entry));
    } catch (error) {
      this.#reject(error);
    }
  }

  failed(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    try {
      this.#resolve(this.#stack.erred(this.#key, this.#sink, error));
    } catch (thrown) {
      this.#reject(thrown);
    }
  }
}
