// One measurement in a fresh process: `node --expose-gc runner.js <scenario> <library> <settings-json>`.
// Sends `{ ok: true, metrics }` or `{ ok: false, error }` to the parent over IPC (or prints it as
// JSON when run by hand), then exits, so nothing a library leaves running can delay the next run.
import { runHttp } from "./scenarios/http.js";
import { runL1Hit, runMixed } from "./scenarios/l1.js";
import { runL2Hit } from "./scenarios/l2.js";
import { runMemory } from "./scenarios/memory.js";
import { runResilience } from "./scenarios/resilience.js";
import { runStampede } from "./scenarios/stampede.js";
import type { Metrics, RunSettings } from "./scenarios/types.js";

/** What a measurement process reports. */
export type RunnerMessage = { ok: true; metrics: Metrics } | { ok: false; error: string };

function measure(scenario: string, lib: string, settings: RunSettings): Promise<Metrics> {
  const l1 = /^(l1|listener)-(get|goi)-(seq|256)$/.exec(scenario);
  if (l1) return runL1Hit(lib, l1[2] as "get" | "goi", l1[3] === "seq" ? 1 : 256, settings);
  const http = /^http-(node|fetch|fastify)$/.exec(scenario);
  if (http) return runHttp(http[1]!, lib, settings);
  switch (scenario) {
    case "memory":
      return runMemory(lib, settings);
    case "stampede-l1":
      return runStampede(lib, false, settings);
    case "stampede-l2":
      return runStampede(lib, true, settings);
    case "mixed":
      return runMixed(lib, settings);
    case "l2-hit":
      return runL2Hit(lib, settings);
    case "resilience":
      return runResilience(lib, settings);
    default:
      return Promise.reject(new Error(`unknown scenario ${scenario}`));
  }
}

function report(message: RunnerMessage): void {
  if (process.send) process.send(message, () => process.exit(0));
  else {
    console.log(JSON.stringify(message));
    process.exit(0);
  }
}

const [scenario, lib, settingsJson] = process.argv.slice(2);
if (scenario === undefined || lib === undefined) {
  console.error("usage: node --expose-gc runner.js <scenario> <library> [settings-json]");
  process.exit(2);
}
const settings = JSON.parse(settingsJson ?? '{"quick":true}') as RunSettings;
measure(scenario, lib, settings).then(
  (metrics) => report({ ok: true, metrics }),
  (error: unknown) =>
    report({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
);
