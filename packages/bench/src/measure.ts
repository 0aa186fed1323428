/** What a throughput measurement found. */
export interface Throughput {
  ops: number;
  elapsedMs: number;
  opsPerSec: number;
}

/** Operations between two reads of the clock in each loop: reading it costs as much as a hit. */
const CHUNK = 64;

async function runFor(op: (i: number) => unknown, inFlight: number, ms: number): Promise<Throughput> {
  let next = 0;
  let stop = false;
  const started = performance.now();
  const deadline = started + ms;
  const worker = async (): Promise<void> => {
    while (!stop) {
      for (let j = 0; j < CHUNK; j++) await op(next++);
      if (performance.now() >= deadline) stop = true;
    }
  };
  const workers: Promise<void>[] = [];
  for (let w = 0; w < inFlight; w++) workers.push(worker());
  await Promise.all(workers);
  const elapsedMs = performance.now() - started;
  return { ops: next, elapsedMs, opsPerSec: (next / elapsedMs) * 1000 };
}

/**
 * Runs `op(i)` for `warmupMs` (discarded, lets the JIT settle), then for `durationMs`, with
 * `inFlight` concurrent loops that each `await` every call, whether or not it returns a promise:
 * every library pays the same await per operation, as async callers do.
 */
export async function measureOps(
  op: (i: number) => unknown,
  options: { inFlight: number; warmupMs: number; durationMs: number },
): Promise<Throughput> {
  await runFor(op, options.inFlight, options.warmupMs);
  return runFor(op, options.inFlight, options.durationMs);
}

/** Like {@link measureOps} for a synchronous call, with no await at all (the raw ceiling). */
export function measureSyncOps(
  op: (i: number) => unknown,
  options: { warmupMs: number; durationMs: number },
): Throughput {
  const loop = (ms: number): Throughput => {
    let next = 0;
    let sink = 0;
    const started = performance.now();
    const deadline = started + ms;
    for (;;) {
      for (let j = 0; j < CHUNK; j++) if (op(next++) !== undefined) sink++;
      if (performance.now() >= deadline) break;
    }
    const elapsedMs = performance.now() - started;
    if (sink < 0) console.log(sink);
    return { ops: next, elapsedMs, opsPerSec: (next / elapsedMs) * 1000 };
  };
  loop(options.warmupMs);
  return loop(options.durationMs);
}

/** Resolves after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
