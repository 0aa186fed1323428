// Builds, uses and closes caches whose RedisTier and RedisBus each create and own their client
// from a URL (the tier's lazy `import("ioredis")` needs a real ESM loader, which jest's CommonJS
// mode lacks, so test/close-leaks.test.ts runs this in a child process). Prints one JSON line:
// the active resources left above the count before, after closing everything.
import { Cache } from "@cachet/core";
import { RedisBus, RedisTier } from "@cachet/redis";

const [url, countArg] = process.argv.slice(2);
const count = Number(countArg ?? 100);

const countBy = (items: readonly string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const item of items) out[item] = (out[item] ?? 0) + 1;
  return out;
};

async function main(): Promise<void> {
  const before = countBy(process.getActiveResourcesInfo());
  let served = 0;
  for (let start = 0; start < count; start += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, count - start) }, async (_, j) => {
        const i = start + j;
        const bus = new RedisBus({ client: url!, transport: i % 2 === 0 ? "pubsub" : "stream" });
        const cache = Cache.builder<string, number>()
          .name("owned")
          .memory({ maxEntries: 10 })
          .fallback(
            Cache.builder<string, number>().storage(
              new RedisTier<string, number>({ client: url!, prefix: `owned${i}` }),
            ),
          )
          .bus(bus)
          .build();
        await bus.ready();
        await cache.insert("a", i, { tags: ["t"] });
        const value = await cache.getOrInsert("b", () => i);
        served += value;
        await cache.invalidateTags(["t"]);
        await cache.close();
        await bus.close();
      }),
    );
  }
  const leftovers = (): Record<string, number> => {
    const extra: Record<string, number> = {};
    for (const [type, n] of Object.entries(countBy(process.getActiveResourcesInfo()))) {
      if (n > (before[type] ?? 0)) extra[type] = n - (before[type] ?? 0);
    }
    return extra;
  };
  for (let i = 0; i < 150 && Object.keys(leftovers()).length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  console.log(JSON.stringify({ served, leftovers: leftovers() }));
}

void main();
