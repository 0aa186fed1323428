import { SpanKind, SpanStatusCode, context, metrics, trace } from "@opentelemetry/api";
import type {
  Attributes,
  Counter,
  Histogram,
  Meter,
  MeterProvider,
  ObservableCallback,
  ObservableGauge,
  Span,
  Tracer,
  TracerProvider,
  UpDownCounter,
} from "@opentelemetry/api";
import { CacheError, assertKnownOptions, isCacheError, toMilliseconds } from "@cachet/tier";
import type { Duration } from "@cachet/tier";
import {
  ATTR_CACHE_ACTIVITY,
  ATTR_CACHE_BACKGROUND,
  ATTR_CACHE_KEY,
  ATTR_CACHE_KEY_HASH,
  ATTR_CACHE_NAME,
  ATTR_CACHE_OPERATION,
  ATTR_CACHE_TIER,
  ATTR_ERROR_TYPE,
  METRIC_CACHE_EVENT_COUNT,
  METRIC_CACHE_LOADER_ACTIVE,
  METRIC_CACHE_LOADER_DURATION,
  METRIC_CACHE_OPERATION_DURATION,
  METRIC_CACHE_SIZE,
  SPAN_CACHE_LOAD,
  SPAN_CACHE_TIER,
} from "./attributes.js";
import type { CacheEventLike, InstrumentedCacheLike, TracedCallLike } from "./cache-event-like.js";
import { TierSizeSampler } from "./tier-sizes.js";

/** Name under which meters and tracers are obtained from a provider or the global API. */
const INSTRUMENTATION_SCOPE = "@cachet/telemetry";

/**
 * Bucket boundaries (seconds) suggested to the SDK for both duration histograms: from 0.1 ms (a
 * remote tier on the same host) to 10 s (a slow loader). The SDK default (0, 5, 10, 25... in the
 * unit) would put every cache call in the first bucket. A view configured by the user wins.
 */
const DURATION_BUCKETS = [
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Which spans {@link cacheTelemetry} records. */
export interface CacheTelemetrySpans {
  /**
   * A `cache.load` span around each loader run; the loader runs inside it, so the spans its
   * database or HTTP client makes become its children.
   * @default true when `tracer` or `tracerProvider` is given, false otherwise
   */
  loader?: boolean | undefined;
  /**
   * A `cache.tier` span around each call to a lower (fallback) tier. Off by default because a
   * Redis client's own instrumentation usually spans those calls already; turn it on to see which
   * cache operation made them. The first tier (memory) is never traced: its hits are synchronous.
   * @default false
   */
  tiers?: boolean | undefined;
}

/** A time source for the durations this package measures itself (lower-tier calls). */
export interface TelemetryClock {
  /** Current time in milliseconds; only differences are used. */
  now(): number;
}

/** Options for {@link cacheTelemetry}. */
export interface CacheTelemetryOptions {
  /** Meter for the metrics. @default `meterProvider.getMeter("@cachet/telemetry")`, else the global meter provider's */
  meter?: Meter | undefined;
  /** Provider to get the meter from when `meter` is not given. @default the global meter provider */
  meterProvider?: MeterProvider | undefined;
  /** Tracer for spans. Giving one (or `tracerProvider`) turns loader spans on. @default the global tracer provider's */
  tracer?: Tracer | undefined;
  /** Provider to get the tracer from when `tracer` is not given. @default the global tracer provider */
  tracerProvider?: TracerProvider | undefined;
  /** Which spans to record; see {@link CacheTelemetrySpans}. */
  spans?: CacheTelemetrySpans | undefined;
  /**
   * Record the raw key on spans (`cache.key`), next to its hash. Keys can be personal data and are
   * never put on metrics (one series per key would swamp any backend). The core only hands keys
   * to instrumentation when the cache is built with `.eventKeys(true)`.
   * @default false
   */
  includeKeys?: boolean | undefined;
  /**
   * Time source for lower-tier call durations. Loader durations come from the cache's own clock.
   * Tests pass the cache's `ManualClock` to get exact figures.
   * @default `performance` (monotonic, sub-millisecond)
   */
  clock?: TelemetryClock | undefined;
  /**
   * Which tiers `cache.size` reports. `"first"`: the first tier only (the in-process L1, counted
   * in O(1) at each collection). `"all"`: shared tiers too. Counting a shared tier can be costly
   * (`RedisTier` SCANs its prefix), so those counts are reused for `sharedSizeMaxAge` and then
   * refreshed in the background; a scrape waits for a shared count only the first time.
   * @default "first"
   */
  sizes?: "first" | "all" | undefined;
  /** How long a shared tier's count is reused (see `sizes`). Measured on `clock`. @default 60_000 (1 minute) */
  sharedSizeMaxAge?: Duration | undefined;
}

const KNOWN_OPTIONS = [
  "meter",
  "meterProvider",
  "tracer",
  "tracerProvider",
  "spans",
  "includeKeys",
  "clock",
  "sizes",
  "sharedSizeMaxAge",
];

/**
 * The hooks {@link cacheTelemetry} returns. The object is a `CacheInstrumentation` for
 * `Cache.builder().instrument(...)`; its members are bound functions, so `onEvent` can also be
 * handed to {@link subscribeCacheEvents} directly. None of them ever throws.
 */
export interface CacheTelemetry {
  /** Counts the event (`cache.event.count`) and records loader and operation durations it carries. */
  readonly onEvent: (event: CacheEventLike) => void;
  /** Runs a loader, counting it in `cache.loader.active` and, when enabled, inside a `cache.load` span. */
  readonly traceLoader: <T>(call: TracedCallLike, run: () => Promise<T>) => Promise<T>;
  /** Runs a lower-tier call, timing it into `cache.operation.duration` and, when enabled, spanning it. */
  readonly traceTier: <T>(call: TracedCallLike, run: () => Promise<T>) => Promise<T>;
  /** Starts observing the cache's tier sizes (`cache.size`). Called by the cache when it is built. */
  readonly attach: (cache: InstrumentedCacheLike) => void;
  /** Stops observing the cache's tier sizes. Called by the cache when it closes. */
  readonly detach: (cache: InstrumentedCacheLike) => void;
}

/**
 * Creates OpenTelemetry instrumentation for caches: metrics for every event, loader and tier-call
 * durations, loaders in flight and tier sizes, plus optional spans around loader runs and
 * lower-tier calls. Pass it to `.instrument(...)` on a cache builder; one instance may instrument
 * several caches (their metrics differ by `cache.name`).
 *
 * Built only on `@opentelemetry/api`: with no SDK registered, every instrument is a no-op. Nothing
 * here throws into the cache: a failing exporter or a broken meter loses a data point, never a
 * cache operation.
 *
 * @example
 * import { metrics, trace } from "@opentelemetry/api";
 * const users = Cache.builder<string, User>()
 *   .name("users")
 *   .memory({ maxEntries: 10_000 })
 *   .ttl("1m")
 *   .instrument(cacheTelemetry({ meter: metrics.getMeter("app"), tracer: trace.getTracer("app") }))
 *   .build();
 * @throws CacheError `INVALID_OPTION` naming the option when an option has the wrong type.
 */
export function cacheTelemetry(options: CacheTelemetryOptions = {}): CacheTelemetry {
  validate(options);
  const meter = options.meter ?? (options.meterProvider ?? metrics).getMeter(INSTRUMENTATION_SCOPE);
  const hasTracer = options.tracer !== undefined || options.tracerProvider !== undefined;
  const loaderSpans = options.spans?.loader ?? hasTracer;
  const tierSpans = options.spans?.tiers ?? false;
  const tracer =
    loaderSpans || tierSpans
      ? (options.tracer ?? (options.tracerProvider ?? trace).getTracer(INSTRUMENTATION_SCOPE))
      : undefined;
  const includeKeys = options.includeKeys ?? false;
  const clock: TelemetryClock = options.clock ?? performance;
  const instruments = createInstruments(meter);
  const gauges = new Map<InstrumentedCacheLike, ObservableCallback>();
  const allSizes = options.sizes === "all";
  const sharedSizeMaxAge = toMilliseconds(options.sharedSizeMaxAge ?? 60_000, "sharedSizeMaxAge");

  const onEvent = (event: CacheEventLike): void => {
    try {
      const attributes: Attributes = {
        [ATTR_CACHE_NAME]: event.cache,
        [ATTR_CACHE_OPERATION]: event.operation,
        [ATTR_CACHE_ACTIVITY]: event.type,
      };
      if (event.tier !== undefined) attributes[ATTR_CACHE_TIER] = event.tier;
      if (event.error !== undefined) attributes[ATTR_ERROR_TYPE] = errorType(event.error);
      instruments.events.add(1, attributes);
      const durationMs = event.durationMs;
      if (typeof durationMs !== "number" || !Number.isFinite(durationMs) || durationMs < 0) return;
      const timed: Attributes = {
        [ATTR_CACHE_NAME]: event.cache,
        [ATTR_CACHE_OPERATION]: event.operation,
      };
      if (event.error !== undefined) timed[ATTR_ERROR_TYPE] = errorType(event.error);
      if (event.type === "loaded" || event.type === "loader_failed") {
        instruments.loaderDuration.record(durationMs / 1000, timed);
      } else {
        if (event.tier !== undefined) timed[ATTR_CACHE_TIER] = event.tier;
        instruments.operationDuration.record(durationMs / 1000, timed);
      }
    } catch {
      // Telemetry never breaks the cache.
    }
  };

  const traceLoader = <T>(call: TracedCallLike, run: () => Promise<T>): Promise<T> => {
    let active: Attributes | undefined;
    let span: Span | undefined;
    try {
      const attributes: Attributes = {
        [ATTR_CACHE_NAME]: call.cache,
        [ATTR_CACHE_OPERATION]: call.operation,
      };
      instruments.loaderActive.add(1, attributes);
      active = attributes;
      if (loaderSpans && tracer !== undefined) span = startSpan(tracer, SPAN_CACHE_LOAD, call, includeKeys);
    } catch {
      // Telemetry never breaks the cache.
    }
    return settle(runIn(span, run), (error) => {
      if (active !== undefined) instruments.loaderActive.add(-1, active);
      if (span !== undefined) endSpan(span, error);
    });
  };

  const traceTier = <T>(call: TracedCallLike, run: () => Promise<T>): Promise<T> => {
    let started: number | undefined;
    let span: Span | undefined;
    try {
      started = clock.now();
      if (tierSpans && tracer !== undefined) span = startSpan(tracer, SPAN_CACHE_TIER, call, includeKeys);
    } catch {
      // Telemetry never breaks the cache.
    }
    return settle(runIn(span, run), (error) => {
      if (started !== undefined) {
        const attributes: Attributes = {
          [ATTR_CACHE_NAME]: call.cache,
          [ATTR_CACHE_OPERATION]: call.operation,
        };
        if (call.tier !== undefined) attributes[ATTR_CACHE_TIER] = call.tier;
        if (error !== undefined) attributes[ATTR_ERROR_TYPE] = errorType(error.error);
        instruments.operationDuration.record(Math.max(0, clock.now() - started) / 1000, attributes);
      }
      if (span !== undefined) endSpan(span, error);
    });
  };

  const attach = (cache: InstrumentedCacheLike): void => {
    try {
      if (gauges.has(cache)) return;
      const sampler = new TierSizeSampler(cache, { all: allSizes, maxAge: sharedSizeMaxAge, clock });
      const callback: ObservableCallback = async (result) => {
        try {
          const sizes = await sampler.sample();
          const tiers = cache.tiers;
          for (let i = 0; i < tiers.length; i++) {
            const size = sizes[i];
            if (typeof size === "number" && Number.isFinite(size)) {
              result.observe(size, { [ATTR_CACHE_NAME]: cache.name, [ATTR_CACHE_TIER]: tiers[i]! });
            }
          }
        } catch {
          // A tier that cannot count (or a closed one) just has no data point this time.
        }
      };
      instruments.size.addCallback(callback);
      gauges.set(cache, callback);
    } catch {
      // Telemetry never breaks the cache.
    }
  };

  const detach = (cache: InstrumentedCacheLike): void => {
    try {
      const callback = gauges.get(cache);
      if (callback === undefined) return;
      gauges.delete(cache);
      instruments.size.removeCallback(callback);
    } catch {
      // Telemetry never breaks the cache.
    }
  };

  return { onEvent, traceLoader, traceTier, attach, detach };
}

interface Instruments {
  readonly events: Counter;
  readonly operationDuration: Histogram;
  readonly loaderDuration: Histogram;
  readonly loaderActive: UpDownCounter;
  readonly size: ObservableGauge;
}

function createInstruments(meter: Meter): Instruments {
  // `advice` arrived in @opentelemetry/api 1.7; older APIs ignore the extra field.
  const advice = { advice: { explicitBucketBoundaries: DURATION_BUCKETS } };
  return {
    events: meter.createCounter(METRIC_CACHE_EVENT_COUNT, {
      description: "Cache events (hits, misses, refreshes, stale answers, errors...), by activity",
      unit: "{event}",
    }),
    operationDuration: meter.createHistogram(METRIC_CACHE_OPERATION_DURATION, {
      description: "Duration of calls to lower cache tiers",
      unit: "s",
      ...advice,
    }),
    loaderDuration: meter.createHistogram(METRIC_CACHE_LOADER_DURATION, {
      description: "Duration of loader runs (the function that produces a missing value)",
      unit: "s",
      ...advice,
    }),
    loaderActive: meter.createUpDownCounter(METRIC_CACHE_LOADER_ACTIVE, {
      description: "Loader runs in progress",
      unit: "{loader}",
    }),
    size: meter.createObservableGauge(METRIC_CACHE_SIZE, {
      description: "Approximate number of entries in the first cache tier (and, when asked for, the others)",
      unit: "{entry}",
    }),
  };
}

function startSpan(tracer: Tracer, name: string, call: TracedCallLike, includeKeys: boolean): Span {
  const attributes: Attributes = {
    [ATTR_CACHE_NAME]: call.cache,
    [ATTR_CACHE_OPERATION]: call.operation,
  };
  if (call.tier !== undefined) attributes[ATTR_CACHE_TIER] = call.tier;
  if (call.keyHash !== undefined) attributes[ATTR_CACHE_KEY_HASH] = call.keyHash;
  if (includeKeys && call.key !== undefined) attributes[ATTR_CACHE_KEY] = keyText(call.key);
  if (call.background !== undefined) attributes[ATTR_CACHE_BACKGROUND] = call.background;
  return tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes });
}

function endSpan(span: Span, failure: { error: unknown } | undefined): void {
  if (failure !== undefined) {
    const error = failure.error;
    span.setAttribute(ATTR_ERROR_TYPE, errorType(error));
    if (error instanceof Error) span.recordException(error);
    else span.recordException(String(error));
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
  }
  span.end();
}

/** Calls `run` inside `span`'s context (so nested spans become its children); never throws. */
function runIn<T>(span: Span | undefined, run: () => Promise<T>): Promise<T> {
  try {
    if (span === undefined) return run();
    return context.with(trace.setSpan(context.active(), span), run);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Passes `promise` through unchanged, calling `done` once it settles; `done`'s errors are swallowed. */
function settle<T>(promise: Promise<T>, done: (failure: { error: unknown } | undefined) => void): Promise<T> {
  return promise.then(
    (value) => {
      try {
        done(undefined);
      } catch {
        // Telemetry never breaks the cache.
      }
      return value;
    },
    (error: unknown) => {
      try {
        done({ error });
      } catch {
        // Telemetry never breaks the cache.
      }
      throw error;
    },
  );
}

/** The `error.type` of an error: its `CacheError` code, else its `name`, else `_OTHER`. */
function errorType(error: unknown): string {
  if (isCacheError(error)) return error.code;
  if (error instanceof Error && error.name.length > 0) return error.name;
  return "_OTHER";
}

function keyText(key: unknown): string {
  if (typeof key === "string") return key;
  try {
    return typeof key === "object" && key !== null ? JSON.stringify(key) : String(key);
  } catch {
    return String(key);
  }
}

function validate(options: CacheTelemetryOptions): void {
  if (typeof options !== "object" || options === null) throw invalid("`options` must be an object");
  assertKnownOptions(options, KNOWN_OPTIONS, { owner: "cacheTelemetry" });
  assertKnownOptions(options.spans, ["loader", "tiers"], { owner: "cacheTelemetry", path: "spans" });
  const { meter, meterProvider, tracer, tracerProvider, spans, includeKeys, clock, sizes } = options;
  if (sizes !== undefined && sizes !== "first" && sizes !== "all")
    throw invalid('`sizes` must be "first" or "all"');
  if (meter !== undefined && typeof meter.createCounter !== "function")
    throw invalid("`meter` must be an OpenTelemetry Meter");
  if (meterProvider !== undefined && typeof meterProvider.getMeter !== "function")
    throw invalid("`meterProvider` must be an OpenTelemetry MeterProvider");
  if (tracer !== undefined && typeof tracer.startSpan !== "function")
    throw invalid("`tracer` must be an OpenTelemetry Tracer");
  if (tracerProvider !== undefined && typeof tracerProvider.getTracer !== "function")
    throw invalid("`tracerProvider` must be an OpenTelemetry TracerProvider");
  if (spans !== undefined) {
    if (typeof spans !== "object" || spans === null) throw invalid("`spans` must be an object");
    if (spans.loader !== undefined && typeof spans.loader !== "boolean")
      throw invalid("`spans.loader` must be a boolean");
    if (spans.tiers !== undefined && typeof spans.tiers !== "boolean")
      throw invalid("`spans.tiers` must be a boolean");
  }
  if (includeKeys !== undefined && typeof includeKeys !== "boolean")
    throw invalid("`includeKeys` must be a boolean");
  if (clock !== undefined && typeof clock.now !== "function")
    throw invalid("`clock` must have a `now()` method");
}

function invalid(message: string): CacheError {
  return new CacheError("INVALID_OPTION", message);
}
