/**
 * The known keys of every options object the core takes, for `assertKnownKeys` (`@cachet/tier`):
 * a misspelled key (`{ maxStaleAg }`) is refused with `INVALID_OPTION` instead of being ignored.
 *
 * Each list is written as a `Record<keyof Options, true>`, so adding an option to an interface
 * without adding it here fails the type check. Helpers only: no state, imports types only.
 */
import type { DistributedStampedeOptions, MemoryOptions } from "./cache-builder.js";
import type { FailSafeOptions, GetOrInsertOptions, InsertOptions, LoaderTimeouts } from "./loader.js";

type KeysOf<T> = Record<keyof T, true>;

/** @internal */
export const BUILDER_KEYS = Object.keys({ clock: true } satisfies KeysOf<{ clock: unknown }>);

/** @internal */
export const MEMORY_KEYS = Object.keys({
  maxEntries: true,
  maxBytes: true,
  sizeOf: true,
  codec: true,
  name: true,
} satisfies KeysOf<MemoryOptions<unknown, unknown>>);

/** @internal */
export const STORAGE_KEYS = Object.keys({ close: true } satisfies KeysOf<{ close?: boolean }>);

/** @internal */
export const BUS_KEYS = Object.keys({ keys: true } satisfies KeysOf<{ keys?: unknown }>);

/** @internal */
export const FAIL_SAFE_KEYS = Object.keys({
  maxStaleAge: true,
  backoff: true,
  fallback: true,
} satisfies KeysOf<FailSafeOptions<unknown>>);

/** @internal */
export const TIMEOUT_KEYS = Object.keys({ soft: true, hard: true } satisfies KeysOf<LoaderTimeouts>);

/** @internal */
export const LOCK_KEYS = Object.keys({
  lock: true,
  lease: true,
  pollInterval: true,
} satisfies KeysOf<DistributedStampedeOptions>);

/** @internal */
export const GET_OR_INSERT_KEYS = Object.keys({
  signal: true,
  ttl: true,
  tags: true,
  staleWhileRevalidate: true,
  failSafe: true,
  timeouts: true,
  negativeTtl: true,
} satisfies KeysOf<GetOrInsertOptions<unknown>>);

/** @internal */
export const INSERT_KEYS = Object.keys({ ttl: true, tags: true } satisfies KeysOf<InsertOptions>);
