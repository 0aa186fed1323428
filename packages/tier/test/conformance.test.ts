import { afterEach, describe, expect, it } from "@jest/globals";
import { AssertionError } from "node:assert";
import { CacheEntry } from "../src/index.js";
import type { ExternalChange } from "../src/index.js";
import { MockCache } from "../src/testing/index.js";
import { tierConformanceCases } from "../src/testing/index.js";
import type { ConformanceCaseId, ConformanceTarget } from "../src/testing/index.js";
import { BrokenTier, resetSharedStore } from "./fixtures/broken-tier.js";
import { MapTier } from "./fixtures/map-tier.js";
import type { Flaw } from "./fixtures/broken-tier.js";

const DEFAULT_TTL = 30 * 60_000;

describe("conformance kit against MockCache (default ttl)", () => {
  const cases = tierConformanceCases({
    create: ({ clock }) => new MockCache<string, string>({ clock, ttl: DEFAULT_TTL }),
    defaultTtl: DEFAULT_TTL,
  });
  it("generates every case, none skipped", () => {
    expect(cases).toHaveLength(25);
    expect(cases.filter((c) => c.skip !== undefined)).toEqual([]);
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    for (const c of cases) expect(c.name).toMatch(/^[a-z-]+: /);
  });
  for (const c of cases) it(c.name, c.run);
});

describe("conformance kit against MockCache (no default ttl, Buffer values, numeric keys)", () => {
  const cases = tierConformanceCases<number, Buffer>({
    create: ({ clock }) => new MockCache<number, Buffer>({ clock }),
    defaultTtl: null,
    key: (i) => i * 10,
    value: (i) => Buffer.from(`v${i}`),
    largeValue: () => Buffer.alloc(1024 * 1024, 7),
  });
  it("skips the string-key cases, with their reason", () => {
    const skipped = cases.filter((c) => c.skip !== undefined).map((c) => c.id);
    expect(skipped).toEqual([
      "ttl-overrides-default",
      "keys-empty",
      "keys-unicode",
      "keys-long",
      "keys-glob",
    ]);
    expect(cases.find((c) => c.id === "keys-glob")?.name).toMatch(/\(excluded: keys are not strings/);
  });
  // The skipped cases are checked above; register only the ones that run.
  for (const c of cases.filter((candidate) => candidate.skip === undefined)) it(c.name, c.run);
});

describe("conformance kit against the README's minimal MapTier", () => {
  const cases = tierConformanceCases({
    create: ({ clock }) => new MapTier<string>(clock),
    defaultTtl: null,
    exclude: { batch: "no batch methods", size: "no size()", close: "nothing to release" },
  });
  it("skips exactly the optional-method cases", () => {
    expect(cases.filter((c) => c.skip).map((c) => c.id)).toEqual([
      "ttl-overrides-default",
      "get-many",
      "insert-many",
      "invalidate-many",
      "size",
      "close-rejects",
      "close-idempotent",
    ]);
  });
  for (const c of cases.filter((candidate) => candidate.skip === undefined)) it(c.name, c.run);
});

describe("the kit's target options", () => {
  it("skips excluded cases with the reason in the name, and their run does nothing", async () => {
    let created = 0;
    const cases = tierConformanceCases({
      create: ({ clock }) => {
        created++;
        return new MockCache<string, string>({ clock });
      },
      exclude: { size: "no size() here" },
    });
    const size = cases.find((c) => c.id === "size")!;
    expect(size.skip).toBe("no size() here");
    expect(size.name).toBe(
      "size: 0 when empty, counts inserts, replacing does not grow it, 0 after clear, never negative (excluded: no size() here)",
    );
    await size.run();
    expect(created).toBe(0);
  });

  it("excludes whole optional groups with `batch` and `close`", () => {
    const cases = tierConformanceCases({
      create: ({ clock }) => new MockCache<string, string>({ clock }),
      exclude: { batch: "no batch methods", close: "nothing to release" },
    });
    const skips = Object.fromEntries(cases.filter((c) => c.skip).map((c) => [c.id, c.skip]));
    expect(skips).toMatchObject({
      "get-many": "no batch methods",
      "insert-many": "no batch methods",
      "invalidate-many": "no batch methods",
      "close-rejects": "nothing to release",
      "close-idempotent": "nothing to release",
    });
    expect(Object.keys(skips)).toHaveLength(7); // plus the two ttl-default cases
  });

  it("skips ttl-default without defaultTtl, and large-value when only value() is given", () => {
    const cases = tierConformanceCases({
      create: ({ clock }) => new MockCache({ clock }),
      value: (i) => `v${i}`,
    });
    const skips = Object.fromEntries(cases.filter((c) => c.skip).map((c) => [c.id, c.skip]));
    expect(skips).toEqual({
      "large-value": "the target gives no `largeValue()`",
      "ttl-default": "the target does not declare `defaultTtl`",
      "ttl-overrides-default": "the target declares no numeric `defaultTtl`",
    });
  });

  it("gives each case a fresh tier and a unique namespace, and destroys every tier it made", async () => {
    const namespaces: string[] = [];
    const destroyed: string[] = [];
    const cases = tierConformanceCases({
      create: ({ clock, namespace }) => {
        namespaces.push(namespace);
        return new MockCache<string, string>({ clock, name: namespace });
      },
      destroy: (tier) => {
        destroyed.push(tier.name);
      },
    });
    for (const id of ["round-trip", "namespace-isolation"] as const)
      await cases.find((c) => c.id === id)!.run();
    expect(new Set(namespaces).size).toBe(3);
    expect([...destroyed].sort()).toEqual([...namespaces].sort());
  });

  it("fails, with guidance, a case for an optional method the tier lacks", async () => {
    const cases = tierConformanceCases({
      create: ({ clock }) => {
        const tier = new MockCache<string, string>({ clock });
        return {
          name: "minimal",
          get: tier.get.bind(tier),
          insert: tier.insert.bind(tier),
          invalidate: tier.invalidate.bind(tier),
          clear: tier.clear.bind(tier),
        };
      },
    });
    for (const id of ["size", "get-many", "insert-many", "invalidate-many", "close-rejects"] as const) {
      await expect(cases.find((c) => c.id === id)!.run()).rejects.toThrow(`exclude: { "${id}"`);
    }
    await cases.find((c) => c.id === "round-trip")!.run();
  });
});

/** Each flaw and the cases that must catch it. */
const FLAWS: [Flaw, ConformanceCaseId[]][] = [
  [
    "ignores-ttl",
    ["ttl-per-entry", "ttl-default", "ttl-from-cached-at", "stale-for", "get-many", "insert-many"],
  ],
  ["ignores-default-ttl", ["ttl-default", "effective-ttl"]],
  ["ignores-stale-for", ["stale-for"]],
  ["expires-from-insert-time", ["ttl-from-cached-at"]],
  ["loses-tags", ["metadata", "replace", "concurrent-inserts", "insert-many"]],
  ["loses-stale-for", ["metadata", "stale-for"]],
  ["stores-is-stale", ["metadata"]],
  ["no-stamp", ["cached-at", "effective-ttl", "insert-many"]],
  ["restamps-cached-at", ["cached-at", "metadata", "ttl-from-cached-at"]],
  ["keeps-first-insert", ["replace"]],
  ["invalidate-noop", ["invalidate", "keys-empty", "keys-glob"]],
  ["clear-noop", ["clear", "size"]],
  ["truncates-large-values", ["large-value"]],
  ["strips-glob-characters", ["keys-glob"]],
  ["invalidate-as-glob", ["keys-glob"]],
  ["empty-key-misses", ["keys-empty"]],
  ["truncates-long-keys", ["keys-long"]],
  ["ascii-only-keys", ["keys-unicode"]],
  ["shared-namespace", ["namespace-isolation"]],
  ["mixes-concurrent-inserts", ["concurrent-inserts"]],
  ["miss-returns-null", ["round-trip", "invalidate", "clear"]],
  ["size-counts-replacements", ["size"]],
  ["default-ttl-wins", ["ttl-overrides-default"]],
  ["size-goes-negative", ["size"]],
  ["get-many-skips-misses", ["get-many"]],
  ["insert-many-drops-last", ["insert-many"]],
  ["invalidate-many-noop", ["invalidate-many"]],
  ["close-noop", ["close-rejects"]],
  ["close-rejects-plain-error", ["close-rejects"]],
  ["close-not-idempotent", ["close-idempotent"]],
  ["get-sync-ignores-ttl", ["ttl-per-entry", "stale-for", "ttl-from-cached-at"]],
];

function brokenTarget(flaws: Flaw[]): ConformanceTarget<string, string> {
  return {
    create: ({ clock }) => new BrokenTier<string>(clock, flaws, DEFAULT_TTL),
    defaultTtl: DEFAULT_TTL,
  };
}

describe("the kit catches broken tiers", () => {
  afterEach(resetSharedStore);

  it("passes the flawless BrokenTier on every case (the baseline for the flaws below)", async () => {
    for (const c of tierConformanceCases(brokenTarget([]))) await c.run();
  });

  it("passes the flawless BrokenTier with a correct getSync on every case", async () => {
    for (const c of tierConformanceCases(brokenTarget(["with-get-sync"]))) await c.run();
  });

  it.each(FLAWS)("%s fails %p", async (flaw, ids) => {
    const cases = tierConformanceCases(brokenTarget([flaw]));
    for (const id of ids) {
      const c = cases.find((candidate) => candidate.id === id)!;
      const error = await c.run().then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(error instanceof AssertionError)) {
        throw new Error(
          `case ${id} should fail with an AssertionError for flaw ${flaw}, got ${String(error)}`,
        );
      }
    }
  });

  it("every case can fail: each id is caught by at least one flaw", () => {
    const caught = new Set(FLAWS.flatMap(([, ids]) => ids));
    const all = tierConformanceCases(brokenTarget([])).map((c) => c.id);
    expect(all.filter((id) => !caught.has(id))).toEqual([]);
  });
});

describe("conformance kit: the external-changes cases", () => {
  /** A tier with a change feed; `write` is another writer on the same backend, which the feed reports. */
  function target(flaw?: "silent" | "deaf") {
    const tiers = new Map<
      string,
      { tier: MockCache<string, string>; listeners: Set<(c: ExternalChange<string>) => void> }
    >();
    const spec: ConformanceTarget<string, string> = {
      create: ({ clock, namespace }) => {
        const listeners = new Set<(c: ExternalChange<string>) => void>();
        const tier = Object.assign(new MockCache<string, string>({ clock }), {
          externalChanges: {
            isWatching: true,
            subscribe(listener: (c: ExternalChange<string>) => void) {
              listeners.add(listener);
              // "deaf": unsubscribing does nothing.
              return () => void (flaw === "deaf" ? undefined : listeners.delete(listener));
            },
          },
        });
        tiers.set(namespace, { tier, listeners });
        return tier;
      },
      externalChanges: {
        async write(namespace, key, value) {
          const { tier, listeners } = tiers.get(namespace)!;
          await tier.insert(key, new CacheEntry(value));
          if (flaw !== "silent") for (const listener of listeners) listener({ type: "keys", keys: [key] });
        },
        bound: 200,
      },
    };
    return spec;
  }

  const cases = tierConformanceCases(target());
  it("adds the two external cases only for a target that declares the capability", () => {
    expect(cases.filter((c) => c.id.startsWith("external-")).map((c) => c.id)).toEqual([
      "external-subscribe",
      "external-reported",
    ]);
    expect(
      tierConformanceCases({ create: ({ clock }) => new MockCache({ clock }) }).some((c) =>
        c.id.startsWith("external-"),
      ),
    ).toBe(false);
  });
  for (const c of cases.filter((candidate) => candidate.id.startsWith("external-"))) it(c.name, c.run);

  it("fails a feed that never reports another writer's change", async () => {
    const reported = tierConformanceCases(target("silent")).find((c) => c.id === "external-reported")!;
    await expect(reported.run()).rejects.toBeInstanceOf(AssertionError);
  });

  it("fails a feed whose unsubscribe does nothing", async () => {
    const subscribe = tierConformanceCases(target("deaf")).find((c) => c.id === "external-subscribe")!;
    await expect(subscribe.run()).rejects.toBeInstanceOf(AssertionError);
  });
});
