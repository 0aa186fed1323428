import type { CacheEvent, TracedCall } from "@cachet/tier";
import type { CacheStats } from "./cache-stats.js";

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
