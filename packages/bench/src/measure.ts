/** What a throughput measurement found. */
export interface Throughput {
  ops: number;
  elapsedMs: number;
  opsPerSec: number;
}

/** Operations between two reads of the clock in each loop: reading it costs as much as a hit. */
const CHUNK = 64;

async function runFor(
  op: (i: number) => unknown,
  inFlight: number,
  ms: number,
  chunk: number,
): Promise<Throughput> {
  let next = 0;
  let stop = false;
  const started = performance.now();
  const deadline = started + ms;
  const worker = async (): Promise<void> => {
    while (!stop) {
      for (let j = 0; j < chunk; j++) await op(next++);
      if (performance.now() >= deadline) stop = true;
    }
  };
  const workers: Promise<void>[] = [];
  for (let w = 0; w < inFlight; w++) workers.push(worker());
  await Promise.all(workers);
  const elapsedMs = performance.now() - started;
  return { ops: next, elapsedMs, opsPerSec: (next / elapsedMs) * 1000 };
}

/** Windows each measurement is split into; the median window is reported. */
const WINDOWS = 5;

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/**
 * Runs `op(i)` for `warmupMs` (discarded, lets the JIT settle), then for `durationMs` split into
 * five windows, with `inFlight` concurrent loops that each `await` every call, whether or not it
 * returns a promise: every library pays the same await per operation, as async callers do. The
 * median window's rate is reported, so a burst of load from another process during one window
 * does not decide the figure.
 */
export async function measureOps(
  op: (i: number) => unknown,
  options: { inFlight: number; warmupMs: number; durationMs: number; chunk?: number },
): Promise<Throughput> {
  // Slow operations (network round trips) check the clock after every call, so a window ends on time.
  const chunk = options.chunk ?? CHUNK;
  await runFor(op, options.inFlight, options.warmupMs, chunk);
  const windows: Throughput[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    windows.push(await runFor(op, options.inFlight, options.durationMs / WINDOWS, chunk));
  }
  const ops = windows.reduce((sum, t) => sum + t.ops, 0);
  const elapsedMs = windows.reduce((sum, t) => sum + t.elapsedMs, 0);
  return { ops, elapsedMs, opsPerSec: medianOf(windows.map((t) => t.opsPerSec)) };
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
  const windows: Throughput[] = [];
  for (let w = 0; w < WINDOWS; w++) windows.push(loop(options.durationMs / WINDOWS));
  const ops = windows.reduce((sum, t) => sum + t.ops, 0);
  const elapsedMs = windows.reduce((sum, t) => sum + t.elapsedMs, 0);
  return { ops, elapsedMs, opsPerSec: medianOf(windows.map((t) => t.opsPerSec)) };
}

/** Resolves after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
