/**
 * cachet + OpenTelemetry, printed to the console. Runs without any server: a memory L1 in front of
 * a second in-process tier standing in for Redis, instrumented with `@cachet/telemetry` and the
 * OpenTelemetry SDK's console exporters. It runs a few scripted operations, prints the spans as
 * they end and the metrics once, then exits.
 *
 *   pnpm --filter @cachet/example-telemetry-console start
 */
import assert from "node:assert/strict";
import { Cache, CacheEntry, MemoryTier } from "@cachet/core";
import { cacheTelemetry, subscribeCacheEvents } from "@cachet/telemetry";
import {
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";

async function main(): Promise<void> {
  // The SDK: a metric reader that exports to the console (once, when the provider shuts down),
  // and a tracer provider that prints each span as it ends.
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new ConsoleMetricExporter(),
        exportIntervalMillis: 60_000,
      }),
    ],
  });
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())],
  });

  // Every cache in the process, without touching a builder: log failed loads.
  const stopLogging = subscribeCacheEvents((event) => {
    if (event.type === "loader_failed") {
      console.log(
        `[log] cache ${event.cache}: loader failed after ${event.durationMs} ms (key ${event.keyHash})`,
      );
    }
  });

  const l2 = new MemoryTier<string, string>({ maxEntries: 1_000, name: "l2" });
  const users = Cache.builder<string, string>()
    .name("users")
    .memory({ maxEntries: 100 })
    .ttl("1m")
    .fallback(Cache.builder<string, string>().storage(l2).ttl("10m"))
    .instrument(cacheTelemetry({ meterProvider, tracerProvider }))
    .build();

  const loadUser = async (id: string) => {
    await new Promise((resolve) => setTimeout(resolve, 20)); // a slow database
    return `user ${id}`;
  };

  await users.getOrInsert("1", loadUser); // miss in both tiers: the loader runs (a span)
  await users.getOrInsert("1", loadUser); // L1 hit
  await l2.insert("2", new CacheEntry("user 2 (from L2)", { ttl: 600_000 }));
  await users.get("2"); // L2 hit, promoted into memory
  await Promise.all([users.getOrInsert("3", loadUser), users.getOrInsert("3", loadUser)]); // one load, one joins
  await users
    .getOrInsert("4", () => Promise.reject(new Error("database unavailable")))
    .catch((error: unknown) => console.log(`[app] getOrInsert("4") failed: ${(error as Error).message}`));

  const stats = users.stats();
  console.log("\n[app] stats():", JSON.stringify(stats));
  // What the script did, checked (`pnpm test` runs this file): 2 hits (L1, L2), 3 loads, 1 failed, 1 joined.
  assert.deepEqual(
    {
      hits: stats.hits,
      misses: stats.misses,
      loads: stats.loads,
      loadErrors: stats.loadErrors,
      coalesced: stats.coalesced,
    },
    { hits: 2, misses: 3, loads: 3, loadErrors: 1, coalesced: 1 },
  );
  console.log("\n[app] metrics:");
  await meterProvider.shutdown(); // exports once; before close(), so cache.size still has the cache

  stopLogging();
  await users.close();
  await tracerProvider.shutdown();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
