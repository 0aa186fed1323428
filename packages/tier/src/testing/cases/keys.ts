import type { CacheTier } from "@cachet/tier";
import type { CaseContext, CaseDefinition, ConformanceTarget } from "../conformance.js";
import { CacheEntry, assertEntry, assertMiss } from "../helpers.js";

function needsStringKeys<K, V>(target: ConformanceTarget<K, V>): string | undefined {
  const stringKeys = target.stringKeys ?? target.key === undefined;
  return stringKeys ? undefined : "keys are not strings (`stringKeys: false`)";
}

/** Inserts every key with a distinct value, then checks each reads back its own value. */
async function assertDistinct<V>(ctx: CaseContext<unknown, V>, keys: readonly string[]): Promise<void> {
  const tier = ctx.tier as unknown as CacheTier<string, V>;
  for (const [i, k] of keys.entries()) await tier.insert(k, new CacheEntry(ctx.value(i)));
  for (const [i, k] of keys.entries()) {
    assertEntry(await tier.get(k), { value: ctx.value(i) }, `get of key ${JSON.stringify(k.slice(0, 60))}`);
  }
}

const GLOB_KEYS = [
  "*",
  "?",
  "[",
  "]",
  "\\",
  "a*",
  "a?",
  "a[b]",
  "a\\b",
  "ab",
  "a",
  "[ab]",
  "a\\*",
  "*a*",
  "a[!b]",
];

export const keyCases: readonly CaseDefinition[] = [
  {
    id: "keys-empty",
    name: "keys: the empty string is a key like any other",
    applies: needsStringKeys,
    async run(ctx) {
      await assertDistinct(ctx, ["", " ", "x"]);
      const tier = ctx.tier as unknown as CacheTier<string, unknown>;
      await tier.invalidate("");
      assertMiss(await tier.get(""), "get of the invalidated empty key");
      assertEntry(await tier.get(" "), { value: ctx.value(1) }, "a key of one space survives");
    },
  },
  {
    id: "keys-unicode",
    name: "keys: unicode keys (accents, CJK, emoji, combining marks, NUL) are distinct",
    applies: needsStringKeys,
    async run(ctx) {
      // "é" precomposed and decomposed are different strings, so different keys.
      await assertDistinct(ctx, ["café", "cafe\u0301", "キャッシュ", "🔑🗝️", "a\u0000b", "a", "Ω", "ω"]);
    },
  },
  {
    id: "keys-long",
    name: "keys: 1 KiB keys work, and keys differing only in their last character do not collide",
    applies: needsStringKeys,
    async run(ctx) {
      const long = "k".repeat(1023);
      await assertDistinct(ctx, [`${long}a`, `${long}b`, "é".repeat(512)]);
    },
  },
  {
    id: "keys-glob",
    name: "keys: glob characters *?[]\\ are literal; such keys never collide or match others",
    applies: needsStringKeys,
    async run(ctx) {
      await assertDistinct(ctx, GLOB_KEYS);
      const tier = ctx.tier as unknown as CacheTier<string, unknown>;
      await tier.invalidate("*");
      await tier.invalidate("a?");
      await tier.invalidate("[ab]");
      assertMiss(await tier.get("*"), 'get of "*" after invalidate');
      for (const [i, k] of GLOB_KEYS.entries()) {
        if (k === "*" || k === "a?" || k === "[ab]") continue;
        assertEntry(
          await tier.get(k),
          { value: ctx.value(i) },
          `key ${JSON.stringify(k)} after invalidating globs`,
        );
      }
    },
  },
  {
    id: "namespace-isolation",
    name: "keys: tiers created with different namespaces do not see or clear each other's entries",
    async run(ctx) {
      const other = await ctx.another("other");
      await ctx.tier.insert(ctx.key(0), new CacheEntry(ctx.value(0)));
      assertMiss(await other.get(ctx.key(0)), "the other namespace's get");
      await other.insert(ctx.key(1), new CacheEntry(ctx.value(1)));
      await other.clear();
      assertEntry(
        await ctx.tier.get(ctx.key(0)),
        { value: ctx.value(0) },
        "after the other namespace's clear",
      );
      await ctx.tier.clear();
      await other.insert(ctx.key(2), new CacheEntry(ctx.value(2)));
      await ctx.tier.clear();
      assertEntry(await other.get(ctx.key(2)), { value: ctx.value(2) }, "after this namespace's clear");
    },
  },
];
