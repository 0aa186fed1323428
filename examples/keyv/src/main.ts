/**
 * Keyv and cachet, both ways.
 *
 * 1. `KeyvTier`: a SQLite file, through the `@keyv/sqlite` adapter, is the L2 of a cachet Cache
 *    (memory L1 in front). Concurrent misses load once; a restarted process finds the value on disk.
 * 2. `keyvStore(cache)`: that Cache is the store of cache-manager 7 (the library behind
 *    `@nestjs/cache-manager`), so cache-manager's reads and writes go through cachet's tiers.
 *
 * Every step asserts what it prints; `pnpm test` runs it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cache } from "@cachet/core";
import { KeyvTier, keyvStore } from "@cachet/keyv";
import KeyvSqlite from "@keyv/sqlite";
import { createCache } from "cache-manager";
import Keyv from "keyv";

interface Product {
  sku: string;
  price: number;
}

const dir = mkdtempSync(join(tmpdir(), "cachet-keyv-example-"));
const file = join(dir, "cache.sqlite");

/** One "process": an L1 in memory, the SQLite file as L2. */
function productsCache(): Cache<string, Product> {
  return Cache.builder<string, Product>()
    .name("products")
    .memory({ maxEntries: 1_000 })
    .ttl("1m")
    .fallback(
      Cache.builder<string, Product>()
        .storage(new KeyvTier<Product>({ store: new KeyvSqlite(`sqlite://${file}`), closeStore: true }))
        .ttl("1h"),
    )
    .build();
}

async function main(): Promise<void> {
  console.log("1. KeyvTier: a SQLite file as the L2 of a cachet Cache\n");
  let loads = 0;
  const loadProduct = async (sku: string): Promise<Product> => {
    loads++;
    await new Promise((resolve) => setTimeout(resolve, 20)); // a slow database
    return { sku, price: 42 };
  };

  const first = productsCache();
  const results = await Promise.all(
    Array.from({ length: 50 }, () => first.getOrInsert("sku-1", loadProduct)),
  );
  console.log(
    `   50 concurrent getOrInsert calls: ${loads} load, every caller got price ${results[0]!.price}`,
  );
  assert.equal(loads, 1);
  assert.ok(results.every((p) => p.price === 42));
  await first.close();

  const restarted = productsCache();
  const again = await restarted.getOrInsert("sku-1", loadProduct);
  console.log(`   after a restart (new Cache, same file): price ${again.price}, loads still ${loads}`);
  assert.equal(loads, 1);
  assert.deepEqual(again, { sku: "sku-1", price: 42 });
  await restarted.close();

  console.log("\n2. keyvStore(cache): a cachet Cache as the store of cache-manager 7\n");
  const cache = Cache.builder<string, unknown>().name("app").memory({ maxEntries: 1_000 }).build();
  const manager = createCache({ stores: [new Keyv({ store: keyvStore(cache), namespace: "app" })] });

  let computed = 0;
  const report = () => {
    computed++;
    return Promise.resolve({ total: 1_234 });
  };
  const a = await manager.wrap("report", report, 30_000);
  const b = await manager.wrap("report", report, 30_000);
  console.log(`   wrap() twice: computed ${computed} time, both got total ${a.total} and ${b.total}`);
  assert.equal(computed, 1);
  assert.deepEqual(b, { total: 1_234 });

  const entry = await cache.get("app:report");
  console.log(`   in the cachet Cache under "app:report", ttl ${entry?.ttl} ms (cache-manager's 30 s)`);
  assert.equal(entry?.ttl, 30_000);

  await manager.del("report");
  assert.equal(await cache.get("app:report"), undefined);
  console.log(`   del() removed it from the Cache: ${String(await manager.get("report"))}`);
  assert.equal(await manager.get("report"), undefined);
  await cache.close();

  console.log("\nok");
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
