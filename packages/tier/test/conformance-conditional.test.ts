import { describe, expect, it } from "@jest/globals";
import { AssertionError } from "node:assert";
import { CacheEntry, ManualClock } from "../src/index.js";
import { MockCache } from "../src/testing/index.js";
import type { CacheError } from "../src/index.js";
import { tierConformanceCases } from "../src/testing/index.js";
import type { ConformanceCaseId } from "../src/testing/index.js";
import { VersionedTier } from "./fixtures/versioned-tier.js";
import type { ConditionalFlaw } from "./fixtures/versioned-tier.js";

const DEFAULT_TTL = 30 * 60_000;
const TOMBSTONE_TTL = 10 * 60_000;
const BASE_CASES = 25;

describe("conformance kit: conditional writes against MockCache (the reference)", () => {
  const cases = tierConformanceCases({
    create: ({ clock }) =>
      new MockCache<string, string>({
        clock,
        ttl: DEFAULT_TTL,
        conditionalWrites: { tombstoneTtl: TOMBSTONE_TTL },
      }),
    defaultTtl: DEFAULT_TTL,
    conditionalWrites: true,
  });
  it("adds the nine conditional cases to the base ones, none skipped", () => {
    expect(cases).toHaveLength(BASE_CASES + 9);
    expect(cases.filter((c) => c.skip !== undefined)).toEqual([]);
    expect(cases.filter((c) => c.id.startsWith("conditional-")).map((c) => c.name)).toEqual(
      cases.filter((c) => c.name.startsWith("conditional: ")).map((c) => c.name),
    );
  });
  for (const c of cases) it(c.name, c.run);
});

describe("conformance kit: conditional cases are generated only for targets that declare the capability", () => {
  it("leaves them out without the declaration, even for a tier that has the capability", () => {
    const cases = tierConformanceCases({
      create: ({ clock }) =>
        new MockCache<string, string>({ clock, conditionalWrites: { tombstoneTtl: 1_000 } }),
    });
    expect(cases).toHaveLength(BASE_CASES);
    expect(cases.some((c) => c.id.startsWith("conditional-"))).toBe(false);
  });

  it("fails every conditional case, with guidance, when a declared tier lacks the capability", async () => {
    const cases = tierConformanceCases({
      create: ({ clock }) => new MockCache<string, string>({ clock }),
      conditionalWrites: true,
    });
    for (const c of cases.filter((candidate) => candidate.id.startsWith("conditional-"))) {
      await expect(c.run()).rejects.toThrow(
        "declares `conditionalWrites: true` but the tier has no `conditionalWrites`",
      );
    }
  });

  it("skips conditional-batch for a target that excludes the batch methods", () => {
    const cases = tierConformanceCases({
      create: ({ clock }) => new VersionedTier<string>(clock),
      conditionalWrites: true,
      exclude: { batch: "none" },
    });
    expect(cases.find((c) => c.id === "conditional-batch")?.skip).toBe("the target has no batch methods");
  });
});

/** Each flaw of the versioned fixture and the conditional cases that must catch it. */
const FLAWS: [ConditionalFlaw, ConformanceCaseId[]][] = [
  [
    "cas-ignores-version",
    [
      "conditional-conflict",
      "conditional-invalidate",
      "conditional-token-expiry",
      "conditional-concurrent",
      "conditional-clear",
      "conditional-batch",
    ],
  ],
  ["invalidate-leaves-no-tombstone", ["conditional-invalidate"]],
  ["insert-keeps-version", ["conditional-read", "conditional-conflict"]],
  ["token-never-expires", ["conditional-token-expiry"]],
  ["racy-cas", ["conditional-concurrent"]],
  ["clear-keeps-versions", ["conditional-clear"]],
  ["read-bumps-version", ["conditional-read"]],
  ["batch-unversioned", ["conditional-batch"]],
  ["get-versioned-loses-metadata", ["conditional-read"]],
  ["tombstone-blocks-writes", ["conditional-tombstone"]],
  ["cas-keeps-version", ["conditional-write"]],
];

const conditionalCases = (flaws: ConditionalFlaw[]) =>
  tierConformanceCases({
    create: ({ clock }) => new VersionedTier<string>(clock, flaws),
    conditionalWrites: true,
    exclude: { size: "not the point here", close: "nothing to release" },
  }).filter((c) => c.id.startsWith("conditional-"));

describe("the kit's conditional cases catch broken tiers", () => {
  it("passes the flawless versioned fixture on every conditional case", async () => {
    const cases = conditionalCases([]);
    expect(cases).toHaveLength(9);
    for (const c of cases) await c.run();
  });

  it.each(FLAWS)("%s fails %p", async (flaw, ids) => {
    const cases = conditionalCases([flaw]);
    for (const id of ids) {
      const error = await cases
        .find((c) => c.id === id)!
        .run()
        .then(
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

  it("every conditional case can fail: each id is caught by at least one flaw", () => {
    const caught = new Set(FLAWS.flatMap(([, ids]) => ids));
    expect(
      conditionalCases([])
        .map((c) => c.id)
        .filter((id) => !caught.has(id)),
    ).toEqual([]);
  });
});

describe("MockCache's conditional writes", () => {
  it("records getVersioned and insertIfVersion and injects faults into them", async () => {
    const clock = new ManualClock();
    const tier = new MockCache<string, string>({ clock, conditionalWrites: { tombstoneTtl: "1m" } });
    const cw = tier.conditionalWrites!;
    tier.failNext("getVersioned");
    await expect(cw.getVersioned("k")).rejects.toMatchObject({ code: "TIER_FAILURE" });
    const { version } = await cw.getVersioned("k");
    tier.delay("insertIfVersion", 50);
    const pending = cw.insertIfVersion("k", new CacheEntry("v", { ttl: 60_000 }), version);
    clock.advance(50);
    await expect(pending).resolves.toMatchObject({ written: true });
    expect(tier.calls.map((c) => c.op)).toEqual(["getVersioned", "getVersioned", "insertIfVersion"]);
  });

  it("reports the writing time as writtenAt, and an absent key as undefined", async () => {
    const clock = new ManualClock(5_000);
    const tier = new MockCache<string, string>({ clock, conditionalWrites: { tombstoneTtl: 1_000 } });
    expect((await tier.conditionalWrites!.getVersioned("k")).version.writtenAt).toBeUndefined();
    await tier.insert("k", new CacheEntry("v"));
    expect((await tier.conditionalWrites!.getVersioned("k")).version.writtenAt).toBe(5_000);
  });

  it("stores an already-expired entry as a tombstone", async () => {
    const clock = new ManualClock(10_000);
    const tier = new MockCache<string, string>({ clock, conditionalWrites: { tombstoneTtl: 1_000 } });
    const cw = tier.conditionalWrites!;
    const before = await cw.getVersioned("k");
    await tier.insert("k", new CacheEntry("old", { cachedAt: 0, ttl: 1 }));
    expect(await tier.get("k")).toBeUndefined();
    expect(await cw.insertIfVersion("k", new CacheEntry("late", { ttl: 60_000 }), before.version)).toEqual({
      written: false,
      reason: "conflict",
    });
  });

  it("refuses a token of an absent key older than tombstoneTtl with reason expired-token", async () => {
    const clock = new ManualClock();
    const tier = new MockCache<string, string>({ clock, conditionalWrites: { tombstoneTtl: 1_000 } });
    const { version } = await tier.conditionalWrites!.getVersioned("k");
    clock.advance(1_000);
    expect(await tier.conditionalWrites!.insertIfVersion("k", new CacheEntry("v"), version)).toEqual({
      written: false,
      reason: "expired-token",
    });
  });

  it("rejects a bad tombstoneTtl with INVALID_OPTION naming the option", () => {
    let error: CacheError | undefined;
    try {
      new MockCache({ conditionalWrites: { tombstoneTtl: 0 } });
    } catch (e) {
      error = e as CacheError;
    }
    expect(error?.code).toBe("INVALID_OPTION");
    expect(error?.message).toContain("conditionalWrites.tombstoneTtl");
  });

  it("has no capability unless asked", () => {
    expect(new MockCache().conditionalWrites).toBeUndefined();
  });
});
