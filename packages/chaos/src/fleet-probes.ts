/**
 * Fleet probes of a chaos run: the two counters of CONSISTENCY.md's fleet guarantees that must stay
 * zero while the faults go on (targeted partitions included).
 *
 * - **Lost updates.** The driver writes (insert or invalidate) one of a few `lu:*` keys through a
 *   random worker, one operation per key at a time, numbered in order. Once the call resolved, it
 *   has every worker read the key until none reads a value older than that operation (a value of
 *   an earlier one, or any value after an invalidation), or the convergence bound has passed. A
 *   worker still reading an older value then is a lost update.
 * - **Resurrections.** A worker starts a load of a fresh `rz:*` key whose loader the driver holds;
 *   another worker invalidates the key; then the loader returns. Once the bound has passed, a
 *   worker reading the loaded value is a resurrection (the load began before the invalidation).
 *
 * A probe window excludes the faults that lose data by design (a restart without persistence, a
 * fill to maxmemory that evicts), which CONSISTENCY.md states as limits; partitions, cuts, stalls,
 * latency, pauses and client kills go on during the windows.
 */
import type { ChaosValue, DriverMessage, Violation, WorkerMessage } from "./protocol.js";

/**
 * How long after a probe's call resolved the fleet may still read the older state: the longest
 * targeted partition (1.5 s), the documented convergence bound after the heal (the longest retry
 * delay of write recovery, 8 s) and the bus.
 */
export const FLEET_BOUND_MS = 1_500 + 8_000 + 2_000;

/** What the fleet probes counted. */
export interface FleetProbeCounts {
  lostUpdateProbes: number;
  resurrectionProbes: number;
  /** Probes whose call failed or whose loader never ran: not checkable. */
  uncheckable: number;
  lostUpdates: number;
  resurrections: number;
  /** Time from a probe's call to the fleet agreeing, per checked probe (ms). */
  convergeMs: number[];
}

/** One worker as the probes see it. */
export interface ProbeTarget {
  readonly id: number;
  ask<T extends WorkerMessage>(
    message: DriverMessage & { probe: number },
    reply: T["type"],
    timeoutMs: number,
  ): Promise<T | undefined>;
}

/** An async mutex: a probe window and a data-losing fault never overlap. */
export class Exclusive {
  #tail: Promise<void> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Read = Extract<WorkerMessage, { type: "fleet-value" }>;

/**
 * Reads `key` on every worker until `isOld` holds for none, or the bound passes; resolves to the
 * workers still reading an old value then, and the time taken.
 */
async function untilConverged(
  workers: readonly ProbeTarget[],
  key: string,
  isOld: (value: ChaosValue | undefined) => boolean,
  next: () => number,
  marginMs: number,
): Promise<{ stale: { id: number; value: ChaosValue | undefined }[]; ms: number }> {
  const started = Date.now();
  for (;;) {
    const reads = await Promise.all(
      workers.map((w) => w.ask<Read>({ type: "fleet-read", probe: next(), key }, "fleet-value", 5_000)),
    );
    const stale = reads.flatMap((read, i) =>
      read?.ok === true && isOld(read.value) ? [{ id: workers[i]!.id, value: read.value }] : [],
    );
    const ms = Date.now() - started;
    if (stale.length === 0 || ms > FLEET_BOUND_MS + marginMs) return { stale, ms };
    await sleep(100);
  }
}

/** Runs both probe chains until `running()` turns false. */
export async function runFleetProbes(options: {
  workers: readonly ProbeTarget[];
  running: () => boolean;
  random: () => number;
  exclusive: Exclusive;
  nextProbe: () => number;
  marginMs: number;
  counts: FleetProbeCounts;
  violations: Violation[];
}): Promise<void> {
  const { workers, random, exclusive, nextProbe, marginMs, counts, violations } = options;
  if (workers.length < 2) return;
  const pick = (): ProbeTarget => workers[Math.floor(random() * workers.length)]!;
  let op = 0;

  const lostUpdateChain = async (): Promise<void> => {
    while (options.running()) {
      await exclusive.run(async () => {
        const n = ++op;
        const key = `lu:${n % 4}`;
        const writer = pick();
        const value: ChaosValue | undefined =
          random() < 0.7 ? { w: "lu", seq: n, at: Date.now(), ttl: 60_000 } : undefined;
        const written = await writer.ask<Extract<WorkerMessage, { type: "fleet-written" }>>(
          { type: "fleet-write", probe: nextProbe(), key, value },
          "fleet-written",
          5_000,
        );
        if (written?.ok !== true) {
          counts.uncheckable++;
          return;
        }
        counts.lostUpdateProbes++;
        // Older: a value of an earlier operation (after an invalidation, every value is older).
        const { stale, ms } = await untilConverged(
          workers,
          key,
          (read) => read !== undefined && read.w === "lu" && read.seq < n,
          nextProbe,
          marginMs,
        );
        counts.convergeMs.push(ms);
        if (stale.length > 0) {
          counts.lostUpdates += stale.length;
          violations.push({
            invariant: "lost-update",
            detail: `${key}: operation ${n} (${value === undefined ? "invalidate" : "insert"} by worker ${writer.id}) completed; ${FLEET_BOUND_MS + marginMs} ms later ${stale.map((s) => `worker ${s.id} read ${JSON.stringify(s.value)}`).join(", ")}`,
          });
        }
      });
      await sleep(100 + random() * 200);
    }
  };

  let loads = 0;
  const resurrectionChain = async (): Promise<void> => {
    while (options.running()) {
      await exclusive.run(async () => {
        const m = ++loads;
        const key = `rz:${m}`;
        const loader = pick();
        let invalidator = pick();
        if (invalidator === loader) invalidator = workers[(workers.indexOf(loader) + 1) % workers.length]!;
        const value: ChaosValue = { w: "rz", seq: m, at: Date.now(), ttl: 60_000 };
        const gate = nextProbe();
        const running = await loader.ask<Extract<WorkerMessage, { type: "gated-running" }>>(
          { type: "gated-load", probe: gate, key, value },
          "gated-running",
          5_000,
        );
        const invalidated =
          running?.ok === true
            ? await invalidator.ask<Extract<WorkerMessage, { type: "fleet-written" }>>(
                { type: "fleet-write", probe: nextProbe(), key, value: undefined },
                "fleet-written",
                5_000,
              )
            : undefined;
        // A load that ended before its loader ran has already said so (and is not checkable).
        if (running?.ok === true) {
          await loader.ask<Extract<WorkerMessage, { type: "gated-done" }>>(
            { type: "gated-release", probe: gate },
            "gated-done",
            15_000,
          );
        }
        if (running?.ok !== true || invalidated?.ok !== true) {
          counts.uncheckable++;
          return;
        }
        counts.resurrectionProbes++;
        const { stale, ms } = await untilConverged(
          workers,
          key,
          (read) => read !== undefined && read.w === "rz" && read.seq === m,
          nextProbe,
          marginMs,
        );
        counts.convergeMs.push(ms);
        if (stale.length > 0) {
          counts.resurrections += stale.length;
          violations.push({
            invariant: "resurrection",
            detail: `${key}: worker ${loader.id}'s load began before worker ${invalidator.id}'s invalidate; ${FLEET_BOUND_MS + marginMs} ms later ${stale.map((s) => `worker ${s.id}`).join(", ")} read the loaded value`,
          });
        }
      });
      await sleep(100 + random() * 200);
    }
  };

  await Promise.all([lostUpdateChain(), resurrectionChain()]);
}
