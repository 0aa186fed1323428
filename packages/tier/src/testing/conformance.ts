import { ManualClock } from "@cachet/tier";
import type { CacheTier, Milliseconds } from "@cachet/tier";
import { batchCases } from "./cases/batch.js";
import { closeCases } from "./cases/close.js";
import { concurrencyCases } from "./cases/concurrency.js";
import { conditionalCases } from "./cases/conditional.js";
import { externalCases } from "./cases/external.js";
import { keyCases } from "./cases/keys.js";
import { roundTripCases } from "./cases/round-trip.js";
import { sizeCases } from "./cases/size.js";
import { ttlCases } from "./cases/ttl.js";

/**
 * Identifies one conformance case; use these in {@link ConformanceTarget.exclude}.
 *
 * Groups: `round-trip`, `ttl`, `keys`, `concurrency`, `batch`, `size`, `close`, `conditional`
 * (only for targets that declare {@link ConformanceTarget.conditionalWrites}) and `external` (only
 * for targets that declare {@link ConformanceTarget.externalChanges}).
 */
export type ConformanceCaseId =
  // round-trip
  | "round-trip"
  | "replace"
  | "invalidate"
  | "clear"
  | "metadata"
  | "cached-at"
  | "large-value"
  // ttl
  | "ttl-per-entry"
  | "ttl-default"
  | "ttl-overrides-default"
  | "ttl-from-cached-at"
  | "stale-for"
  | "effective-ttl"
  // keys
  | "keys-empty"
  | "keys-unicode"
  | "keys-long"
  | "keys-glob"
  | "namespace-isolation"
  // concurrency
  | "concurrent-inserts"
  // batch (optional methods)
  | "get-many"
  | "insert-many"
  | "invalidate-many"
  // size (optional method)
  | "size"
  // close (optional method)
  | "close-rejects"
  | "close-idempotent"
  // conditional (optional capability)
  | "conditional-read"
  | "conditional-write"
  | "conditional-conflict"
  | "conditional-invalidate"
  | "conditional-tombstone"
  | "conditional-token-expiry"
  | "conditional-concurrent"
  | "conditional-clear"
  | "conditional-batch"
  // external (optional capability)
  | "external-subscribe"
  | "external-reported";

/**
 * Keys accepted by {@link ConformanceTarget.exclude}: a case id, or `"batch"` (the three batch
 * cases) or `"close"` (both close cases) for a tier without those optional methods.
 */
export type ConformanceExclusion = ConformanceCaseId | "batch" | "close";

/**
 * A named, runner-agnostic test. Register it with any runner:
 *
 * ```ts
 * for (const c of tierConformanceCases(target)) (c.skip ? it.skip : it)(c.name, c.run);
 * ```
 */
export interface ConformanceCase {
  /** Stable identifier, the key to use in {@link ConformanceTarget.exclude}. */
  readonly id: ConformanceCaseId;
  /** `"<group>: <behaviour>"`, with `(excluded: <reason>)` appended when the case is skipped. */
  readonly name: string;
  /**
   * Why the case does not apply to this target, or `undefined` when it runs. A skipped case's
   * `run` does nothing, so register it with your runner's skip (`it.skip`) to have it reported as
   * skipped rather than passed.
   */
  readonly skip: string | undefined;
  /** Runs the case against a fresh tier; rejects with an `AssertionError` when the tier fails it. */
  run(): Promise<void>;
}

/** What {@link ConformanceTarget.create} receives. */
export interface ConformanceContext {
  /** The clock the tier must use for `cachedAt` stamps and expiry; the kit advances it. */
  readonly clock: ManualClock;
  /**
   * Unique per case (and per process). Tiers over a shared backend (a Redis server) must keep
   * their keys under it, so cases, and test files running in parallel, cannot see each other.
   */
  readonly namespace: string;
}

/** Describes the tier under test to {@link tierConformanceCases}. */
export interface ConformanceTarget<K = string, V = string> {
  /**
   * Builds a fresh, empty tier for one case. It must use `clock` for every time decision and
   * isolate its keys by `namespace` when the backend is shared.
   */
  create(context: ConformanceContext): CacheTier<K, V> | Promise<CacheTier<K, V>>;
  /** Releases what `create` made. @default `tier.close?.()` */
  destroy?(tier: CacheTier<K, V>): Promise<void> | void;
  /** Makes the i-th distinct key. Required when `K` is not `string`. @default `` `key-${i}` `` */
  key?(i: number): K;
  /** Makes the i-th distinct value. Required when `V` is not `string`. @default `` `value-${i}` `` */
  value?(i: number): V;
  /**
   * Makes a value of about 1 MiB for the `large-value` case. @default a 1 MiB string, when `value`
   * is not given; otherwise the case is skipped.
   */
  largeValue?(): V;
  /**
   * Whether keys are strings, which enables the `keys-*` cases (empty, unicode, 1 KiB and glob
   * keys), built from the strings the kit chooses.
   * @default true when `key` is not given, false otherwise
   */
  stringKeys?: boolean;
  /**
   * The default ttl (ms) the tier made by `create` applies to entries inserted without one, or
   * `null` if it has none (such entries never expire). Enables `ttl-default` and
   * `ttl-overrides-default`. @default undefined (those cases are skipped)
   */
  defaultTtl?: Milliseconds | null;
  /**
   * Declares that the tier offers the optional conditional-writes capability
   * (`tier.conditionalWrites`), which adds the `conditional-*` cases; without it they are not
   * generated at all. The tier's `tombstoneTtl` should exceed the few minutes of ttl the cases
   * write with, and a backend that expires tombstones on its own clock (Redis) passes the
   * token-expiry case through its tombstone, since the kit cannot move that clock.
   * @default false
   */
  conditionalWrites?: boolean;
  /**
   * Declares that the tier offers the optional external-changes capability
   * (`tier.externalChanges`), which adds the `external-*` cases. `write` changes a key of the tier
   * made for `namespace` the way another process would (a second client, not the tier itself);
   * without it, only the subscription case runs. The feed reports on real time, so the cases wait
   * up to `bound` ms (default 5 s) for it.
   * @default undefined (the cases are not generated)
   */
  externalChanges?: {
    write?(namespace: string, key: K, value: V): Promise<void>;
    bound?: number;
  };
  /**
   * Cases the tier cannot meet, each with the reason shown in the case's name. A tier without an
   * optional method must exclude the cases for it (`size`, `batch`, `close`): the kit cannot
   * inspect the tier before the cases are registered, so such a case fails and tells you to
   * exclude it, rather than passing silently.
   *
   * @example
   * exclude: { batch: "no batch methods", size: "no size()", close: "nothing to release" }
   */
  exclude?: Partial<Record<ConformanceExclusion, string>>;
}

/** Everything a case body needs. Internal to the kit. */
export interface CaseContext<K, V> {
  readonly tier: CacheTier<K, V>;
  readonly clock: ManualClock;
  readonly namespace: string;
  readonly target: ConformanceTarget<K, V>;
  readonly key: (i: number) => K;
  readonly value: (i: number) => V;
  /** Creates another tier for the same case (namespace suffixed); destroyed with the case. */
  readonly another: (suffix: string, clock?: ManualClock) => Promise<CacheTier<K, V>>;
}

/** A case definition. Internal to the kit. */
export interface CaseDefinition {
  readonly id: ConformanceCaseId;
  readonly name: string;
  /** Returns a reason when the target cannot run this case (missing option), else undefined. */
  applies?<K, V>(target: ConformanceTarget<K, V>): string | undefined;
  run<K, V>(ctx: CaseContext<K, V>): Promise<void>;
}

const BASE_CASES: readonly CaseDefinition[] = [
  ...roundTripCases,
  ...ttlCases,
  ...keyCases,
  ...concurrencyCases,
  ...batchCases,
  ...sizeCases,
  ...closeCases,
];
const WITH_CONDITIONAL: readonly CaseDefinition[] = [...BASE_CASES, ...conditionalCases];

let namespaceCounter = 0;

/**
 * The conformance kit: every behaviour the {@link CacheTier} contract promises, as named,
 * runner-agnostic async cases. Each case builds a fresh tier with `target.create`, drives time
 * only through the `ManualClock` it passes in (no sleeps), asserts with `node:assert/strict`, and
 * destroys the tier at the end.
 *
 * Cases that do not apply (an `exclude` entry, a missing `defaultTtl`, non-string keys) come back
 * with `skip` set and the reason in their name; register them with your runner's skip.
 *
 * @example
 * import { describe, it } from "@jest/globals"; // or "vitest"
 * import { tierConformanceCases } from "@cachet/tier/testing";
 *
 * describe("MyTier conformance", () => {
 *   const cases = tierConformanceCases({
 *     create: ({ clock, namespace }) => new MyTier({ clock, prefix: namespace }),
 *     defaultTtl: null,
 *     exclude: { size: "MyTier has no size()" },
 *   });
 *   for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run);
 * });
 */
export function tierConformanceCases<K = string, V = string>(
  target: ConformanceTarget<K, V>,
): readonly ConformanceCase[] {
  let definitions = target.conditionalWrites === true ? WITH_CONDITIONAL : BASE_CASES;
  if (target.externalChanges !== undefined) definitions = [...definitions, ...externalCases];
  return definitions.map((definition): ConformanceCase => {
    const group = definition.name.slice(0, definition.name.indexOf(":"));
    const skip =
      target.exclude?.[definition.id] ??
      (group === "batch" || group === "close" ? target.exclude?.[group] : undefined) ??
      definition.applies?.(target);
    if (skip !== undefined) {
      return Object.freeze({
        id: definition.id,
        name: `${definition.name} (excluded: ${skip})`,
        skip,
        run: () => Promise.resolve(),
      });
    }
    return Object.freeze({
      id: definition.id,
      name: definition.name,
      skip: undefined,
      run: () => runCase(target, definition),
    });
  });
}

async function runCase<K, V>(target: ConformanceTarget<K, V>, definition: CaseDefinition): Promise<void> {
  const namespace = `cachet-conformance:${process.pid}:${++namespaceCounter}:${definition.id}`;
  const clock = new ManualClock();
  const created: CacheTier<K, V>[] = [];
  const make = async (ns: string, tierClock: ManualClock) => {
    const tier = await target.create({ clock: tierClock, namespace: ns });
    created.push(tier);
    return tier;
  };
  const destroy = async () => {
    const errors: unknown[] = [];
    for (const tier of created.reverse()) {
      try {
        if (target.destroy) await target.destroy(tier);
        else await tier.close?.();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  };
  try {
    const tier = await make(namespace, clock);
    await definition.run<K, V>({
      tier,
      clock,
      namespace,
      target,
      key: target.key?.bind(target) ?? ((i: number) => `key-${i}` as K),
      value: target.value?.bind(target) ?? ((i: number) => `value-${i}` as V),
      another: (suffix, otherClock) => make(`${namespace}:${suffix}`, otherClock ?? clock),
    });
  } catch (error) {
    await destroy().catch(() => undefined); // the case's own failure is the one to report
    throw error;
  }
  await destroy();
}
