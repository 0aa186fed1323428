// `pnpm bench`: runs every scenario for every library, each measurement in a fresh Node process,
// libraries interleaved within a repetition and the whole set repeated; prints and writes Markdown
// and JSON results, and the SVG chart of the headline ratios.
//
//   node dist/main.js [--quick] [--reps N] [--only id,prefix,...] [--skip id,...] [--timeout S]
//                     [--no-write] [--from-results]
import { fork } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { findRedisBinaries } from "@cachet/test-utils";
import { format } from "prettier";
import { machineInfo, machineLine } from "./machine.js";
import type { MachineInfo } from "./machine.js";
import { formatMetric, reportMarkdown, summarize } from "./report.js";
import type { RunOutcome, ScenarioRuns, ScenarioSummary } from "./report.js";
import type { RunnerMessage } from "./runner.js";
import { SCENARIOS } from "./scenarios.js";
import type { RunSettings } from "./scenarios/types.js";
import { ratioChart } from "./svg.js";

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, "..");
const repoRoot = join(packageDir, "..", "..");
const RUNNER = join(here, "runner.js");

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    reps: { type: "string" },
    only: { type: "string" },
    skip: { type: "string" },
    timeout: { type: "string", default: "120" },
    "no-write": { type: "boolean", default: false },
    "from-results": { type: "boolean", default: false },
  },
});

const README = join(packageDir, "README.md");
const MARKDOWN = { parser: "markdown", printWidth: 110, proseWrap: "preserve" } as const;
const START = "<!-- results:start -->";
const END = "<!-- results:end -->";

/** Puts a report (its title dropped, headings one level down) between the README's result markers. */
async function updateReadme(report: string): Promise<void> {
  const readme = readFileSync(README, "utf8");
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  if (from === -1 || to < from) throw new Error(`README.md has no ${START} ... ${END} block`);
  const body = report
    .replace(/^# .*\n+/, "")
    .replace(/^(#{2,5}) /gm, "#$1 ")
    .trim();
  const next = `${readme.slice(0, from + START.length)}\n\n${body}\n\n${readme.slice(to)}`;
  writeFileSync(README, await format(next, MARKDOWN));
}

const quick = args.quick === true;
const reps = args.reps !== undefined ? Number(args.reps) : quick ? 1 : 5;
if (!Number.isInteger(reps) || reps < 1) throw new Error("`--reps` must be a positive integer");
const timeoutMs = Number(args.timeout) * 1000;
const matches = (id: string, list: string | undefined) =>
  list !== undefined && list.split(",").some((p) => p.length > 0 && (id === p || id.startsWith(p)));
const selected = SCENARIOS.filter(
  (s) => (args.only === undefined || matches(s.id, args.only)) && !matches(s.id, args.skip),
);
if (selected.length === 0)
  throw new Error("no scenario selected; ids: " + SCENARIOS.map((s) => s.id).join(", "));
const settings: RunSettings = { quick };

function runOne(scenario: string, lib: string): Promise<RunOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = fork(RUNNER, [scenario, lib, JSON.stringify(settings)], {
      execArgv: ["--expose-gc"],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    let message: RunnerMessage | undefined;
    child.on("message", (m) => (message = m as RunnerMessage));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      if (message?.ok === true) resolve({ ok: true, metrics: message.metrics, ms });
      else if (message?.ok === false) resolve({ ok: false, error: message.error, ms });
      else {
        const why =
          signal === "SIGKILL" ? `timed out after ${timeoutMs / 1000} s` : `exited with ${code ?? signal}`;
        resolve({ ok: false, error: `${why}; output: ${output.trim().slice(-500)}`, ms });
      }
    });
  });
}

function brief(
  outcome: RunOutcome,
  columns: readonly { metric: string; format: Parameters<typeof formatMetric>[1] }[],
): string {
  if (!outcome.ok) return `FAILED: ${outcome.error.split("\n")[0]}`;
  return columns.map((c) => `${c.metric}=${formatMetric(outcome.metrics[c.metric], c.format)}`).join(" ");
}

const CHART = join(repoRoot, "docs", "bench.svg");

interface SavedResults {
  machine: MachineInfo;
  reps: number;
  quick: boolean;
  wallSeconds: number;
  summaries: ScenarioSummary[];
}

/** Re-renders latest.md, the chart and the README block from results/latest.json, measuring nothing. */
async function rerender(): Promise<void> {
  const saved = JSON.parse(readFileSync(join(packageDir, "results", "latest.json"), "utf8")) as SavedResults;
  const defs = saved.summaries.map((s) => SCENARIOS.find((d) => d.id === s.id)!);
  const markdown = await format(reportMarkdown(saved.machine, saved, saved.summaries, defs), MARKDOWN);
  writeFileSync(join(packageDir, "results", "latest.md"), markdown);
  writeFileSync(CHART, ratioChart(saved.summaries, saved.machine));
  await updateReadme(markdown);
  console.error("re-rendered results/latest.md, docs/bench.svg and README.md from results/latest.json");
}

async function main(): Promise<void> {
  if (args["from-results"] === true) {
    await rerender();
    return;
  }
  const machine = machineInfo();
  const wallStart = performance.now();
  console.error(`cachet bench (${quick ? "quick" : "full"}, ${reps} repetition(s))`);
  console.error(machineLine(machine));
  const hasRedis = findRedisBinaries() !== undefined;
  const all: ScenarioRuns[] = selected.map((def) => {
    const runs: ScenarioRuns = { def, runs: new Map(def.libs.map((lib) => [lib, []])) };
    if (def.redis === true && !hasRedis) {
      runs.skipped = "redis-server is not installed (`apt-get install -y redis-server`)";
    }
    return runs;
  });
  for (let rep = 0; rep < reps; rep++) {
    for (const scenario of all) {
      const { def } = scenario;
      if (scenario.skipped !== undefined || rep >= (def.maxReps ?? Infinity)) continue;
      // Rotate the order each repetition so no library always runs first (or last) on a drifting machine.
      const shift = rep % def.libs.length;
      const order = [...def.libs.slice(shift), ...def.libs.slice(0, shift)];
      for (const lib of order) {
        const outcome = await runOne(def.id, lib);
        scenario.runs.get(lib)![rep] = outcome;
        console.error(
          `[${rep + 1}/${reps}] ${def.id} ${lib}: ${brief(outcome, def.columns)} (${(outcome.ms / 1000).toFixed(1)} s)`,
        );
      }
    }
  }
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const summaries = all.map(summarize);
  const markdown = await format(
    reportMarkdown(machine, { reps, quick, wallSeconds }, summaries, selected),
    MARKDOWN,
  );
  console.log(markdown);
  if (args["no-write"] === true) return;
  const resultsDir = join(packageDir, "results");
  mkdirSync(resultsDir, { recursive: true });
  const name = quick ? "quick" : "latest";
  const raw = all.map((s) => ({
    id: s.def.id,
    skipped: s.skipped,
    runs: Object.fromEntries([...s.runs].map(([lib, outcomes]) => [lib, outcomes])),
  }));
  const json = await format(JSON.stringify({ machine, reps, quick, wallSeconds, summaries, raw }), {
    parser: "json",
    printWidth: 110,
  });
  writeFileSync(join(resultsDir, `${name}.md`), markdown);
  writeFileSync(join(resultsDir, `${name}.json`), json);
  const written = [join(resultsDir, `${name}.md`), join(resultsDir, `${name}.json`)];
  // The chart only reflects a full run of the scenarios it plots.
  if (!quick && ["l1-get-seq", "l1-get-256", "l2-hit"].every((id) => selected.some((s) => s.id === id))) {
    mkdirSync(dirname(CHART), { recursive: true });
    writeFileSync(CHART, ratioChart(summaries, machine));
    written.push(CHART);
    await updateReadme(markdown);
    written.push(README);
  }
  console.error(
    `wrote ${written.map((f) => relative(process.cwd(), f)).join(", ")} in ${Math.round(wallSeconds)} s`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
