/**
 * The context a single-key loader receives (`LoaderContext`): its signal and stale entry, plus
 * what the loader may decide about the entry it produces (ttl, tags, not caching it at all).
 *
 * Owns only what the loader told it. It must never write a tier or settle a flight: the load
 * coordinator reads {@link LoadContext.finish} and {@link LoadContext.skipped} once the loader
 * has returned; calls made after that have no effect.
 */
import { CacheEntry, assertTagList, isCacheEntry, toMilliseconds } from "@cachet/tier";
import type { Duration, Milliseconds } from "@cachet/tier";
import { loaderFailure } from "./loader.js";
import type { LoaderContext, LoaderFailure } from "./loader.js";

/** @internal */
export class LoadContext<V> implements LoaderContext<V> {
  readonly signal: AbortSignal;
  readonly stale: CacheEntry<V> | undefined;
  readonly background: boolean;
  #ttl: Milliseconds | undefined;
  #tags: readonly string[] | undefined;
  #skipped = false;

  constructor(signal: AbortSignal, stale: CacheEntry<V> | undefined, background: boolean) {
    this.signal = signal;
    this.stale = stale;
    this.background = background;
  }

  // Arrow properties, so that a destructured `({ setTtl, skip })` still works.
  readonly fail = (reason?: unknown): LoaderFailure => loaderFailure(reason);

  readonly setTtl = (ttl: Duration): void => {
    this.#ttl = toMilliseconds(ttl, "ctx.setTtl");
  };

  readonly setTags = (tags: readonly string[]): void => {
    assertTagList(tags, "ctx.setTags");
    this.#tags = tags;
  };

  readonly skip = (): void => {
    this.#skipped = true;
  };

  /** True when the loader called `skip()`: its result is handed to the callers and not cached. */
  get skipped(): boolean {
    return this.#skipped;
  }

  /**
   * The loader's result with what it set through the context applied: a `CacheEntry` carrying the
   * ttl and tags (which replace those of an entry the loader returned), or the result as it was.
   * `undefined` (nothing found) stays `undefined`.
   */
  finish(result: unknown): unknown {
    const ttl = this.#ttl;
    const tags = this.#tags;
    if (result === undefined || (ttl === undefined && tags === undefined)) return result;
    if (isCacheEntry(result)) {
      const entry = result as CacheEntry<V>;
      return entry.with({ ...(ttl === undefined ? {} : { ttl }), ...(tags === undefined ? {} : { tags }) });
    }
    return new CacheEntry(result as V, { ttl, tags });
  }
}
