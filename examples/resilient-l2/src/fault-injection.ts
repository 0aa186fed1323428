import { CacheError } from "@cachet/tier";
import type { CacheOperation, CacheOperationName, CacheService, Layer } from "@cachet/service";

/**
 * A layer written for this example: it sits right in front of the backend and, on command, fails
 * or slows down calls, so the example shows the same faults over Redis as over an in-process
 * stand-in. It also counts the calls that get past it, to show what reaches the backend.
 */
export class FaultInjection<K, V> {
  #failNext = 0;
  #failAll = false;
  readonly #delays = new Map<CacheOperationName, number>();
  readonly #reached = new Map<CacheOperationName, number>();
  #attempts = 0;

  /** The layer to put in a `compose(...)`; it is typed for storage services. */
  readonly layer: Layer<CacheService<K, V>> = (inner) => ({
    call: async (op: CacheOperation<K, V>) => {
      this.#attempts++;
      const delay = this.#delays.get(op.op);
      if (delay !== undefined) await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.#failAll || this.#failNext > 0) {
        this.#failNext = Math.max(0, this.#failNext - 1);
        throw new CacheError("TIER_FAILURE", `injected failure of \`${op.op}\``);
      }
      this.#reached.set(op.op, (this.#reached.get(op.op) ?? 0) + 1);
      return inner.call(op);
    },
  });

  /** Fails the next `count` calls, whatever their operation. */
  failNext(count: number): void {
    this.#failNext += count;
  }

  /** Fails every call until {@link FaultInjection.heal}: an outage. */
  outage(): void {
    this.#failAll = true;
  }

  /** Delays every call of `op` by `ms` of real time. */
  slow(op: CacheOperationName, ms: number): void {
    this.#delays.set(op, ms);
  }

  /** Ends every injected fault. */
  heal(): void {
    this.#failNext = 0;
    this.#failAll = false;
    this.#delays.clear();
  }

  /** How many calls came to this layer, faulted or not. */
  get attempts(): number {
    return this.#attempts;
  }

  /** How many calls of `op` reached the backend. */
  reached(op: CacheOperationName): number {
    return this.#reached.get(op) ?? 0;
  }
}
