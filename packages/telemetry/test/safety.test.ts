import type { Meter, Tracer } from "@opentelemetry/api";
import { Cache, ManualClock, isCacheError } from "@cachet/core";
import { cacheTelemetry } from "../src/index.js";
import type { CacheTelemetryOptions } from "../src/index.js";

function throwing(): never {
  throw new Error("broken telemetry backend");
}

/** A meter whose instruments throw on every use. */
const brokenMeter = {
  createCounter: () => ({ add: throwing }),
  createHistogram: () => ({ record: throwing }),
  createUpDownCounter: () => ({ add: throwing }),
  createObservableGauge: () => ({ addCallback: throwing, removeCallback: throwing }),
} as unknown as Meter;

/** A tracer whose spans throw on every use. */
const brokenTracer = {
  startSpan: () => ({
    end: throwing,
    setAttribute: throwing,
    recordException: throwing,
    setStatus: throwing,
  }),
} as unknown as Tracer;

describe("telemetry never throws into the cache", () => {
  it("keeps every operation working when the meter and tracer throw", async () => {
    const clock = new ManualClock();
    const cache = Cache.builder<string, string>({ clock })
      .memory({ maxEntries: 10 })
      .ttl(1_000)
      .instrument(cacheTelemetry({ meter: brokenMeter, tracer: brokenTracer, spans: { tiers: true } }))
      .build();
    let runs = 0;
    const load = () => {
      runs++;
      return Promise.resolve("v");
    };
    expect(await cache.getOrInsert("k", load)).toBe("v");
    expect(await cache.getOrInsert("k", load)).toBe("v");
    expect(runs).toBe(1);
    await expect(cache.getOrInsert("x", () => Promise.reject(new Error("boom")))).rejects.toMatchObject({
      code: "LOADER",
    });
    await cache.insert("a", "1");
    await cache.close();
  });

  it("passes the loader's result and error through unchanged, calling it once", async () => {
    const telemetry = cacheTelemetry({ meter: brokenMeter, tracer: brokenTracer, spans: { tiers: true } });
    const call = { cache: "c", operation: "getOrInsert", keyHash: undefined };
    const run = jest.fn(() => Promise.resolve(42));
    expect(await telemetry.traceLoader(call, run)).toBe(42);
    expect(await telemetry.traceTier({ ...call, tier: "redis" }, run)).toBe(42);
    expect(run).toHaveBeenCalledTimes(2);

    const error = new Error("from the loader");
    await expect(telemetry.traceLoader(call, () => Promise.reject(error))).rejects.toBe(error);
    // A run that throws synchronously becomes a rejection, not a throw.
    const sync = telemetry.traceTier(call, () => {
      throw error;
    });
    await expect(sync).rejects.toBe(error);
    expect(() =>
      telemetry.onEvent({ type: "hit", cache: "c", tier: "m", operation: "get", keyHash: undefined }),
    ).not.toThrow();
    const cache = { name: "c", tiers: ["m"], sizes: () => Promise.resolve([1]) };
    expect(() => telemetry.attach(cache)).not.toThrow();
    expect(() => telemetry.detach(cache)).not.toThrow();
  });
});

describe("options", () => {
  const cases: [string, CacheTelemetryOptions, string][] = [
    ["meter", { meter: {} as Meter }, "`meter` must be an OpenTelemetry Meter"],
    ["tracer", { tracer: {} as Tracer }, "`tracer` must be an OpenTelemetry Tracer"],
    ["spans", { spans: "yes" as never }, "`spans` must be an object"],
    ["spans.loader", { spans: { loader: 1 as never } }, "`spans.loader` must be a boolean"],
    ["spans.tiers", { spans: { tiers: "on" as never } }, "`spans.tiers` must be a boolean"],
    ["includeKeys", { includeKeys: "true" as never }, "`includeKeys` must be a boolean"],
    ["clock", { clock: {} as never }, "`clock` must have a `now()` method"],
    ["sizes", { sizes: "some" as never }, '`sizes` must be "first" or "all"'],
    [
      "a misspelled key",
      { meterprovider: {} } as never,
      "`meterprovider` is not a cacheTelemetry option; did you mean `meterProvider`?",
    ],
    [
      "a misspelled spans key",
      { spans: { loaders: true } } as never,
      "`spans.loaders` is not a cacheTelemetry option; did you mean `spans.loader`?",
    ],
    [
      "meterProvider",
      { meterProvider: {} as never },
      "`meterProvider` must be an OpenTelemetry MeterProvider",
    ],
    [
      "tracerProvider",
      { tracerProvider: {} as never },
      "`tracerProvider` must be an OpenTelemetry TracerProvider",
    ],
  ];
  it.each(cases)("rejects an invalid `%s` with INVALID_OPTION", (_name, options, message) => {
    let thrown: unknown;
    try {
      cacheTelemetry(options);
    } catch (error) {
      thrown = error;
    }
    expect(isCacheError(thrown)).toBe(true);
    expect((thrown as { code?: string }).code).toBe("INVALID_OPTION");
    expect((thrown as Error).message).toBe(message);
  });
});
