// `pnpm --filter @cachet/chaos chaos [--quick] [--transport pubsub|stream] [--workers n] [--ops n] [--seed n]`
// `pnpm --filter @cachet/chaos chaos soak [--minutes n] [--redis]`
import { parseArgs } from "node:util";
import { runChaos, type ChaosRunOptions } from "./chaos-run.js";
import { runSoak } from "./soak.js";
import { machineLine, summarize } from "./summary.js";

const { values, positionals } = parseArgs({
  // `pnpm test:chaos -- --quick` passes the `--` through; it would end option parsing.
  args: process.argv.slice(2).filter((arg) => arg !== "--"),
  allowPositionals: true,
  options: {
    quick: { type: "boolean", default: false },
    transport: { type: "string" },
    workers: { type: "string" },
    ops: { type: "string" },
    seed: { type: "string" },
    margin: { type: "string" },
    minutes: { type: "string" },
    redis: { type: "boolean", default: false },
  },
});

async function chaos(): Promise<number> {
  const quick = values.quick;
  const transports: ("pubsub" | "stream")[] = values.transport
    ? [values.transport as "pubsub" | "stream"]
    : ["pubsub", "stream"];
  const seed = Number(values.seed ?? Date.now() % 100_000);
  console.log(`cachet chaos ${quick ? "(quick)" : "(full)"}; machine: ${machineLine()}`);
  let failed = 0;
  for (const [index, transport] of transports.entries()) {
    const options: ChaosRunOptions = {
      transport,
      workers: Number(values.workers ?? (quick ? 3 : 4)),
      operationsPerWorker: Number(values.ops ?? (quick ? 3_000 : 15_000)),
      concurrency: 8,
      pauseMs: quick ? 8 : 10,
      seed: seed + index,
      // Scheduling noise on a shared 2-core machine running several processes plus Redis.
      marginMs: Number(values.margin ?? 750),
      maxmemory: "24mb",
    };
    console.log(
      `\n## ${transport}: ${options.workers} workers × ${options.operationsPerWorker} operations\n`,
    );
    const result = await runChaos(options);
    console.log(summarize(result));
    if (result.violations.length > 0) {
      failed += result.violations.length;
      console.log("\nviolations:");
      for (const v of result.violations.slice(0, 50)) console.log(`- [${v.invariant}] ${v.detail}`);
    }
  }
  console.log(failed === 0 ? "\nchaos: all invariants held" : `\nchaos: ${failed} invariant violation(s)`);
  return failed === 0 ? 0 : 1;
}

async function main(): Promise<number> {
  if (positionals[0] === "soak") {
    return runSoak({ minutes: Number(values.minutes ?? 10), redis: values.redis });
  }
  return chaos();
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
