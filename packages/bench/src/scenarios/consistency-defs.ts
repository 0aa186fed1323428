// The scenarios of `consistency.ts` as the orchestrator sees them (registered in `scenarios.ts`).
// No runtime import of a library here: measurements load their modules on demand.
import type { Column, ScenarioDef } from "../scenarios.js";

const OPS: Column = { metric: "opsPerSec", label: "median ops/s", format: "ops" };

/** The scenario definitions, registered in `scenarios.ts`. */
export const CONSISTENCY_SCENARIOS: readonly ScenarioDef[] = [
  {
    id: "consistency-cost",
    title:
      "Conditional writes through a Cache (L1 + Redis): writes, load write-backs and L2 hits, 256 in flight",
    method:
      "A `Cache` with a memory L1 and a `RedisTier` without (`plain-*`) or with (`versioned-*`) `conditionalWrites`. " +
      "`*-insert`: `insert` of 5,000 keys at random (SET vs the write script); `*-load`: `getOrInsert` of keys " +
      "never seen (an instant loader; L2 read, then the write-back: GET + SET vs GET + read script + conditional " +
      "write); `*-l2-get` / `*-l2-goi`: `get` / `getOrInsert` hits of 5,000 stored keys through a 1-entry L1 " +
      "(a plain GET either way). Each on its own fresh `redis-server`. `server µs/call`: Redis's own CPU time per " +
      "call from `INFO commandstats`, which the machine's load does not swing like the client-side rate.",
    target: "versioned writes ≥ 0.9x plain; versioned L2 hits ≈ plain",
    libs: [
      "plain-insert",
      "versioned-insert",
      "plain-load",
      "versioned-load",
      "plain-l2-get",
      "versioned-l2-get",
      "plain-l2-goi",
      "versioned-l2-goi",
    ],
    baseline: "plain-insert",
    ratioMetric: "opsPerSec",
    columns: [
      OPS,
      { metric: "p50", label: "p50 ms", format: "ms" },
      { metric: "p99", label: "p99 ms", format: "ms" },
      { metric: "serverUs", label: "server µs/call", format: "ms" },
    ],
    redis: true,
    maxReps: 3,
  },
  {
    id: "recovery-after-heal",
    title: "Write recovery: time to replay 1,000 invalidations after a partition heals",
    method:
      "One `Cache` (L1 + `RedisTier` with conditional writes, no breaker) reaching Redis through a TCP proxy; " +
      "the proxy partitions it, it invalidates 1,000 keys (each recorded), the proxy heals. `traffic`: one read " +
      "right after the heal starts the replay; `timer`: no call, the retry timer (500 ms after the last failed " +
      "attempt, doubling) starts it. Time from the client's reconnection (a PING answers) until " +
      "`stats().pendingWrites.pending` is 0; `replay itself`: from the first replayed write.",
    libs: ["traffic", "timer"],
    columns: [
      { metric: "recoveryMs", label: "heal → all replayed, ms", format: "ms" },
      { metric: "replayMs", label: "replay itself, ms", format: "ms" },
    ],
    redis: true,
    maxReps: 3,
  },
];
