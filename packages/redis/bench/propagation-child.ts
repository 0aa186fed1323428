// One side of the propagation benchmark (see propagation.ts): a cache instance in its own process.
// Roles: "pinger" measures ping → pong round trips and sends the throughput burst; "ponger"
// answers each ping with an invalidation of its own and counts the burst.
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { Cache } from "@cachet/core";
import { Redis } from "ioredis";
import { RedisBus } from "../src/bus/redis-bus.js";
import { RedisTier } from "../src/redis-tier.js";

export type Mode = "cachet-pubsub" | "cachet-stream" | "bentocache";

export interface ChildConfig {
  mode: Mode;
  role: "pinger" | "ponger";
  url: string;
  channel: string;
  /** Where bentocache's entry points are, when it is installed in packages/bench. */
  bento?: { main: string; redisDrivers: string; memoryDriver: string };
}

/** What the benchmark needs from a cache instance, for cachet and bentocache alike. */
interface Instance {
  invalidate(key: string): Promise<void>;
  onReceived(handler: (keys: readonly string[]) => void): void;
  close(): Promise<void>;
}

async function cachetInstance(config: ChildConfig): Promise<Instance> {
  const client = new Redis(config.url);
  const bus = new RedisBus({
    client,
    transport: config.mode === "cachet-stream" ? "stream" : "pubsub",
    channel: config.channel,
  });
  const tier = new RedisTier<string, string>({ client, prefix: config.channel });
  const cache = Cache.builder<string, string>()
    .name("bench")
    .memory({ maxEntries: 100_000 })
    .ttl(60_000)
    .fallback(Cache.builder<string, string>().storage(tier))
    .bus(bus)
    .build();
  await bus.ready();
  return {
    invalidate: (key) => cache.invalidate(key),
    onReceived: (handler) =>
      void bus.subscribe((message) => {
        if (message.type === "invalidate" || message.type === "set") handler(message.keys);
      }),
    close: async () => {
      await cache.close();
      await bus.close();
      await tier.close();
      client.disconnect();
    },
  };
}

interface BentoModule {
  BentoCache: new (options: object) => {
    delete(options: { key: string }): Promise<boolean>;
    get(options: { key: string }): Promise<unknown>;
    on(event: string, handler: (data: { message: { keys: string[] } }) => void): void;
    disconnectAll(): Promise<void>;
  };
  bentostore: () => {
    useL1Layer(driver: unknown): ReturnType<BentoModule["bentostore"]>;
    useL2Layer(driver: unknown): ReturnType<BentoModule["bentostore"]>;
    useBus(driver: unknown): ReturnType<BentoModule["bentostore"]>;
  };
}

async function bentoInstance(config: ChildConfig): Promise<Instance> {
  const paths = config.bento!;
  const { BentoCache, bentostore } = (await import(pathToFileURL(paths.main).href)) as BentoModule;
  const drivers = (await import(pathToFileURL(paths.redisDrivers).href)) as {
    redisDriver(options: object): unknown;
    redisBusDriver(options: object): unknown;
  };
  const { memoryDriver } = (await import(pathToFileURL(paths.memoryDriver).href)) as {
    memoryDriver(options: object): unknown;
  };
  const url = new URL(config.url);
  const connection = { host: url.hostname, port: Number(url.port) };
  const bento = new BentoCache({
    default: "bench",
    stores: {
      bench: bentostore()
        .useL1Layer(memoryDriver({ maxItems: 100_000 }))
        .useL2Layer(drivers.redisDriver({ connection, prefix: config.channel }))
        .useBus(drivers.redisBusDriver({ connection })),
    },
  });
  // bentocache only handles bus messages for a cache once it was used; then let the bus subscribe.
  await bento.get({ key: "warm-up" });
  await new Promise((resolve) => setTimeout(resolve, 300));
  return {
    invalidate: async (key) => void (await bento.delete({ key })),
    onReceived: (handler) => bento.on("bus:message:received", ({ message }) => handler(message.keys)),
    close: () => bento.disconnectAll(),
  };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]!) as ChildConfig;
  const instance = config.mode === "bentocache" ? await bentoInstance(config) : await cachetInstance(config);
  const pongWaiters = new Map<string, () => void>();
  let burstExpected = Number.POSITIVE_INFINITY;
  let burstSeen = 0;
  instance.onReceived((keys) => {
    for (const key of keys) {
      if (key.startsWith("ping:") && config.role === "ponger") {
        void instance.invalidate(`pong:${key.slice(5)}`);
      } else if (key.startsWith("pong:")) {
        pongWaiters.get(key)?.();
      } else if (key.startsWith("tput:") && ++burstSeen === burstExpected) {
        process.send!({ type: "burst-done" });
      }
    }
  });

  async function pingPong(rounds: number): Promise<number[]> {
    const rtts: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const pong = `pong:${i}:${Math.random()}`;
      const arrived = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pong} within 5 s`)), 5_000);
        pongWaiters.set(pong, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const started = performance.now();
      await instance.invalidate(`ping:${pong.slice(5)}`);
      await arrived;
      rtts.push(performance.now() - started);
      pongWaiters.delete(pong);
    }
    return rtts;
  }

  async function burst(count: number, window: number): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) await instance.invalidate(`tput:${next++}`);
    };
    await Promise.all(Array.from({ length: window }, worker));
  }

  process.on("message", (message: { type: string; rounds?: number; count?: number; window?: number }) => {
    const reply = (promise: Promise<unknown>): void => {
      promise.then(
        (result) => process.send!({ type: "result", result }),
        (error: unknown) => process.send!({ type: "error", error: String(error) }),
      );
    };
    switch (message.type) {
      case "pingpong":
        reply(pingPong(message.rounds!));
        break;
      case "expect-burst":
        burstSeen = 0;
        burstExpected = message.count!;
        reply(Promise.resolve(null));
        break;
      case "burst":
        reply(burst(message.count!, message.window!));
        break;
      case "close":
        reply(instance.close());
        break;
    }
  });
  process.on("disconnect", () => process.exit(0));
  process.send!({ type: "ready" });
}

void main();
