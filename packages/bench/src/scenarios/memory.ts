import { createL1, makeValue } from "../libs.js";
import type { L1Lib } from "../libs.js";
import type { Metrics, RunSettings } from "./types.js";

function collect(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("the memory scenario needs node --expose-gc");
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Let promise callbacks and timers the inserts scheduled run before measuring. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * Heap bytes per entry that a cache adds on top of its keys and values: both are built first and
 * stay referenced, so only the cache's own structures (and any serialized copy) show in the delta.
 */
export async function runMemory(lib: string, settings: RunSettings): Promise<Metrics> {
  const n = settings.quick ? 20_000 : 100_000;
  const keys = Array.from({ length: n }, (_, i) => `user:${i}`);
  const values = Array.from({ length: n }, (_, i) => makeValue(i));
  // Each value is frozen beforehand: cachet's default mode freezes, and a frozen object gets a new
  // hidden class; doing it for everyone keeps the values identical across libraries.
  for (const value of values) Object.freeze(value);
  // Load the library's modules (and whatever it sets up once per process) outside the measurement.
  const probe = await createL1(lib as L1Lib, 10);
  await probe.set("probe", makeValue(-1));
  await probe.close();
  await settle();
  const before = collect();
  const subject = await createL1(lib as L1Lib, n);
  for (let i = 0; i < n; i++) await subject.set(keys[i]!, values[i]!);
  await settle();
  const after = collect();
  // Keep everything reachable until after the second reading, then check the cache kept it all.
  const last = await subject.get(keys[n - 1]!);
  const first = await subject.get(keys[0]!);
  if (last === undefined || last === null || first === undefined || first === null) {
    throw new Error(`${lib} did not keep all ${n} entries`);
  }
  await subject.close();
  return { bytesPerEntry: (after - before) / n, entries: n, keysKept: keys.length + values.length };
}
