import type { InstrumentedCacheLike } from "./cache-event-like.js";

/** A time source in milliseconds (only differences are used). */
interface Now {
  now(): number;
}

interface Sample {
  values: readonly (number | undefined)[];
  at: number;
}

/**
 * Decides which tier sizes `cache.size` reports, and how often each is counted.
 *
 * The first tier (the in-process L1) counts in O(1) and is read at every collection. A shared tier
 * may count by scanning a whole keyspace (`RedisTier.size()` SCANs its prefix: about half a second
 * with 500k keys), so it is reported only when asked for (`"all"`), and its count is reused for
 * `maxAge`: after the first collection, a stale count is refreshed in the background and a scrape
 * never waits on a scan.
 *
 * With a cache that can count one tier (`sizeOf`), nothing else is ever counted. An older cache
 * can only count every tier at once (`sizes()`); it is then sampled at most once per `maxAge`.
 */
export class TierSizeSampler {
  readonly #cache: InstrumentedCacheLike;
  readonly #all: boolean;
  readonly #maxAge: number;
  readonly #clock: Now;
  readonly #shared = new Map<number, Sample>();
  readonly #refreshing = new Set<number>();
  #whole: Sample | undefined;
  #wholeRefresh: Promise<void> | undefined;

  constructor(cache: InstrumentedCacheLike, options: { all: boolean; maxAge: number; clock: Now }) {
    this.#cache = cache;
    this.#all = options.all;
    this.#maxAge = options.maxAge;
    this.#clock = options.clock;
  }

  /** One value per tier, `undefined` where nothing is reported this time. */
  async sample(): Promise<(number | undefined)[]> {
    const count = this.#cache.tiers.length;
    const out = new Array<number | undefined>(count).fill(undefined);
    const sizeOf = this.#cache.sizeOf?.bind(this.#cache);
    if (sizeOf !== undefined) {
      if (count > 0) out[0] = await sizeOf(0);
      if (this.#all) {
        for (let i = 1; i < count; i++) out[i] = await this.#sharedSize(i, sizeOf);
      }
      return out;
    }
    if (this.#whole === undefined) await this.#refreshWhole();
    else if (this.#isOld(this.#whole)) void this.#refreshWhole();
    const values = this.#whole?.values ?? [];
    for (let i = 0; i < count; i++) if (i === 0 || this.#all) out[i] = values[i];
    return out;
  }

  #isOld(sample: Sample): boolean {
    return this.#clock.now() - sample.at >= this.#maxAge;
  }

  async #sharedSize(
    tier: number,
    sizeOf: (tier: number) => Promise<number | undefined>,
  ): Promise<number | undefined> {
    const cached = this.#shared.get(tier);
    const refresh = async (): Promise<void> => {
      if (this.#refreshing.has(tier)) return;
      this.#refreshing.add(tier);
      try {
        this.#shared.set(tier, { values: [await sizeOf(tier)], at: this.#clock.now() });
      } catch {
        // No count this time; the old one (if any) stays until the next try.
      } finally {
        this.#refreshing.delete(tier);
      }
    };
    if (cached === undefined) {
      await refresh();
      return this.#shared.get(tier)?.values[0];
    }
    if (this.#isOld(cached)) void refresh();
    return cached.values[0];
  }

  #refreshWhole(): Promise<void> {
    this.#wholeRefresh ??= this.#cache
      .sizes()
      .then(
        (values) => {
          this.#whole = { values, at: this.#clock.now() };
        },
        () => undefined,
      )
      .finally(() => {
        this.#wholeRefresh = undefined;
      });
    return this.#wholeRefresh;
  }
}
