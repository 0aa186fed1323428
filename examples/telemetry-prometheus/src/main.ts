/**
 * cachet metrics on a Prometheus endpoint. Runs without any server but its own: the OpenTelemetry
 * Prometheus exporter serves `/metrics` on an HTTP server this script starts (an ephemeral port by
 * default), the script runs a few cache operations, scrapes itself once with `fetch`, prints the
 * Prometheus text and exits.
 *
 *   pnpm --filter @cachet/example-telemetry-prometheus start              # ephemeral port
 *   pnpm --filter @cachet/example-telemetry-prometheus start -- --port 9464
 *   METRICS_PORT=9464 pnpm --filter @cachet/example-telemetry-prometheus start
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Cache, CacheEntry, MemoryTier } from "@cachet/core";
import { cacheTelemetry } from "@cachet/telemetry";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";

function requestedPort(): number {
  const flag = process.argv.indexOf("--port");
  const raw = flag === -1 ? process.env.METRICS_PORT : process.argv[flag + 1];
  if (raw === undefined || raw === "") return 0;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`invalid port: ${raw}`);
  return port;
}

async function main(): Promise<void> {
  // The exporter is a metric reader that renders on request. We mount its handler on our own
  // server (preventServerStart) so we can listen on port 0 and learn the port we got.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const server = createServer((request, response) => {
    if (request.url === "/metrics") exporter.getMetricsRequestHandler(request, response);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(requestedPort(), "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;

  const l2 = new MemoryTier<string, string>({ maxEntries: 1_000, name: "l2" });
  const products = Cache.builder<string, string>()
    .name("products")
    .memory({ maxEntries: 100 })
    .ttl("1m")
    .fallback(Cache.builder<string, string>().storage(l2).ttl("10m"))
    .instrument(cacheTelemetry({ meterProvider }))
    .build();

  const loadProduct = async (id: string) => {
    await new Promise((resolve) => setTimeout(resolve, 15)); // a slow database
    return `product ${id}`;
  };
  for (const id of ["a", "b", "a", "a", "c", "b"]) await products.getOrInsert(id, loadProduct);
  await l2.insert("d", new CacheEntry("product d (from L2)", { ttl: 600_000 }));
  await products.get("d"); // L2 hit, promoted into memory
  await products.get("missing");

  const url = `http://127.0.0.1:${port}/metrics`;
  const response = await fetch(url);
  const text = await response.text();
  console.log(`# scraped ${url}: HTTP ${response.status}\n`);
  console.log(text);
  // What the script did, checked (`pnpm test` runs this file): 3 loads, 3 L1 hits, 1 L2 hit promoted.
  assert.equal(response.status, 200);
  const scope = 'otel_scope_name="@cachet/telemetry"';
  for (const line of [
    `cache_event_count_total{cache_name="products",cache_operation="getOrInsert",cache_activity="hit",cache_tier="memory",${scope}} 3`,
    `cache_event_count_total{cache_name="products",cache_operation="getOrInsert",cache_activity="loaded",${scope}} 3`,
    `cache_event_count_total{cache_name="products",cache_operation="get",cache_activity="promotion",cache_tier="memory",${scope}} 1`,
    `cache_loader_duration_count{cache_name="products",cache_operation="getOrInsert",${scope}} 3`,
    `cache_size{cache_name="products",cache_tier="memory",${scope}} 4`,
  ]) {
    assert.ok(text.includes(line), `missing from /metrics: ${line}`);
  }

  await products.close();
  await meterProvider.shutdown();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
