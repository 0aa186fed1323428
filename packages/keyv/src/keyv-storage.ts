/**
 * The part of a Keyv storage adapter (`@keyv/sqlite`, `@keyv/redis`, `@keyv/postgres`...) that
 * {@link KeyvTier} uses, written structurally so that any adapter fits without importing `keyv`.
 *
 * Keyv's contract for adapters, as `KeyvTier` relies on it:
 * - Values are strings here (the tier writes its own envelope); the adapter stores them as is.
 * - `set`'s third argument is a relative ttl in milliseconds (Keyv 5 adapters), or, when the
 *   adapter declares `capabilities.expires === true` (the Keyv 6 contract), an absolute expiry in
 *   epoch milliseconds. `undefined` means "no expiry". Adapters without native expiry ignore it.
 * - The adapter scopes `clear()` (and `iterator`) by its `namespace` property and expects keys to
 *   arrive already prefixed with `<namespace>:`, which is what Keyv does and what the tier does.
 * - Adapters report failures by rejecting, or by emitting `"error"` and resolving (`@keyv/redis`
 *   does the latter unless `throwOnErrors: true`); only rejections reach cachet.
 */
export interface KeyvStorageAdapterLike {
  /** Set by the tier to its namespace; the adapter scopes `clear()` by it. */
  namespace?: string | undefined;
  /** Keyv 6 adapters declare `capabilities.expires` when `set` takes an absolute expiry. */
  readonly capabilities?: { readonly expires?: boolean } | undefined;
  get(key: string): Promise<unknown>;
  set(key: string, value: string, ttlOrExpires?: number): unknown;
  delete(key: string): Promise<unknown>;
  clear(): Promise<unknown>;
  getMany?(keys: string[]): Promise<readonly unknown[]>;
  deleteMany?(keys: string[]): Promise<unknown>;
  iterator?(namespace?: string): AsyncIterable<unknown>;
  disconnect?(): Promise<unknown>;
  on?(event: "error", listener: (error: unknown) => void): unknown;
  off?(event: "error", listener: (error: unknown) => void): unknown;
  removeListener?(event: "error", listener: (error: unknown) => void): unknown;
}
