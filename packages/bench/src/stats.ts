/** Median of the finite numbers in `values`, or `NaN` when there are none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (`p` in 0..100) of the first `count` samples; sorts them in place. */
export function percentile(samples: Float64Array, count: number, p: number): number {
  if (count === 0) return Number.NaN;
  const view = samples.subarray(0, count).sort();
  const rank = Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count) - 1));
  return view[rank]!;
}

/** Latency samples in milliseconds, preallocated so recording costs no allocation. */
export class Samples {
  readonly #values: Float64Array;
  #count = 0;

  constructor(capacity: number) {
    this.#values = new Float64Array(capacity);
  }

  get count(): number {
    return this.#count;
  }

  add(ms: number): void {
    if (this.#count < this.#values.length) this.#values[this.#count++] = ms;
  }

  /** Nearest-rank percentile `p` (0..100) in milliseconds; sorts the samples. */
  percentile(p: number): number {
    return percentile(this.#values, this.#count, p);
  }

  /** p50 and p99 (and max) in milliseconds; sorts the samples. */
  summary(): { p50: number; p99: number; max: number } {
    const n = this.#count;
    return {
      p50: percentile(this.#values, n, 50),
      p99: percentile(this.#values, n, 99),
      max: n === 0 ? Number.NaN : this.#values[n - 1]!,
    };
  }
}
