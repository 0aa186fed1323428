import type { CacheEvent, CacheOperationName } from "./cache-event.js";
import type { CacheStats } from "./cache-stats.js";

/** What an instrumentation learns about one traced call. */
export interface TracedCall {
  /** The cache's name. */
  readonly cache: string;
  /** The tier called, for {@link CacheInstrumentation.traceTier}. */
  readonly tier?: string;
  readonly operation: CacheOperationName | "get" | "insert" | "invalidate" | "clear" | "getMany";
  /** Hash of the key, when the call concerns one key. */
  readonly keyHash: string | undefined;
  /**
   * The raw key, when the call concerns one key. Instrumentation must not record it unless the
   * user opted in (`@cachet/telemetry` records only `keyHash` by default).
   */
  readonly key?: unknown;
  /** True for background refreshes. */
  readonly background?: boolean;
}

/** The view of a cache an instrumentation may observe (for gauges). */
export interface InstrumentedCache {
  readonly name: string;
  readonly tiers: readonly string[];
  sizes(): Promise<(number | undefined)[]>;
  stats(): CacheStats;
}

/**
 * Hooks for telemetry, set with `.instrument(...)` on the builder (`@cachet/telemetry` provides
 * one for OpenTelemetry). Every hook is optional; a cache without instrumentation pays nothing.
 * Hooks must not throw; errors they throw are ignored.
 */
export interface CacheInstrumentation {
  /** Receives every event (like `.onEvent`). */
  onEvent?(event: CacheEvent): void;
  /** Wraps each loader run, e.g. in a span. Must call `run` once and return its result. */
  traceLoader?<T>(call: TracedCall, run: () => Promise<T>): Promise<T>;
  /** Wraps each call to a lower (fallback) tier. Must call `run` once and return its result. */
  traceTier?<T>(call: TracedCall, run: () => Promise<T>): Promise<T>;
  /** Called once when the cache is built. */
  attach?(cache: InstrumentedCache): void;
  /** Called once when the cache closes. */
  detach?(cache: InstrumentedCache): void;
}
