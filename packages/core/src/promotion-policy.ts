import { CacheError } from "@cachet/tier";
import type { CacheEntry } from "@cachet/tier";

/**
 * Decides whether an entry found in a lower tier is copied into the tier above it (for example an
 * L2 Redis hit copied into the L1 memory tier). A promoted copy never outlives the original: it keeps
 * the lower entry's `cachedAt` and expires no later than it does.
 *
 * @example
 * PromotionPolicy.always();
 * PromotionPolicy.never();
 * PromotionPolicy.when((entry) => !entry.tags.includes("large"));
 */
export class PromotionPolicy<V = unknown> {
  readonly #predicate: ((entry: CacheEntry<V>) => boolean) | undefined;
  readonly #always: boolean;

  private constructor(always: boolean, predicate?: (entry: CacheEntry<V>) => boolean) {
    this.#always = always;
    this.#predicate = predicate;
  }

  /** Promote every lower-tier hit. The default. */
  static always<V = unknown>(): PromotionPolicy<V> {
    return new PromotionPolicy<V>(true);
  }

  /** Never promote: the upper tier holds only what was inserted or loaded through it. */
  static never<V = unknown>(): PromotionPolicy<V> {
    return new PromotionPolicy<V>(false);
  }

  /**
   * Promote the entries for which `predicate` returns true. A predicate that throws counts as false.
   * @throws CacheError `INVALID_OPTION` when `predicate` is not a function.
   */
  static when<V = unknown>(predicate: (entry: CacheEntry<V>) => boolean): PromotionPolicy<V> {
    if (typeof predicate !== "function") {
      throw new CacheError("INVALID_OPTION", "`PromotionPolicy.when` needs a predicate function");
    }
    return new PromotionPolicy<V>(false, predicate);
  }

  /** Whether `entry` should be copied into the upper tier. */
  shouldPromote(entry: CacheEntry<V>): boolean {
    if (this.#always) return true;
    if (this.#predicate === undefined) return false;
    try {
      return this.#predicate(entry) === true;
    } catch {
      return false;
    }
  }
}
