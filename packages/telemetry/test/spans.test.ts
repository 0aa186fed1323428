import { SpanKind, SpanStatusCode, context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { hashKey } from "@cachet/core";
import { cacheTelemetry } from "../src/index.js";
import { TestOtel } from "./fixtures/otel.js";
import { finish, scenario } from "./fixtures/cache.js";
import type { Scenario } from "./fixtures/cache.js";

let s: Scenario | undefined;
afterEach(async () => {
  if (s !== undefined) await finish(s);
  s = undefined;
});

describe("loader spans", () => {
  it("wraps each loader run in a cache.load span with the key hash", async () => {
    s = scenario();
    expect(await s.cache.getOrInsert("user:1", () => Promise.resolve("v"))).toBe("v");
    expect(await s.cache.getOrInsert("user:1", () => Promise.resolve("unused"))).toBe("v");

    const spans = s.otel.spans();
    expect(spans.map((span) => span.name)).toEqual(["cache.load"]);
    const [span] = spans;
    expect(span!.kind).toBe(SpanKind.INTERNAL);
    expect(span!.attributes).toEqual({
      "cache.name": "users",
      "cache.operation": "getOrInsert",
      "cache.key.hash": hashKey("user:1"),
      "cache.background": false,
    });
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("records a loader error on the span", async () => {
    s = scenario();
    await expect(
      s.cache.getOrInsert("k", () => Promise.reject(new RangeError("no such user"))),
    ).rejects.toMatchObject({
      code: "LOADER",
    });

    const [span] = s.otel.spans();
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: "no such user" });
    expect(span!.attributes["error.type"]).toBe("RangeError");
    expect(span!.events.map((e) => [e.name, e.attributes?.["exception.type"]])).toEqual([
      ["exception", "RangeError"],
    ]);
  });

  it("marks background refreshes", async () => {
    s = scenario((b) => b.timeToRefresh(30_000));
    await s.cache.getOrInsert("k", () => Promise.resolve("v1"));
    await s.clock.advanceAsync(31_000);
    await s.cache.getOrInsert("k", () => Promise.resolve("v2"));
    await s.clock.advanceAsync(0);

    expect(s.otel.spans().map((span) => span.attributes["cache.background"])).toEqual([false, true]);
  });

  it("runs the loader inside its span, so the loader's own spans become children", async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      s = scenario();
      const tracer = s.otel.tracer;
      await s.cache.getOrInsert("k", async () => {
        await Promise.resolve();
        tracer.startSpan("db.query").end();
        return "v";
      });
      const spans = s.otel.spans();
      const load = spans.find((span) => span.name === "cache.load")!;
      const query = spans.find((span) => span.name === "db.query")!;
      expect(query.parentSpanContext?.spanId).toBe(load.spanContext().spanId);
      expect(query.spanContext().traceId).toBe(load.spanContext().traceId);
    } finally {
      context.disable();
    }
  });

  it("records no spans without a tracer unless asked", async () => {
    s = scenario(undefined, { tracer: undefined });
    await s.cache.getOrInsert("k", () => Promise.resolve("v"));
    expect(s.otel.spans()).toEqual([]);
    // The loader is still counted and timed.
    expect(await s.otel.histogram("cache.loader.duration")).toEqual({
      "cache.name=users,cache.operation=getOrInsert": { count: 1, sum: 0 },
    });
  });

  it("can turn loader spans off while keeping a tracer", async () => {
    s = scenario(undefined, { spans: { loader: false } });
    await s.cache.getOrInsert("k", () => Promise.resolve("v"));
    expect(s.otel.spans()).toEqual([]);
  });
});

describe("tier spans", () => {
  it("are off by default, and wrap lower-tier calls when enabled", async () => {
    s = scenario(undefined, { spans: { tiers: true, loader: false } });
    s.l2.failNext("get");
    expect(await s.cache.get("a")).toBeUndefined();
    await s.cache.insert("a", "1");

    const spans = s.otel.spans();
    expect(spans.map((span) => [span.name, span.attributes["cache.operation"], span.status.code])).toEqual([
      ["cache.tier", "get", SpanStatusCode.ERROR],
      ["cache.tier", "insert", SpanStatusCode.UNSET],
    ]);
    expect(spans[0]!.attributes).toEqual({
      "cache.name": "users",
      "cache.operation": "get",
      "cache.tier": "mock",
      "cache.key.hash": hashKey("a"),
      "cache.background": false,
      "error.type": "TIER_FAILURE",
    });
  });

  it("records none with the defaults", async () => {
    s = scenario();
    await s.cache.get("a");
    await s.cache.insert("a", "1");
    expect(s.otel.spans()).toEqual([]);
  });
});

describe("includeKeys", () => {
  const call = { cache: "users", operation: "getOrInsert", keyHash: "0a1b2c3d", key: { id: 7 } };

  it("puts the raw key on spans only when enabled and provided", async () => {
    const otel = new TestOtel();
    const withKeys = cacheTelemetry({ meter: otel.meter, tracer: otel.tracer, includeKeys: true });
    const without = cacheTelemetry({ meter: otel.meter, tracer: otel.tracer });
    expect(await withKeys.traceLoader(call, () => Promise.resolve(1))).toBe(1);
    expect(await without.traceLoader(call, () => Promise.resolve(2))).toBe(2);

    const [first, second] = otel.spans();
    expect(first!.attributes["cache.key"]).toBe('{"id":7}');
    expect(second!.attributes["cache.key"]).toBeUndefined();
    expect(second!.attributes["cache.key.hash"]).toBe("0a1b2c3d");
    await otel.shutdown();
  });

  it("never puts keys on metrics", async () => {
    const otel = new TestOtel();
    const telemetry = cacheTelemetry({ meter: otel.meter, includeKeys: true });
    telemetry.onEvent({
      type: "hit",
      cache: "users",
      tier: "memory",
      operation: "get",
      keyHash: "0a1b2c3d",
      key: "k",
    });
    const [point] = await otel.points("cache.event.count");
    expect(Object.keys(point!.attributes).sort()).toEqual([
      "cache.activity",
      "cache.name",
      "cache.operation",
      "cache.tier",
    ]);
    await otel.shutdown();
  });
});

describe("global API", () => {
  it("gets its meter and tracer from providers under its own scope; the defaults are no-ops", async () => {
    const otel = new TestOtel();
    const meterGlobal = jest.spyOn(otel.meterProvider, "getMeter");
    const telemetry = cacheTelemetry({
      meterProvider: otel.meterProvider,
      tracerProvider: otel.tracerProvider,
    });
    expect(meterGlobal).toHaveBeenCalledWith("@cachet/telemetry");
    await telemetry.traceLoader({ cache: "c", operation: "getOrInsert", keyHash: undefined }, () =>
      Promise.resolve(0),
    );
    const [span] = otel.spans();
    expect(span!.instrumentationScope.name).toBe("@cachet/telemetry");
    // With no SDK registered globally, the defaults are no-ops and never fail.
    const noop = cacheTelemetry();
    noop.onEvent({ type: "miss", cache: "c", tier: undefined, operation: "get", keyHash: undefined });
    expect(
      await noop.traceLoader({ cache: "c", operation: "get", keyHash: undefined }, () => Promise.resolve(3)),
    ).toBe(3);
    expect(trace.getActiveSpan()).toBeUndefined();
    await otel.shutdown();
  });
});
