// One measurement in a fresh process: `node --expose-gc runner.js <scenario> <library> <settings-json>`.
// Sends `{ ok: true, metrics }` or `{ ok: false, error }` to the parent over IPC (or prints it as
// JSON when run by hand), then exits, so nothing a library leaves running can delay the next run.
import { REGISTERED } from "./scenarios/registry.js";
import type { Metrics, RunSettings } from "./scenarios/types.js";

/** What a measurement process reports. */
export type RunnerMessage = { ok: true; metrics: Metrics } | { ok: false; error: string };

// Scenario modules (and through them, libraries) are imported on demand: a process loads only
// what its one measurement needs.
async function measure(scenario: string, lib: string, settings: RunSettings): Promise<Metrics> {
  const registered = REGISTERED.find((module) => module.defs.some((def) => def.id === scenario));
  if (registered !== undefined) return registered.measure(scenario, lib, settings);
  const l1 = /^(l1|listener)-(get|goi)-(seq|256)$/.exec(scenario);
  if (l1) {
    const { runL1Hit } = await import("./scenarios/l1.js");
    return runL1Hit(lib, l1[2] as "get" | "goi", l1[3] === "seq" ? 1 : 256, settings);
  }
  if (scenario === "value-mode-l1") {
    const { runL1Hit } = await import("./scenarios/l1.js");
    return runL1Hit(lib, "get", 256, settings);
  }
  const http = /^http-(node|fetch|fastify)$/.exec(scenario);
  if (http) return (await import("./scenarios/http.js")).runHttp(http[1]!, lib, settings);
  switch (scenario) {
    case "memory":
      return (await import("./scenarios/memory.js")).runMemory(lib, settings);
    case "stampede-l1":
      return (await import("./scenarios/stampede.js")).runStampede(lib, false, settings);
    case "stampede-l2":
      return (await import("./scenarios/stampede.js")).runStampede(lib, true, settings);
    case "mixed":
      return (await import("./scenarios/l1.js")).runMixed(lib, settings);
    case "l2-hit":
    case "value-mode-l2":
      return (await import("./scenarios/l2.js")).runL2Hit(lib, settings);
    case "l2-only":
      return (await import("./scenarios/l2.js")).runL2Hit(lib, settings, 0);
    case "resilience":
      return (await import("./scenarios/resilience.js")).runResilience(lib, settings);
    case "conditional-write":
      return (await import("./scenarios/conditional.js")).runConditionalWrite(lib, settings);
    case "consistency-cost":
      return (await import("./scenarios/consistency.js")).runConsistencyCost(lib, settings);
    case "recovery-after-heal":
      return (await import("./scenarios/consistency.js")).runRecoveryAfterHeal(lib, settings);
    case "tracking-latency":
      return (await import("./scenarios/tracking.js")).runTrackingLatency(lib, settings);
    case "tracking-stale":
      return (await import("./scenarios/tracking.js")).runTrackingStale(lib, settings);
    case "tracking-hit":
      return (await import("./scenarios/tracking.js")).runTrackingHit(lib, settings);
    case "tracking-cost":
      return (await import("./scenarios/tracking.js")).runTrackingCost(lib);
    default:
      throw new Error(`unknown scenario ${scenario}`);
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
