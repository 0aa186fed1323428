/** Messages between the chaos driver (parent) and its worker processes, over the fork IPC channel. */

/** What every value written or loaded during a run carries, so invariants can be checked. */
export interface ChaosValue {
  /** Writer: `w<worker>` for inserts, `l<worker>` for loader results. */
  readonly w: string;
  /** Per-writer sequence number. */
  readonly seq: number;
  /** Wall-clock time (epoch ms) taken just before the write or at the end of the load. */
  readonly at: number;
  /** The ttl the value was written with, in ms. */
  readonly ttl: number;
}

/** The policy every worker's cache is built with; the bounds of the invariants derive from it. */
export interface ChaosPolicy {
  ttl: number;
  staleWhileRevalidate: number;
  maxStaleAge: number;
  failSafeBackoff: number;
  softTimeout: number;
  hardTimeout: number;
  tierTimeout: number;
  commandTimeout: number;
  /** RedisBus `sendTimeout`: how long `insert`/`invalidate` wait for their publish. */
  sendTimeout: number;
  breakerThreshold: number;
  breakerCooldown: number;
  l1MaxEntries: number;
}

/** Start-up arguments of one worker (JSON in argv[2]). */
export interface WorkerConfig {
  id: number;
  host: string;
  port: number;
  transport: "pubsub" | "stream";
  operations: number;
  concurrency: number;
  /** Mean pause between two operations of one loop, in ms (spreads the run over the faults). */
  pauseMs: number;
  keys: number;
  tags: number;
  seed: number;
  policy: ChaosPolicy;
  /** Allowed extra wait over a configured bound (scheduling noise of a shared machine), in ms. */
  marginMs: number;
}

/** Parent → worker. */
export type DriverMessage =
  | { type: "start" }
  | { type: "loader-storm"; failRate: number; slowRate: number; durationMs: number }
  | { type: "probe-write"; probe: number; key: string }
  /** `since`: wall-clock instant (ms, sub-ms precision) the writer's insert started. */
  | { type: "probe-arm"; probe: number; key: string; since: number }
  | { type: "probe-read"; probe: number; key: string }
  /** A fleet probe's write: `value` is `undefined` for an invalidation. */
  | { type: "fleet-write"; probe: number; key: string; value: ChaosValue | undefined }
  | { type: "fleet-read"; probe: number; key: string }
  /** Starts a load of `key` whose loader returns `value` once released (a resurrection probe). */
  | { type: "gated-load"; probe: number; key: string; value: ChaosValue }
  | { type: "gated-release"; probe: number }
  | { type: "finish" };

/** One broken invariant, as the worker saw it. */
export interface Violation {
  readonly invariant:
    | "timeout"
    | "stale-age"
    | "read-after-write"
    | "unexpected-error"
    | "crash"
    | "report"
    | "lost-update"
    | "resurrection";
  readonly detail: string;
}

/** Worker → parent. */
export type WorkerMessage =
  | { type: "ready" }
  | { type: "ops-done" }
  | {
      type: "probe-written";
      probe: number;
      value: ChaosValue | undefined;
      startedAt: number;
      reason?: string;
    }
  | { type: "probe-delivered"; probe: number; how: "message" | "reconnect" | "none" }
  | {
      type: "probe-result";
      probe: number;
      outcome: "fresh" | "stale" | "miss" | "error";
      value: ChaosValue | undefined;
      latencyMs: number;
      /** Epoch ms when the read started. */
      readAt: number;
      error?: string;
      /** For a miss: what a direct read of L2 found just after (`l2-hit`, `l2-miss`, `l2-<code>`). */
      l2?: string;
    }
  | { type: "fleet-written"; probe: number; ok: boolean }
  | { type: "fleet-value"; probe: number; value: ChaosValue | undefined; ok: boolean }
  /** The gated loader runs (`ok`), or the load ended before it did. */
  | { type: "gated-running"; probe: number; ok: boolean }
  | { type: "gated-done"; probe: number; value: ChaosValue | undefined }
  | { type: "report"; report: WorkerReport };

/** What a worker measured, sent once its operations are done and its cache is closed. */
export interface WorkerReport {
  id: number;
  operations: number;
  byKind: Record<string, number>;
  errorsByCode: Record<string, number>;
  latencies: number[];
  maxLatencyByKind: Record<string, number>;
  staleServed: number;
  failSafeServed: number;
  tierErrors: number;
  busReconnects: number;
  busReceived: number;
  corruptEntries: number;
  /** Values served without the stale flag although older than their ttl (fail-safe backoff). */
  freshPastTtl: number;
  violations: Violation[];
  closeMs: number;
}
