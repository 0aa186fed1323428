/**
 * The cache's background work: refreshes, promotions and write-backs nobody awaits.
 *
 * Owns the set of those promises so that `close()` can wait for them. A tracked promise never
 * rejects (its failure has already been reported as an event), so background work can never
 * produce an unhandled rejection.
 */

/** @internal */
export class BackgroundWork {
  readonly #pending = new Set<Promise<unknown>>();

  track(promise: Promise<unknown>): void {
    const tracked = promise.catch(noop);
    this.#pending.add(tracked);
    void tracked.finally(() => this.#pending.delete(tracked));
  }

  /** Resolves once everything tracked so far has finished. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }
}

/** @internal */
export function noop(): void {}
