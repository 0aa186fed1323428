import { CacheError, assertTagList } from "@cachet/tier";
import type { CacheEntry } from "@cachet/tier";
import type { Cache } from "./cache.js";
import type { GetOrInsertOptions, InsertOptions, Loader } from "./loader.js";

/** The tag every entry written through a namespace carries; `clear()` invalidates it. */
export function namespaceTag(path: string): string {
  return `cachet:ns:${path}`;
}

/**
 * A view of a `Cache<string, V>` whose keys live under a prefix (`users:`) and whose `clear()`
 * removes only its own entries, in every tier and every instance, without scanning. Get one with
 * `cache.namespace("users")`; namespaces nest (`cache.namespace("a").namespace("b")`).
 *
 * Entries written through the view carry the tag `cachet:ns:<path>`; `clear()` invalidates that tag.
 * Each method does what the `Cache` method of the same name does, for `path:key`.
 *
 * Names: a non-empty string without `:` (the separator of nested paths); keys may contain anything.
 */
export class CacheNamespace<V> {
  /** The full path of this namespace, e.g. `"tenant-1:users"`. */
  readonly path: string;
  readonly #cache: Cache<string, V>;
  readonly #prefix: string;
  readonly #tags: readonly string[];

  /** @internal Use `cache.namespace(name)`. */
  static of<V>(cache: Cache<string, V>, name: string): CacheNamespace<V> {
    return new CacheNamespace(cache, name);
  }

  /** Use `cache.namespace(name)`. */
  private constructor(cache: Cache<string, V>, name: string, parent?: CacheNamespace<V>) {
    if (typeof name !== "string" || name.length === 0 || name.includes(":")) {
      throw new CacheError("INVALID_OPTION", "`namespace` name must be a non-empty string without `:`");
    }
    this.#cache = cache;
    this.path = parent === undefined ? name : `${parent.path}:${name}`;
    this.#prefix = `${this.path}:`;
    this.#tags =
      parent === undefined ? [namespaceTag(this.path)] : [...parent.#tags, namespaceTag(this.path)];
  }

  /** A namespace inside this one. */
  namespace(name: string): CacheNamespace<V> {
    return new CacheNamespace(this.#cache, name, this);
  }

  /** The key under which `key` is stored in the underlying cache. */
  keyOf(key: string): string {
    return this.#prefix + key;
  }

  get(key: string): Promise<CacheEntry<V> | undefined> {
    return this.#cache.get(this.#prefix + key);
  }

  getValue(key: string): Promise<V | undefined> {
    return this.#cache.getValue(this.#prefix + key);
  }

  has(key: string): Promise<boolean> {
    return this.#cache.has(this.#prefix + key);
  }

  getOrInsert(key: string, loader: Loader<string, V>, options?: GetOrInsertOptions<V>): Promise<V> {
    let withTags: GetOrInsertOptions<V>;
    try {
      withTags = this.#withTags(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#cache.getOrInsert(this.#prefix + key, (_, ctx) => loader(key, ctx), withTags);
  }

  optionallyGetOrInsert(
    key: string,
    loader: Loader<string, V | undefined>,
    options?: GetOrInsertOptions<V>,
  ): Promise<V | undefined> {
    let withTags: GetOrInsertOptions<V>;
    try {
      withTags = this.#withTags(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#cache.optionallyGetOrInsert(this.#prefix + key, (_, ctx) => loader(key, ctx), withTags);
  }

  async insert(key: string, value: V | CacheEntry<V>, options?: InsertOptions): Promise<void> {
    return this.#cache.insert(this.#prefix + key, value, {
      ...options,
      tags: mergeTags(options?.tags, this.#tags),
    });
  }

  async insertMany(
    entries: Iterable<readonly [key: string, value: V | CacheEntry<V>]>,
    options?: InsertOptions,
  ): Promise<void> {
    const prefixed = [...entries].map(([key, value]) => [this.#prefix + key, value] as const);
    return this.#cache.insertMany(prefixed, { ...options, tags: mergeTags(options?.tags, this.#tags) });
  }

  invalidate(key: string): Promise<void> {
    return this.#cache.invalidate(this.#prefix + key);
  }

  invalidateMany(keys: Iterable<string>): Promise<void> {
    return this.#cache.invalidateMany([...keys].map((key) => this.#prefix + key));
  }

  invalidateTags(tags: readonly string[]): Promise<void> {
    return this.#cache.invalidateTags(tags);
  }

  expireTags(tags: readonly string[]): Promise<void> {
    return this.#cache.expireTags(tags);
  }

  /** Removes every entry of this namespace (and of namespaces inside it), everywhere. */
  clear(): Promise<void> {
    return this.#cache.invalidateTags([namespaceTag(this.path)]);
  }

  #withTags(options: GetOrInsertOptions<V> | undefined): GetOrInsertOptions<V> {
    return { ...options, tags: mergeTags(options?.tags, this.#tags) };
  }
}

/** The call's own tags (checked first: a string would be spread into letters) plus the namespace's. */
function mergeTags(own: readonly string[] | undefined, ns: readonly string[]): readonly string[] {
  if (own === undefined) return ns;
  assertTagList(own, "tags");
  return own.length === 0 ? ns : [...new Set([...own, ...ns])];
}
