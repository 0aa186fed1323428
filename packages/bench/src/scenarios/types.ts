/** Numbers a measurement reports, by metric name. */
export type Metrics = Record<string, number>;

/** Settings shared by every measurement of one run. */
export interface RunSettings {
  /** Short durations and smaller workloads: a smoke run, not figures to quote. */
  readonly quick: boolean;
}
