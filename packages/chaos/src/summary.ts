import { execFileSync } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";
import type { ChaosRunResult } from "./chaos-run.js";

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** One line naming the machine, so figures can be compared with a re-run. */
export function machineLine(): string {
  let redis = "redis-server ?";
  try {
    redis = execFileSync("redis-server", ["--version"], { encoding: "utf8" })
      .split(" ")
      .slice(0, 3)
      .join(" ");
  } catch {
    // not installed: the run itself would have failed earlier
  }
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${redis.trim()}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}, ${new Date().toISOString()}`;
}

const merge = (into: Record<string, number>, from: Record<string, number>): void => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
};

const table = (rows: readonly (readonly [string, string])[]): string => {
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    "| what | figure |",
    "| --- | ---: |",
    ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`),
  ].join("\n");
};

const list = (record: Record<string, number>): string =>
  Object.keys(record).length === 0
    ? "none"
    : Object.entries(record)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");

/** The summary table of one run, as Markdown. */
export function summarize(result: ChaosRunResult): string {
  const latencies = result.reports.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const errors: Record<string, number> = {};
  const kinds: Record<string, number> = {};
  const maxByKind: Record<string, number> = {};
  let stale = 0;
  let failSafe = 0;
  let tierErrors = 0;
  let reconnects = 0;
  let received = 0;
  let corrupt = 0;
  let freshPastTtl = 0;
  for (const r of result.reports) {
    merge(errors, r.errorsByCode);
    merge(kinds, r.byKind);
    for (const [k, v] of Object.entries(r.maxLatencyByKind)) maxByKind[k] = Math.max(maxByKind[k] ?? 0, v);
    stale += r.staleServed;
    failSafe += r.failSafeServed;
    tierErrors += r.tierErrors;
    reconnects += r.busReconnects;
    received += r.busReceived;
    corrupt += r.corruptEntries;
    freshPastTtl += r.freshPastTtl;
  }
  const convergeMs = [...result.fleet.convergeMs].sort((a, b) => a - b);
  const o = result.options;
  const p = result.probes;
  const byInvariant: Record<string, number> = {};
  for (const v of result.violations) byInvariant[v.invariant] = (byInvariant[v.invariant] ?? 0) + 1;
  return table([
    ["transport", o.transport],
    ["workers × concurrency", `${o.workers} × ${o.concurrency} (seed ${o.seed})`],
    ["wall time", `${(result.durationMs / 1000).toFixed(1)} s`],
    ["operations", `${latencies.length} (${list(kinds)})`],
    [
      "faults injected",
      `${Object.values(result.faults).reduce((a, b) => a + b, 0)} (${list(result.faults)})`,
    ],
    ["errors by code", list(errors)],
    [
      "latency p50 / p99 / max",
      `${percentile(latencies, 50).toFixed(2)} / ${percentile(latencies, 99).toFixed(1)} / ${percentile(latencies, 100).toFixed(0)} ms`,
    ],
    ["max latency by call", list(maxByKind) + " ms"],
    ["stale served (events)", `${stale} (fail-safe ${failSafe}; unflagged past ttl ${freshPastTtl})`],
    ["tier errors absorbed", String(tierErrors)],
    ["bus messages received / gap reconnects", `${received} / ${reconnects}`],
    ["corrupt entries seen", String(corrupt)],
    [
      "read-after-write probes",
      `${p.attempted}: checked ${p.fresh + p.stale + p.miss + p.error} (fresh ${p.fresh}, stale ${p.stale}, miss ${p.miss} [${list(p.missL2)}], error ${p.error}); not checkable: write not in L2 ${p.writeIncomplete}, delivery not seen ${p.undelivered}`,
    ],
    [
      "lost updates (must be 0)",
      `${result.fleet.lostUpdates} in ${result.fleet.lostUpdateProbes} probes (read after the bound, older than the latest completed write or invalidate)`,
    ],
    [
      "resurrections (must be 0)",
      `${result.fleet.resurrections} in ${result.fleet.resurrectionProbes} probes (a load begun before an invalidate, read after the bound)`,
    ],
    [
      "fleet probes: converged p50 / max; not checkable",
      `${percentile(convergeMs, 50)} / ${percentile(convergeMs, 100)} ms; ${result.fleet.uncheckable}`,
    ],
    [
      "invariant violations",
      `${result.violations.length}${result.violations.length ? ` (${list(byInvariant)})` : ""}`,
    ],
  ]);
}
