import type { ExternalChange } from "@cachet/tier";
import type { CaseContext, CaseDefinition, ConformanceTarget } from "../conformance.js";
import { CacheEntry, MINUTE, assert } from "../helpers.js";

/**
 * Waits for `check` on real time, polling every few ms up to `ms`: the feed of a real backend
 * (Redis tracking) reports on its own sockets, which no manual clock drives.
 */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`${what}: nothing within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function feedOf<K, V>(ctx: CaseContext<K, V>) {
  const feed = ctx.tier.externalChanges;
  assert.ok(
    feed !== undefined,
    "the target declares `externalChanges` but the tier has no `externalChanges`",
  );
  return feed;
}

const needsWriter = <K, V>(target: ConformanceTarget<K, V>): string | undefined =>
  target.externalChanges?.write === undefined ? "no `externalChanges.write` given" : undefined;

export const externalCases: readonly CaseDefinition[] = [
  {
    id: "external-subscribe",
    name: "external: isWatching is a boolean, and unsubscribing stops the listener (twice is harmless)",
    async run(ctx) {
      const feed = feedOf(ctx);
      assert.equal(typeof feed.isWatching, "boolean", "isWatching");
      const seen: ExternalChange<unknown>[] = [];
      const off = feed.subscribe((change) => seen.push(change));
      assert.equal(typeof off, "function", "subscribe must return the function that unsubscribes");
      off();
      off();
      const changes = ctx.target.externalChanges;
      if (changes?.write !== undefined) {
        await changes.write(ctx.namespace, ctx.key(0), ctx.value(0));
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(seen.length, 0, "a listener that unsubscribed was called");
      }
    },
  },
  {
    id: "external-reported",
    name: "external: once watching, a write by another writer is reported with its key",
    applies: needsWriter,
    async run(ctx) {
      const feed = feedOf(ctx);
      const bound = ctx.target.externalChanges!.bound ?? 5_000;
      const keys: unknown[] = [];
      const off = feed.subscribe((change) => {
        if (change.type === "keys") keys.push(...change.keys);
      });
      try {
        await until(() => feed.isWatching, bound, "the tier to start watching");
        // The tier's own write may be reported too (allowed); the other writer's must be.
        await ctx.tier.insert(ctx.key(1), new CacheEntry(ctx.value(1), { ttl: 5 * MINUTE }));
        await ctx.target.externalChanges!.write!(ctx.namespace, ctx.key(0), ctx.value(0));
        await until(
          () => keys.some((key) => isSameKey(key, ctx.key(0))),
          bound,
          "the other writer's key to be reported",
        );
      } finally {
        off();
      }
    },
  },
];

function isSameKey(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}
