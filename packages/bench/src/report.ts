import type { MachineInfo } from "./machine.js";
import { machineLine } from "./machine.js";
import type { Column, MetricFormat, ScenarioDef } from "./scenarios.js";
import type { Metrics } from "./scenarios/types.js";
import { median } from "./stats.js";

/** One measurement process's outcome. */
export type RunOutcome =
  { ok: true; metrics: Metrics; ms: number } | { ok: false; error: string; ms: number };

/** Everything measured for one scenario: per library, one outcome per repetition (by index). */
export interface ScenarioRuns {
  readonly def: ScenarioDef;
  readonly runs: Map<string, (RunOutcome | undefined)[]>;
  /** Set when the scenario could not run at all (e.g. no redis-server). */
  skipped?: string;
}

/** Medians for one library in one scenario. */
export interface LibrarySummary {
  lib: string;
  ok: number;
  total: number;
  medians: Record<string, number>;
  /** Median over repetitions of (this library / baseline) in the same repetition. */
  ratio?: number;
  ratioMin?: number;
  ratioMax?: number;
  ratio2?: number;
  ratio2Min?: number;
  ratio2Max?: number;
  /** The library doing the same work with nothing on top (the scenario's `floors`), and the ratio to it. */
  floor?: string;
  floorRatio?: number;
  floorMin?: number;
  floorMax?: number;
  errors: string[];
}

export interface ScenarioSummary {
  id: string;
  title: string;
  method: string;
  target?: string;
  baseline?: string;
  baseline2?: string;
  skipped?: string;
  libraries: LibrarySummary[];
}

function ratios(
  runs: readonly (RunOutcome | undefined)[],
  base: readonly (RunOutcome | undefined)[] | undefined,
  metric: string,
): number[] {
  if (base === undefined) return [];
  const out: number[] = [];
  for (let i = 0; i < runs.length; i++) {
    const a = runs[i];
    const b = base[i];
    if (a?.ok !== true || b?.ok !== true) continue;
    const x = a.metrics[metric];
    const y = b.metrics[metric];
    if (x !== undefined && y !== undefined && y !== 0) out.push(x / y);
  }
  return out;
}

/** Medians and same-repetition ratios for every library of a scenario. */
export function summarize(scenario: ScenarioRuns): ScenarioSummary {
  const { def } = scenario;
  const libraries: LibrarySummary[] = [];
  for (const lib of def.libs) {
    const runs = scenario.runs.get(lib) ?? [];
    const done = runs.filter((r): r is RunOutcome => r !== undefined);
    const oks = done.filter((r): r is Extract<RunOutcome, { ok: true }> => r.ok);
    const metricNames = new Set(oks.flatMap((r) => Object.keys(r.metrics)));
    const medians: Record<string, number> = {};
    for (const name of metricNames) medians[name] = median(oks.map((r) => r.metrics[name] ?? Number.NaN));
    const summary: LibrarySummary = {
      lib,
      ok: oks.length,
      total: done.length,
      medians,
      errors: done.flatMap((r) => (r.ok ? [] : [r.error.split("\n")[0]!])),
    };
    if (def.baseline !== undefined && def.ratioMetric !== undefined) {
      const r = ratios(runs, scenario.runs.get(def.baseline), def.ratioMetric);
      if (r.length > 0) {
        summary.ratio = median(r);
        summary.ratioMin = Math.min(...r);
        summary.ratioMax = Math.max(...r);
      }
    }
    if (def.baseline2 !== undefined && def.ratioMetric !== undefined) {
      const r = ratios(runs, scenario.runs.get(def.baseline2), def.ratioMetric);
      if (r.length > 0) {
        summary.ratio2 = median(r);
        summary.ratio2Min = Math.min(...r);
        summary.ratio2Max = Math.max(...r);
      }
    }
    const floor = def.floors?.[lib];
    if (floor !== undefined && def.ratioMetric !== undefined) {
      summary.floor = floor;
      const r = ratios(runs, scenario.runs.get(floor), def.ratioMetric);
      if (r.length > 0) {
        summary.floorRatio = median(r);
        summary.floorMin = Math.min(...r);
        summary.floorMax = Math.max(...r);
      }
    }
    libraries.push(summary);
  }
  const out: ScenarioSummary = { id: def.id, title: def.title, method: def.method, libraries };
  if (def.target !== undefined) out.target = def.target;
  if (def.baseline !== undefined) out.baseline = def.baseline;
  if (def.baseline2 !== undefined) out.baseline2 = def.baseline2;
  if (scenario.skipped !== undefined) out.skipped = scenario.skipped;
  return out;
}

export function formatMetric(value: number | undefined, format: MetricFormat): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  switch (format) {
    case "ops":
      if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
      if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k`;
      return value.toFixed(0);
    case "ms":
      return value < 0.1 ? value.toFixed(4) : value < 10 ? value.toFixed(2) : value.toFixed(1);
    case "count":
      return Number.isInteger(value) ? String(value) : value.toFixed(1);
    case "percent":
      return `${(value * 100).toFixed(value === 1 || value === 0 ? 0 : 2)}%`;
    case "bytes":
      return value.toFixed(0);
    case "ratio":
      return `${value.toFixed(2)}x`;
  }
}

function ratioCell(lib: LibrarySummary, baseline: string): string {
  if (lib.ratio === undefined) return "—";
  if (lib.lib === baseline) return "1.00x (baseline)";
  const range =
    lib.ratioMin !== undefined && lib.ratioMax !== undefined && lib.ok > 1
      ? ` (${lib.ratioMin.toFixed(2)}–${lib.ratioMax.toFixed(2)})`
      : "";
  return `${lib.ratio.toFixed(2)}x${range}`;
}

function floorCell(lib: LibrarySummary): string {
  if (lib.floor === undefined) return "—";
  if (lib.floorRatio === undefined) return `? of \`${lib.floor}\``;
  const range =
    lib.floorMin !== undefined && lib.floorMax !== undefined && lib.ok > 1
      ? ` (${lib.floorMin.toFixed(2)}–${lib.floorMax.toFixed(2)})`
      : "";
  return `${lib.floorRatio.toFixed(2)}x${range} of \`${lib.floor}\``;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|");
}

/** A Markdown table (and method, target) for one scenario. */
export function scenarioMarkdown(summary: ScenarioSummary, columns: readonly Column[]): string {
  const lines: string[] = [`### ${summary.title}`, ""];
  if (summary.skipped !== undefined) {
    lines.push(`Skipped: ${summary.skipped}`, "");
    return lines.join("\n");
  }
  const header = ["library", ...columns.map((c) => c.label)];
  if (summary.baseline !== undefined) header.push(`ratio to ${summary.baseline} (min–max)`);
  if (summary.baseline2 !== undefined) header.push(`ratio to ${summary.baseline2} (min–max)`);
  const floors = summary.libraries.some((l) => l.floor !== undefined);
  if (floors) header.push("ratio to its floor (min–max)");
  header.push("runs");
  lines.push(`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`);
  for (const lib of summary.libraries) {
    const cells = [`\`${lib.lib}\``, ...columns.map((c) => formatMetric(lib.medians[c.metric], c.format))];
    if (summary.baseline !== undefined) cells.push(ratioCell(lib, summary.baseline));
    if (summary.baseline2 !== undefined) {
      const range =
        lib.ratio2Min !== undefined && lib.ratio2Max !== undefined && lib.ok > 1
          ? ` (${lib.ratio2Min.toFixed(2)}–${lib.ratio2Max.toFixed(2)})`
          : "";
      cells.push(
        lib.lib === summary.baseline2
          ? "1.00x"
          : lib.ratio2 === undefined
            ? "—"
            : `${lib.ratio2.toFixed(2)}x${range}`,
      );
    }
    if (floors) cells.push(floorCell(lib));
    cells.push(lib.ok === lib.total ? String(lib.ok) : `${lib.ok}/${lib.total}`);
    lines.push(`| ${cells.map(escapeCell).join(" | ")} |`);
  }
  lines.push("");
  if (summary.target !== undefined) lines.push(`Target: ${summary.target}.`, "");
  lines.push(`Method: ${summary.method}`, "");
  const failures = summary.libraries.filter((l) => l.errors.length > 0);
  for (const lib of failures) {
    lines.push(
      `Failures of \`${lib.lib}\`: ${[...new Set(lib.errors)].map((e) => escapeCell(e)).join("; ")}`,
      "",
    );
  }
  return lines.join("\n");
}

/** A target check: what was required, the figure, and whether it was met. */
export interface TargetCheck {
  target: string;
  figure: string;
  met: boolean | undefined;
}

function lib(summaries: readonly ScenarioSummary[], id: string, name: string): LibrarySummary | undefined {
  const s = summaries.find((x) => x.id === id);
  if (s === undefined || s.skipped !== undefined) return undefined;
  const l = s.libraries.find((x) => x.lib === name);
  return l !== undefined && l.ok > 0 ? l : undefined;
}

/** Checks the issues' targets against the medians, so a miss is printed as a miss. */
export function checkTargets(summaries: readonly ScenarioSummary[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const add = (
    target: string,
    found: LibrarySummary | undefined,
    figure: (l: LibrarySummary) => string,
    ok: (l: LibrarySummary) => boolean,
  ) => {
    checks.push(
      found === undefined
        ? { target, figure: "not measured", met: undefined }
        : { target, figure: figure(found), met: ok(found) },
    );
  };
  // The spread of the same-repetition ratios, when there is more than one.
  const spread = (min: number | undefined, max: number | undefined, runs: number) =>
    min === undefined || max === undefined || runs < 2 ? "" : ` (${min.toFixed(2)}–${max.toFixed(2)})`;
  for (const id of ["l1-get-seq", "l1-get-256", "l1-goi-seq", "l1-goi-256"]) {
    add(
      `${id}: cachet ≥ 0.8x raw lru-cache`,
      lib(summaries, id, "cachet"),
      (l) => `${l.ratio?.toFixed(2) ?? "?"}x${spread(l.ratioMin, l.ratioMax, l.ok)}`,
      (l) => (l.ratio ?? 0) >= 0.8,
    );
  }
  add(
    "memory: cachet ≤ 100 bytes/entry of overhead",
    lib(summaries, "memory", "cachet"),
    (l) => `${formatMetric(l.medians["bytesPerEntry"], "bytes")} bytes`,
    (l) => (l.medians["bytesPerEntry"] ?? Infinity) <= 100,
  );
  add(
    "stampede-l1: cachet loader once, p99 ≤ 52 ms",
    lib(summaries, "stampede-l1", "cachet"),
    (l) => `${l.medians["loaderCalls"]} loader call(s), p99 ${formatMetric(l.medians["p99"], "ms")} ms`,
    (l) => l.medians["loaderCalls"] === 1 && (l.medians["p99"] ?? Infinity) <= 52,
  );
  add(
    "stampede-l2: cachet loader once, L2 read once, p99 ≤ 52 ms",
    lib(summaries, "stampede-l2", "cachet"),
    (l) =>
      `${l.medians["loaderCalls"]} loader call(s), ${l.medians["l2Reads"]} L2 read(s), p99 ${formatMetric(l.medians["p99"], "ms")} ms`,
    (l) =>
      l.medians["loaderCalls"] === 1 && l.medians["l2Reads"] === 1 && (l.medians["p99"] ?? Infinity) <= 52,
  );
  for (const [id, name, floor] of [
    ["l2-only", "cachet", 0.95],
    ["l2-only", "cachet-json", 0.95],
    ["l2-hit", "cachet", 0.9],
    ["l2-hit", "cachet-json", 0.9],
  ] as const) {
    add(
      `${id}: ${name} ≥ ${floor}x its floor`,
      lib(summaries, id, name),
      (l) =>
        `${l.floorRatio?.toFixed(2) ?? "?"}x${spread(l.floorMin, l.floorMax, l.ok)} of \`${l.floor ?? "?"}\`; ` +
        `${l.ratio?.toFixed(2) ?? "?"}x of ioredis GET + JSON.parse`,
      (l) => (l.floorRatio ?? 0) >= floor,
    );
  }
  add(
    "resilience: cachet serves 100% (stale exists)",
    lib(summaries, "resilience", "cachet"),
    (l) => formatMetric(l.medians["servedRate"], "percent"),
    (l) => l.medians["servedRate"] === 1,
  );
  add(
    "resilience: cachet p99 with Redis down ≤ 2x p99 with Redis up",
    lib(summaries, "resilience", "cachet"),
    (l) => `${formatMetric(l.medians["p99Down"], "ms")} ms vs ${formatMetric(l.medians["p99Up"], "ms")} ms`,
    (l) => (l.medians["p99Down"] ?? Infinity) <= 2 * (l.medians["p99Up"] ?? 0),
  );
  add(
    "fleet: one loader call for a miss taken by 4 processes at once",
    lib(summaries, "fleet", "cachet"),
    (l) =>
      `${l.medians["loaderCallsMax"]} loader call(s) at most; invalidation visible everywhere in ` +
      `${formatMetric(l.medians["visibleP50"], "ms")} ms (p50)`,
    (l) => l.medians["loaderCallsMax"] === 1,
  );
  add(
    "tracking-latency: tracking p99 < 2 ms",
    lib(summaries, "tracking-latency", "tracking"),
    (l) =>
      `p50 ${formatMetric(l.medians["p50"], "ms")} / p99 ${formatMetric(l.medians["p99"], "ms")} ms; ` +
      `p99 ${l.floorRatio?.toFixed(2) ?? "?"}x${spread(l.floorMin, l.floorMax, l.ok)} of \`${l.floor ?? "?"}\`` +
      ` (${formatMetric(lib(summaries, "tracking-latency", "raw-tracking")?.medians["p99"], "ms")} ms)`,
    (l) => (l.medians["p99"] ?? Infinity) < 2,
  );
  add(
    "tracking-stale: with tracking, 0 stale reads per 10k after the bound",
    lib(summaries, "tracking-stale", "tracking"),
    (l) =>
      `${formatMetric(l.medians["staleAfterBoundPer10k"], "count")} after the bound ` +
      `(${formatMetric(l.medians["stalePer10k"], "count")} in all)`,
    (l) => l.medians["staleAfterBoundPer10k"] === 0,
  );
  for (const adapter of ["node", "fetch", "fastify"]) {
    add(
      `http-${adapter}: cached ≥ 90% of the constant-response limit (paired windows)`,
      lib(summaries, `http-${adapter}`, "cached"),
      (l) =>
        `${((l.medians["pairedRatio"] ?? 0) * 100).toFixed(0)}% (by server CPU/req ` +
        `${((l.medians["pairedCpuRatio"] ?? 0) * 100).toFixed(0)}%; unpaired ${((l.ratio ?? 0) * 100).toFixed(0)}%)`,
      (l) => (l.medians["pairedRatio"] ?? 0) >= 0.9,
    );
  }
  return checks;
}

/** The whole report: machine, caveat, targets, one table per scenario. */
export function reportMarkdown(
  machine: MachineInfo,
  options: { reps: number; quick: boolean; wallSeconds: number },
  summaries: readonly ScenarioSummary[],
  defs: readonly ScenarioDef[],
): string {
  const lines = [
    "# cachet benchmark results",
    "",
    `Machine: ${machineLine(machine)}.`,
    "",
    `${options.quick ? "Quick (smoke) run: figures are not meaningful. " : ""}` +
      `${options.reps} repetition(s) (slow scenarios fewer, see \`runs\`), every measurement in a fresh Node ` +
      `process (its throughput the median of five timed windows), libraries interleaved; medians, and ratios ` +
      `to the baseline measured in the same repetition ` +
      `(median of the per-repetition ratios, with their range). Wall time ${Math.round(options.wallSeconds)} s.`,
    "",
    "Caveat: a shared 2-core machine with other work running; absolute numbers move between runs, ratios " +
      "much less. Compare libraries within one table, not across runs or machines.",
    "",
    "## Targets",
    "",
    "| target | figure | met |",
    "| --- | --- | --- |",
    ...checkTargets(summaries).map(
      (c) =>
        `| ${escapeCell(c.target)} | ${escapeCell(c.figure)} | ${c.met === undefined ? "—" : c.met ? "yes" : "**no**"} |`,
    ),
    "",
    "## Scenarios",
    "",
  ];
  for (const summary of summaries) {
    const def = defs.find((d) => d.id === summary.id)!;
    lines.push(scenarioMarkdown(summary, def.columns));
  }
  return lines.join("\n");
}
