import type { MachineInfo } from "./machine.js";
import type { ScenarioSummary } from "./report.js";

/** One group of bars: ratios of several libraries to one baseline. */
interface Group {
  title: string;
  target?: { value: number; label: string };
  bars: { label: string; value: number; highlight: boolean }[];
}

const WIDTH = 760;
const LABEL_W = 170;
const BAR_H = 16;
const GAP = 5;
const PLOT_W = WIDTH - LABEL_W - 70;

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function group(
  summaries: readonly ScenarioSummary[],
  id: string,
  title: string,
  order: readonly string[],
  target?: { value: number; label: string },
): Group | undefined {
  const s = summaries.find((x) => x.id === id);
  if (s === undefined || s.skipped !== undefined) return undefined;
  const bars = order.flatMap((name) => {
    const lib = s.libraries.find((l) => l.lib === name);
    return lib?.ratio === undefined
      ? []
      : [{ label: name, value: lib.ratio, highlight: name.startsWith("cachet") }];
  });
  if (bars.length === 0) return undefined;
  const runs = Math.max(...s.libraries.map((l) => l.ok));
  const full = `${title} (median of ${runs} runs)`;
  return target === undefined ? { title: full, bars } : { title: full, bars, target };
}

/**
 * A horizontal bar chart of the headline ratios (L1 hits to raw lru-cache, L2 hits to raw ioredis),
 * as a self-contained SVG string: no fonts, scripts or external references.
 */
export function ratioChart(summaries: readonly ScenarioSummary[], machine: MachineInfo): string {
  const l1Order = [
    "cachet",
    "lru-cache",
    "lru-cache-ttl",
    "map",
    "bentocache",
    "bentocache-noser",
    "cacheable",
    "cache-manager",
  ];
  const groups = [
    group(summaries, "l1-get-seq", "L1 hit, get, sequential: ratio to raw lru-cache", l1Order, {
      value: 0.8,
      label: "target 0.8x",
    }),
    group(summaries, "l1-get-256", "L1 hit, get, 256 in flight: ratio to raw lru-cache", l1Order, {
      value: 0.8,
      label: "target 0.8x",
    }),
    group(
      summaries,
      "l2-hit",
      "L1 miss, L2 hit, back-fill, 256 in flight: ratio to ioredis GET + JSON.parse",
      [
        "cachet",
        "cachet-json",
        "hand-rolled-msgpack",
        "hand-rolled-json",
        "ioredis-msgpack",
        "ioredis-json",
        "bentocache",
        "cacheable",
        "cache-manager",
      ],
    ),
  ].filter((g): g is Group => g !== undefined);
  const max = Math.max(1.2, ...groups.flatMap((g) => g.bars.map((b) => b.value))) * 1.05;
  const x = (v: number) => LABEL_W + (Math.min(v, max) / max) * PLOT_W;
  const parts: string[] = [];
  let y = 44;
  for (const g of groups) {
    parts.push(`<text x="8" y="${y}" class="h">${esc(g.title)}</text>`);
    y += 10;
    const top = y;
    for (const bar of g.bars) {
      const w = Math.max(1, x(bar.value) - LABEL_W);
      parts.push(
        `<text x="${LABEL_W - 8}" y="${y + BAR_H - 4}" class="l" text-anchor="end">${esc(bar.label)}</text>`,
        `<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${bar.highlight ? "#d9480f" : "#868e96"}"/>`,
        `<text x="${(LABEL_W + w + 5).toFixed(1)}" y="${y + BAR_H - 4}" class="v">${bar.value.toFixed(bar.value < 0.1 ? 3 : 2)}x</text>`,
      );
      y += BAR_H + GAP;
    }
    const one = x(1).toFixed(1);
    parts.push(
      `<line x1="${one}" y1="${top - 3}" x2="${one}" y2="${y - GAP + 3}" stroke="#212529" stroke-width="1"/>`,
    );
    if (g.target !== undefined) {
      const t = x(g.target.value).toFixed(1);
      parts.push(
        `<line x1="${t}" y1="${top - 3}" x2="${t}" y2="${y - GAP + 3}" stroke="#1971c2" stroke-width="1.5" stroke-dasharray="4 3"/>`,
        `<text x="${t}" y="${y + 10}" class="t" text-anchor="middle">${esc(g.target.label)}</text>`,
      );
    }
    y += 30;
  }
  const height = y + 34;
  const footer1 = `One fresh process per measurement, libraries interleaved, ratios taken within each repetition · pnpm bench`;
  const footer2 = `Node ${machine.node} · ${machine.cpu} × ${machine.cores} cores · ${machine.date.slice(0, 10)} · a shared, noisy machine: compare ratios, not absolute numbers`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="cachet benchmark ratios">`,
    "<style>text{font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;fill:#212529}.h{font-size:13px;font-weight:600}.l{font-size:12px}.v{font-size:11px}.t{font-size:10px;fill:#1971c2}.f{font-size:10px;fill:#495057}</style>",
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="8" y="20" class="h">cachet vs raw clients and peer caches (higher is better; black line = 1.0x, the raw baseline)</text>`,
    ...parts,
    `<text x="8" y="${height - 24}" class="f">${esc(footer1)}</text>`,
    `<text x="8" y="${height - 10}" class="f">${esc(footer2)}</text>`,
    "</svg>",
    "",
  ].join("\n");
}
