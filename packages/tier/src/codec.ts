/**
 * Converts values to bytes and back, at the boundary of a tier that stores bytes (Redis), or of a
 * memory tier that stores copies so callers cannot mutate cached objects.
 *
 * Contract: `decode(encode(v))` is equal to `v` for every value `encode` accepts. A value the codec
 * cannot represent faithfully makes `encode` throw a `CacheError` with code `CODEC`, before anything
 * is stored. `decode` of bytes the codec did not produce throws a `CacheError` with code `CODEC`.
 */
export interface Codec<V> {
  /** Short name used in errors and envelopes, e.g. `"json"`. */
  readonly name?: string;
  /** @throws CacheError `CODEC` when `value` cannot be encoded faithfully. */
  encode(value: V): Uint8Array;
  /** @throws CacheError `CODEC` when `bytes` are not a valid encoding. */
  decode(bytes: Uint8Array): V;
}
