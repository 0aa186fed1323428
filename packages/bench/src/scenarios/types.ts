/** Numbers a measurement reports, by metric name. */
export type Metrics = Record<string, number>;

/** Settings shared by every measurement of one run. */
export interface RunSettings {
  /** Short durations and smaller workloads: a smoke run, not figures to quote. */
  readonly quick: boolean;
}

/** How a metric is printed. */
export type MetricFormat = "ops" | "ms" | "count" | "percent" | "bytes" | "ratio";

/** One column of a scenario's table. */
export interface Column {
  readonly metric: string;
  readonly label: string;
  readonly format: MetricFormat;
}

/**
 * A scenario as the orchestrator sees it: which libraries to run (each in its own process), which
 * one is the baseline, and what to print. The measurement itself lives in `src/scenarios/`.
 */
export interface ScenarioDef {
  readonly id: string;
  readonly title: string;
  /** How it is measured, printed under the table. */
  readonly method: string;
  /** The target from the issues, printed with the table. */
  readonly target?: string;
  readonly libs: readonly string[];
  /** Library every other is divided by, in the same repetition. */
  readonly baseline?: string;
  /** A second baseline with its own ratio column. */
  readonly baseline2?: string;
  /** Metric the ratios are taken on. */
  readonly ratioMetric?: string;
  readonly columns: readonly Column[];
  /** Runs in fewer repetitions than the rest (slow scenarios). */
  readonly maxReps?: number;
  /** Needs `redis-server` (started by the measurement itself). */
  readonly redis?: boolean;
  /**
   * Per library, the library that does the same work with nothing on top (its floor): printed as
   * its own ratio column, taken within each repetition like the baseline's.
   */
  readonly floors?: Readonly<Record<string, string>>;
}

/**
 * A scenario file registered in `registry.ts`: its definitions (what the orchestrator runs and
 * prints) and the measurement, run in a fresh process per library.
 */
export interface ScenarioModule {
  readonly defs: readonly ScenarioDef[];
  measure(scenario: string, lib: string, settings: RunSettings): Promise<Metrics>;
}
