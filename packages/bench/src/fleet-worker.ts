// One cache instance of the multi-process scenario (`scenarios/fleet.ts`), in its own process with
// its own L1, on the Redis the scenario started: L1 + RedisTier, a RedisBus (pub/sub) and
// distributed stampede protection through a RedisLock. Driven over IPC: `{ id, request }` in,
// `{ id, result | error }` out. Times are epoch milliseconds with sub-ms precision
// (`performance.timeOrigin + performance.now()`), comparable between processes of one machine.
import { Cache } from "@cachet/core";
import type { CacheBusMessage } from "@cachet/core";
import { RedisBus, RedisLock, RedisTier } from "@cachet/redis";
import { Redis } from "ioredis";

/** What the scenario asks a worker to do. */
export type FleetRequest =
  | { op: "ready" }
  | { op: "prime"; key: string }
  | { op: "watch"; key: string; timeoutMs: number }
  | { op: "invalidate"; key: string }
  | { op: "get"; key: string }
  | { op: "stampede"; key: string; at: number; callers: number; loaderMs: number }
  | { op: "close" };

const now = (): number => performance.timeOrigin + performance.now();
const [host, portText, name] = process.argv.slice(2);
const client = new Redis({ host: host!, port: Number(portText), maxRetriesPerRequest: 1 });
const bus = new RedisBus({ client, transport: "pubsub", instanceId: name! });
const lock = new RedisLock({ client, prefix: "bench:lock:" });
const tier = new RedisTier<string, string>({ client, prefix: "bench" });
const cache = Cache.builder<string, string>()
  .name("fleet")
  .memory({ maxEntries: 10_000 })
  .ttl(60_000)
  .fallback(Cache.builder<string, string>().storage(tier))
  .bus(bus)
  .distributedStampedeProtection({ lock, lease: 5_000, pollInterval: 5 })
  .build();

// Subscribed after the cache (which subscribed while it was built), so when this runs for a
// message the cache has already applied it to its L1.
const watchers = new Map<string, (at: number) => void>();
bus.subscribe((message: CacheBusMessage) => {
  if (message.type !== "invalidate" && message.type !== "set") return;
  const at = now();
  for (const key of message.keys) watchers.get(key)?.(at);
});

let loads = 0;

async function handle(request: FleetRequest): Promise<unknown> {
  switch (request.op) {
    case "ready":
      await bus.ready();
      return null;
    case "prime":
      return cache.getOrInsert(request.key, () => Promise.resolve(`value of ${request.key}`));
    case "watch":
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name}: no bus message for ${request.key}`)),
          request.timeoutMs,
        );
        watchers.set(request.key, (at) => {
          clearTimeout(timer);
          watchers.delete(request.key);
          resolve(at);
        });
      });
    case "invalidate": {
      const startedAt = now();
      await cache.invalidate(request.key);
      return { startedAt, doneAt: now() };
    }
    case "get":
      return (await cache.get(request.key))?.value ?? null;
    case "stampede": {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, request.at - now())));
      const before = loads;
      const done: number[] = [];
      await Promise.all(
        Array.from({ length: request.callers }, () =>
          cache
            .getOrInsert(request.key, async () => {
              loads++;
              await new Promise((resolve) => setTimeout(resolve, request.loaderMs));
              return `loaded by ${name}`;
            })
            .then(() => done.push(now() - request.at)),
        ),
      );
      return { loads: loads - before, done };
    }
    case "close":
      await cache.close();
      await Promise.all([bus.close(), lock.close(), tier.close()]);
      client.disconnect();
      return null;
  }
}

process.on("message", (raw: { id: number; request: FleetRequest }) => {
  handle(raw.request).then(
    (result) => process.send!({ id: raw.id, result }),
    (error: unknown) =>
      process.send!({ id: raw.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.on("disconnect", () => process.exit(0));
process.send!({ id: 0, result: "started" });
