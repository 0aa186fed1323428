import { LRUCache } from "lru-cache";
import { createL1, makeValue } from "../libs.js";
import type { L1Lib, Value } from "../libs.js";
import { measureOps, measureSyncOps } from "../measure.js";
import { seededRandom, zipfSequence } from "../random.js";
import type { Metrics, RunSettings } from "./types.js";

const KEYS = 10_000;
const SEQUENCE = 1 << 20;

function keyNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `user:${i}`);
}

function durations(settings: RunSettings): { warmupMs: number; durationMs: number } {
  return settings.quick ? { warmupMs: 60, durationMs: 150 } : { warmupMs: 150, durationMs: 450 };
}

/** L1 hits through `get` or `getOrInsert`, sequential or 256 in flight; also the listener scenarios. */
export async function runL1Hit(
  lib: string,
  op: "get" | "goi",
  inFlight: number,
  settings: RunSettings,
): Promise<Metrics> {
  const keys = keyNames(KEYS);
  const sequence = zipfSequence(KEYS, SEQUENCE, 1.0, 42);
  const mask = SEQUENCE - 1;
  if (lib === "lru-cache-sync") {
    const lru = new LRUCache<string, Value>({ max: KEYS });
    for (let i = 0; i < KEYS; i++) lru.set(keys[i]!, makeValue(i));
    const result = measureSyncOps((i) => lru.get(keys[sequence[i & mask]!]!), durations(settings));
    return { opsPerSec: result.opsPerSec };
  }
  const subject = await createL1(lib as L1Lib, KEYS);
  for (let i = 0; i < KEYS; i++) await subject.set(keys[i]!, makeValue(i));
  const load = (): Promise<Value> =>
    Promise.reject(new Error("a hit-path benchmark must not call its loader"));
  const call =
    op === "get"
      ? (i: number) => subject.get(keys[sequence[i & mask]!]!)
      : (i: number) => subject.getOrInsert(keys[sequence[i & mask]!]!, load);
  const result = await measureOps(call, { inFlight, ...durations(settings) });
  await subject.close();
  return { opsPerSec: result.opsPerSec };
}

/** 90% reads, 10% writes over 100,000 Zipf-distributed keys with a 10,000-entry L1. */
export async function runMixed(lib: string, settings: RunSettings): Promise<Metrics> {
  const n = 100_000;
  const keys = keyNames(n);
  const values = Array.from({ length: n }, (_, i) => makeValue(i));
  const sequence = zipfSequence(n, SEQUENCE, 1.0, 7);
  const random = seededRandom(11);
  const writes = new Uint8Array(SEQUENCE);
  for (let i = 0; i < SEQUENCE; i++) writes[i] = random() < 0.1 ? 1 : 0;
  const mask = SEQUENCE - 1;
  const subject = await createL1(lib as L1Lib, 10_000);
  let reads = 0;
  let hits = 0;
  const call = async (i: number): Promise<void> => {
    const at = i & mask;
    const k = sequence[at]!;
    if (writes[at] === 1) {
      await subject.set(keys[k]!, values[k]!);
    } else {
      const found = await subject.get(keys[k]!);
      reads++;
      if (found !== undefined && found !== null) hits++;
    }
  };
  // Fill the cache from the far end of the (i.i.d.) sequence, which the measured part never reaches,
  // so a slow library does not read only keys it was pre-filled with.
  for (let i = SEQUENCE - 20_000; i < SEQUENCE; i++)
    await subject.set(keys[sequence[i]!]!, values[sequence[i]!]!);
  const d = durations(settings);
  await measureOps(call, { inFlight: 1, warmupMs: d.warmupMs, durationMs: 1 });
  reads = 0;
  hits = 0;
  const result = await measureOps(call, { inFlight: 1, warmupMs: 0, durationMs: d.durationMs });
  await subject.close();
  return { opsPerSec: result.opsPerSec, hitRatio: reads === 0 ? 0 : hits / reads };
}
