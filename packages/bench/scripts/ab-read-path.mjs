// A/B of cachet's Redis read path between two checkouts, with one driver and no bench harness:
//
//   node scripts/ab-read-path.mjs <checkout root> <redis port> <l2only|backfill> <rate|alloc>
//
// `<checkout root>` is a built clone (packages/core, packages/redis dist present), e.g. an old
// commit checked out with `git worktree add /tmp/before <commit>` then `pnpm install` and
// `pnpm turbo run build --filter @cachet/core --filter @cachet/redis --filter @cachet/memory`.
// Run both checkouts alternately against one redis-server started by hand on a free port (this is
// a tool, not a test). `rate` prints reads per second over 100,000 reads; `alloc` prints bytes
// allocated per read (V8 sampling heap profiler, collected objects included), which the machine's
// load does not move. Workload: 5,000 keys inserted through the cache, then uniformly random reads,
// 256 in flight, after 30,000 warm-up reads; `backfill` puts a 50-entry L1 in front (about 99% of
// reads miss it, hit Redis and back-fill it).
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [root, port, mode, measure] = process.argv.slice(2);
if (
  root === undefined ||
  port === undefined ||
  !["l2only", "backfill"].includes(mode) ||
  !["rate", "alloc"].includes(measure)
) {
  console.error(
    "usage: node scripts/ab-read-path.mjs <checkout root> <redis port> <l2only|backfill> <rate|alloc>",
  );
  process.exit(2);
}
const load = (name) => import(pathToFileURL(join(root, "packages", name, "dist", "index.js")).href);
const { Cache } = await load("core");
const { RedisTier } = await load("redis");

const TTL = 3_600_000;
const KEYS = 5_000;
const tier = new RedisTier({ client: `redis://127.0.0.1:${port}`, prefix: `ab${process.pid}` });
const builder =
  mode === "l2only"
    ? Cache.builder().storage(tier)
    : Cache.builder().memory({ maxEntries: 50 }).fallback(Cache.builder().storage(tier).ttl(TTL));
const cache = builder.ttl(TTL).build();
const value = (i) => ({
  id: i,
  name: `user ${i}`,
  email: `user${i}@example.com`,
  roles: ["reader"],
  active: i % 2 === 0,
});
for (let i = 0; i < KEYS; i++) await cache.insert(`k${i}`, value(i));

let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
async function reads(count) {
  let left = count;
  const loop = async () => {
    while (left-- > 0) {
      if ((await cache.get(`k${Math.floor(random() * KEYS)}`)) === undefined)
        throw new Error("unexpected miss");
    }
  };
  await Promise.all(Array.from({ length: 256 }, loop));
}

await reads(30_000);
if (measure === "alloc") {
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.enable");
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 32,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await reads(20_000);
  const { profile } = await session.post("HeapProfiler.stopSampling");
  session.disconnect();
  let total = 0;
  const walk = (node) => {
    total += node.selfSize;
    node.children.forEach(walk);
  };
  walk(profile.head);
  console.log(JSON.stringify({ root, mode, bytesPerRead: Math.round(total / 20_000) }));
} else {
  const started = performance.now();
  await reads(100_000);
  console.log(
    JSON.stringify({ root, mode, readsPerSec: Math.round(100_000 / ((performance.now() - started) / 1000)) }),
  );
}
await cache.close();
