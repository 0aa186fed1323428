import * as assert from "node:assert/strict";
import { CacheEntry, isCacheError } from "@cachet/tier";
import type { CacheTier } from "@cachet/tier";
import type { ConformanceCaseId } from "./conformance.js";

/** The minutes-long ttls keep real-time expiry in a backend (Redis PX) far away while the kit's clock jumps. */
export const MINUTE = 60_000;

/** Asserts that `entry` is present with the expected value and, where given, metadata. */
export function assertEntry<V>(
  entry: CacheEntry<V> | undefined,
  expected: {
    value: V;
    ttl?: number | undefined;
    cachedAt?: number;
    tags?: readonly string[];
    staleFor?: number;
  },
  what: string,
): asserts entry is CacheEntry<V> {
  assert.ok(entry !== undefined, `${what}: expected an entry, got a miss`);
  assert.deepStrictEqual(entry.value, expected.value, `${what}: wrong value`);
  if ("ttl" in expected) assert.equal(entry.ttl, expected.ttl, `${what}: wrong ttl`);
  if (expected.cachedAt !== undefined)
    assert.equal(entry.cachedAt, expected.cachedAt, `${what}: wrong cachedAt`);
  if (expected.tags !== undefined)
    assert.deepStrictEqual([...entry.tags], [...expected.tags], `${what}: wrong tags`);
  if (expected.staleFor !== undefined)
    assert.equal(entry.staleFor, expected.staleFor, `${what}: wrong staleFor`);
}

/**
 * Reads `key` with `get` and, when the tier has `getSync` or `getInto`, checks that they agree
 * (same value, `cachedAt`, `ttl` and tags, or both miss; `getInto` calls its receiver exactly
 * once): the core serves L1 hits through `getSync`, and reads a lower tier with `getInto`.
 */
export async function read<K, V>(tier: CacheTier<K, V>, key: K): Promise<CacheEntry<V> | undefined> {
  const entry = await tier.get(key);
  const summary = (e: CacheEntry<V> | undefined) =>
    e === undefined ? undefined : { value: e.value, cachedAt: e.cachedAt, ttl: e.ttl, tags: [...e.tags] };
  if (typeof tier.getSync === "function") {
    const sync = tier.getSync(key);
    assert.deepStrictEqual(summary(sync), summary(entry), `getSync(${describe(key)}) disagrees with get`);
  }
  if (typeof tier.getInto === "function") {
    const outcomes: { entry?: CacheEntry<V> | undefined; error?: unknown }[] = [];
    await new Promise<void>((resolve) => {
      tier.getInto!(key, {
        answered: (answered) => {
          outcomes.push({ entry: answered });
          resolve();
        },
        failed: (error) => {
          outcomes.push({ error });
          resolve();
        },
      });
    });
    await new Promise<void>((resolve) => setImmediate(resolve)); // a second call would come by now
    assert.equal(outcomes.length, 1, `getInto(${describe(key)}) must call its receiver exactly once`);
    assert.equal(outcomes[0]!.error, undefined, `getInto(${describe(key)}) failed where get answered`);
    assert.deepStrictEqual(
      summary(outcomes[0]!.entry),
      summary(entry),
      `getInto(${describe(key)}) disagrees with get`,
    );
  }
  return entry;
}

/** Asserts a miss. */
export function assertMiss(entry: CacheEntry<unknown> | undefined, what: string): void {
  assert.equal(
    entry,
    undefined,
    `${what}: expected a miss, got an entry with value ${describe(entry?.value)}`,
  );
}

/** Asserts that `promise` rejects with a CacheError of `code`. */
export async function assertRejectsWith(
  promise: Promise<unknown>,
  code: string,
  what: string,
): Promise<void> {
  let settled = false;
  try {
    await promise;
    settled = true;
  } catch (error) {
    assert.ok(isCacheError(error), `${what}: expected a CacheError, got ${describe(error)}`);
    assert.equal(error.code, code, `${what}: wrong CacheError code`);
  }
  assert.ok(!settled, `${what}: expected a rejection with code ${code}, but it resolved`);
}

/** Fails with guidance when an optional method is missing. */
export function requireMethod<K, V, M extends keyof CacheTier<K, V>>(
  tier: CacheTier<K, V>,
  method: M,
  id: ConformanceCaseId,
): NonNullable<CacheTier<K, V>[M]> {
  const fn = tier[method];
  assert.ok(
    typeof fn === "function",
    `the tier has no \`${String(method)}()\`; add \`exclude: { "${id}": "no ${String(method)}()" }\` to the conformance target` +
      (id.startsWith("close") ? ' (or `close: "…"` for both close cases)' : "") +
      (id.endsWith("-many") ? ' (or `batch: "…"` for the three batch cases)' : ""),
  );
  return (fn as (...args: unknown[]) => unknown).bind(tier) as NonNullable<CacheTier<K, V>[M]>;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return String(value);
}

/** Re-exported for the case files so they import one module. */
export { CacheEntry, assert };
