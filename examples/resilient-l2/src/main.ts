// A remote L2 made resilient with @cachet/service: the storage service is wrapped in
// timeout + retry + circuit breaker, turned back into a tier with ServiceTier, and used as the
// fallback of an in-process L1.
//
// Runs without a Redis server: the L2 backend is then a MockCache. With REDIS_URL set it is a
// RedisTier (keys under a per-process prefix, cleared at the end). Either way, a small custom layer
// (fault-injection.ts) injects failures, latency and an outage to show what each layer does.
// Run it with `pnpm --filter @cachet/example-resilient-l2 start`; each step asserts what it
// prints, so `pnpm test` fails if the story stops being true.
import assert from "node:assert/strict";
import { Cache } from "@cachet/core";
import { CacheError, CircuitBreaker, isCacheError } from "@cachet/tier";
import { MockCache } from "@cachet/tier/testing";
import type { CacheTier } from "@cachet/tier";
import { ServiceTier, circuitBreaker, compose, retry, tap, tierAsService, timeout } from "@cachet/service";
import type { CacheOperation } from "@cachet/service";
import { FaultInjection } from "./fault-injection.js";

interface User {
  id: string;
  name: string;
}

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const describeError = (error: unknown): string => (isCacheError(error) ? error.code : String(error));

async function makeBackend(): Promise<{ remote: CacheTier<string, User>; label: string }> {
  const url = process.env.REDIS_URL;
  if (url) {
    const { RedisTier } = await import("@cachet/redis");
    const prefix = `cachet-example-resilient-l2:${process.pid}`;
    return {
      remote: new RedisTier<string, User>({ client: url, prefix }),
      label: `Redis (prefix ${prefix})`,
    };
  }
  return {
    remote: new MockCache<string, User>({ name: "redis" }),
    label: "an in-process stand-in (set REDIS_URL to use Redis)",
  };
}

const { remote, label } = await makeBackend();
const faults = new FaultInjection<string, User>();

// One breaker instance, so the example can read its state.
const breaker = new CircuitBreaker({
  name: "redis",
  failureThreshold: 3,
  cooldown: "300ms",
  onStateChange: (state, previous) => log(`  [breaker] ${previous} -> ${state}`),
});

const l2 = new ServiceTier<string, User>({
  name: "redis",
  service: compose(
    tap({
      onError: (error, op: CacheOperation<string, User>) =>
        log(`  [l2] ${op.op} failed: ${describeError(error)}`),
    }),
    circuitBreaker(breaker), // outside retry: a refused call is not retried, a retried call counts once
    retry({ attempts: 3, backoff: { initial: "10ms", max: "100ms" }, jitter: 0.5 }),
    timeout("50ms"), // inside retry: each attempt gets 50 ms
    faults.layer, // this example's own layer, right in front of the backend
  )(tierAsService(remote)),
  close: () => remote.close?.() ?? Promise.resolve(),
});

// Two caches over the same L2, as two processes of one service would be.
function makeCache(name: string): Cache<string, User> {
  return Cache.builder<string, User>()
    .name(name)
    .memory({ maxEntries: 1_000 })
    .ttl("30s")
    .fallback(Cache.builder<string, User>().storage(l2).ttl("5m").circuitBreaker(false))
    .build();
}
const first = makeCache("instance-a");
const second = makeCache("instance-b");

let loads = 0;
const loadUser = (id: string): Promise<User> => {
  loads++;
  return Promise.resolve({ id, name: `user ${id}` });
};

async function step(title: string, run: () => Promise<void>): Promise<void> {
  log(`\n${title}`);
  const startedAt = Date.now();
  await run();
  log(`  (${Date.now() - startedAt} ms, loader calls so far: ${loads})`);
}

async function main(): Promise<void> {
  log(`L2 backend: ${label}`);
  await remote.get("warm-up"); // connect before the clock starts: a first connection can exceed 50 ms
  await step("1. A miss everywhere runs the loader and fills L1 and L2", async () => {
    const user = await first.getOrInsert("user:1", () => loadUser("1"));
    log(`  instance-a got ${user.name}`);
    assert.equal(loads, 1);
  });

  await step("2. Another instance finds it in L2, without the loader", async () => {
    const user = await second.getOrInsert("user:1", () => loadUser("1"));
    log(`  instance-b got ${user.name}`);
    assert.equal(loads, 1, "instance-b should have found user:1 in L2");
  });

  await step("3. Two transient L2 failures are retried away", async () => {
    faults.failNext(2);
    const user = await second.getOrInsert("user:2", () => loadUser("2"));
    log(`  instance-b got ${user.name} (the loader ran once: user:2 was nowhere yet)`);
    assert.equal(loads, 2);
    await first.invalidate("user:1"); // drop user:1 from L1 of instance-a and from L2
  });

  await step("4. A slow L2 times out on each attempt; the cache treats it as a miss and loads", async () => {
    faults.slow("get", 200);
    const user = await first.getOrInsert("user:3", () => loadUser("3"));
    log(`  instance-a got ${user.name}`);
    assert.equal(loads, 3);
    faults.heal();
  });

  await step("5. An outage opens the breaker: L2 calls then fail fast with CIRCUIT_OPEN", async () => {
    faults.outage();
    const attemptsBefore = faults.attempts;
    for (let i = 4; i < 8; i++) await first.getOrInsert(`user:${i}`, () => loadUser(String(i)));
    log(
      `  breaker is ${breaker.state}; ${faults.attempts - attemptsBefore} attempts met the outage, ` +
        "then the open breaker refused the rest without trying",
    );
    const direct = await l2.get("user:1").catch((error: unknown) => error);
    log(`  a direct L2 read now rejects with ${describeError(direct)}`);
    assert.equal(breaker.state, "open");
    assert.equal(describeError(direct), "CIRCUIT_OPEN");
  });

  await step("6. After the cooldown one probe succeeds and closes the breaker", async () => {
    faults.heal();
    await new Promise((resolve) => setTimeout(resolve, 350));
    const user = await second.getOrInsert("user:3", () => loadUser("3"));
    log(`  instance-b got ${user.name} from L2 (no loader call); breaker is ${breaker.state}`);
    assert.equal(loads, 7);
    assert.equal(breaker.state, "closed");
  });

  await l2.clear(); // only this run's keys: the tier is scoped to its prefix
  await first.close();
  await second.close();
  await l2.close();
  log("\ndone");
}

main().catch((error: unknown) => {
  log(`example failed: ${error instanceof CacheError ? `${error.code}: ${error.message}` : String(error)}`);
  process.exitCode = 1;
});
