import { channel } from "node:diagnostics_channel";
import { CACHE_EVENT_CHANNEL } from "@cachet/tier";
import type { CacheEvent, CacheEventType, CacheOperationName } from "@cachet/tier";

/**
 * The event object a cache hands to listeners. The key hash is computed on first read, so a
 * listener that only counts events does not pay for hashing every key.
 * @internal
 */
export class CacheEventRecord implements CacheEvent {
  readonly type: CacheEventType;
  readonly cache: string;
  readonly tier: string | undefined;
  readonly operation: CacheOperationName;
  declare key?: unknown;
  declare durationMs?: number;
  declare error?: unknown;
  declare background?: boolean;
  declare reason?: string;
  readonly #rawKey: unknown;
  #hash: string | undefined;

  constructor(
    type: CacheEventType,
    cache: string,
    tier: string | undefined,
    operation: CacheOperationName,
    key: unknown,
  ) {
    this.type = type;
    this.cache = cache;
    this.tier = tier;
    this.operation = operation;
    this.#rawKey = key;
  }

  get keyHash(): string | undefined {
    if (this.#rawKey === undefined) return undefined;
    return (this.#hash ??= hashKey(this.#rawKey));
  }

  /** A plain copy, for logging with `JSON.stringify`. */
  toJSON(): CacheEvent {
    const plain: { -readonly [P in keyof CacheEvent]: CacheEvent[P] } = {
      type: this.type,
      cache: this.cache,
      tier: this.tier,
      operation: this.operation,
      keyHash: this.keyHash,
    };
    if (this.key !== undefined) plain.key = this.key;
    if (this.durationMs !== undefined) plain.durationMs = this.durationMs;
    if (this.error !== undefined) plain.error = this.error;
    if (this.background !== undefined) plain.background = this.background;
    if (this.reason !== undefined) plain.reason = this.reason;
    return plain;
  }
}

/** @internal */
export const cacheEventChannel = channel(CACHE_EVENT_CHANNEL);

/** Short, stable, non-cryptographic hash of a key for telemetry (FNV-1a, 32 bits, hex). */
export function hashKey(key: unknown): string {
  const text = typeof key === "string" ? key : safeString(key);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

function safeString(key: unknown): string {
  try {
    return typeof key === "object" && key !== null ? JSON.stringify(key) : String(key);
  } catch {
    return String(key);
  }
}
