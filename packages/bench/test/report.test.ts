import { checkTargets, formatMetric, summarize } from "../src/report.js";
import type { RunOutcome, ScenarioRuns } from "../src/report.js";
import type { ScenarioDef } from "../src/scenarios.js";
import { median, Samples } from "../src/stats.js";

const def: ScenarioDef = {
  id: "l1-get-seq",
  title: "test",
  method: "test",
  libs: ["lru-cache", "cachet"],
  baseline: "lru-cache",
  ratioMetric: "opsPerSec",
  columns: [{ metric: "opsPerSec", label: "ops/s", format: "ops" }],
};

const ok = (opsPerSec: number): RunOutcome => ({ ok: true, metrics: { opsPerSec }, ms: 1 });

describe("summarize", () => {
  it("takes each ratio within its repetition, then the median of the ratios", () => {
    // The machine slows down and speeds up between repetitions; within each, cachet is half as fast.
    const runs: ScenarioRuns = {
      def,
      runs: new Map([
        ["lru-cache", [ok(100), ok(10), ok(1_000)]],
        ["cachet", [ok(50), ok(5), ok(500)]],
      ]),
    };
    const cachet = summarize(runs).libraries.find((l) => l.lib === "cachet")!;
    expect(cachet.ratio).toBeCloseTo(0.5);
    expect(cachet.ratioMin).toBeCloseTo(0.5);
    expect(cachet.ratioMax).toBeCloseTo(0.5);
    expect(cachet.medians["opsPerSec"]).toBe(50);
  });

  it("leaves out failed runs, pairs only runs of the same repetition, and reports the failures", () => {
    const runs: ScenarioRuns = {
      def,
      runs: new Map<string, (RunOutcome | undefined)[]>([
        ["lru-cache", [ok(100), { ok: false, error: "boom\nstack", ms: 1 }, ok(100)]],
        ["cachet", [ok(80), ok(1), ok(60)]],
      ]),
    };
    const summary = summarize(runs);
    const cachet = summary.libraries.find((l) => l.lib === "cachet")!;
    const lru = summary.libraries.find((l) => l.lib === "lru-cache")!;
    expect(cachet.ratio).toBeCloseTo(0.7);
    expect(cachet.ratioMin).toBeCloseTo(0.6);
    expect(lru.ok).toBe(2);
    expect(lru.total).toBe(3);
    expect(lru.errors).toEqual(["boom"]);
  });
});

describe("checkTargets", () => {
  it("marks a missed target as missed, with its figure", () => {
    const runs: ScenarioRuns = {
      def,
      runs: new Map([
        ["lru-cache", [ok(100)]],
        ["cachet", [ok(65)]],
      ]),
    };
    const check = checkTargets([summarize(runs)]).find((c) => c.target.startsWith("l1-get-seq"))!;
    expect(check.met).toBe(false);
    expect(check.figure).toBe("0.65x");
    const unmeasured = checkTargets([summarize(runs)]).find((c) => c.target.startsWith("memory"))!;
    expect(unmeasured.met).toBeUndefined();
  });
});

describe("stats and formatting", () => {
  it("median ignores non-finite values and averages the middle pair", () => {
    expect(median([3, 1, Number.NaN, 2, 10])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it("percentiles are nearest-rank", () => {
    const samples = new Samples(100);
    for (let i = 100; i >= 1; i--) samples.add(i);
    expect(samples.summary()).toEqual({ p50: 50, p99: 99, max: 100 });
  });

  it("formats ops, milliseconds and percentages", () => {
    expect(formatMetric(2_500_000, "ops")).toBe("2.50 M");
    expect(formatMetric(12_345, "ops")).toBe("12.3 k");
    expect(formatMetric(0.00071, "ms")).toBe("0.0007");
    expect(formatMetric(1, "percent")).toBe("100%");
    expect(formatMetric(Number.NaN, "ms")).toBe("—");
  });
});

describe("floors", () => {
  it("prints each library's ratio to its own floor, taken within each repetition, with the spread", () => {
    const tiered: ScenarioDef = {
      ...def,
      id: "l2-hit",
      libs: ["ioredis-json", "hand-rolled-json", "cachet-json"],
      baseline: "ioredis-json",
      floors: { "cachet-json": "hand-rolled-json" },
    };
    const runs: ScenarioRuns = {
      def: tiered,
      runs: new Map([
        ["ioredis-json", [ok(100), ok(200)]],
        ["hand-rolled-json", [ok(90), ok(100)]],
        ["cachet-json", [ok(81), ok(95)]],
      ]),
    };
    const summary = summarize(runs);
    const cachet = summary.libraries.find((l) => l.lib === "cachet-json")!;
    expect(cachet.floor).toBe("hand-rolled-json");
    expect(cachet.floorMin).toBeCloseTo(0.9);
    expect(cachet.floorMax).toBeCloseTo(0.95);
    expect(cachet.floorRatio).toBeCloseTo(0.925);
    const check = checkTargets([summary]).find((c) => c.target.startsWith("l2-hit: cachet-json"))!;
    expect(check.met).toBe(true);
    expect(check.figure).toBe("0.93x (0.90–0.95) of `hand-rolled-json`; 0.64x of ioredis GET + JSON.parse");
  });
});
