// The one seeded PRNG of the workspace (mulberry32), so every process reads the same key sequence.
import { seededRandom } from "@cachet/test-utils";

export { seededRandom };

/**
 * Precomputes `length` key indexes in `[0, n)` drawn from a Zipf distribution with exponent `s`
 * (rank 0 most popular), by inverse CDF over the cumulative weights. Ranks are scattered over the
 * index space with a fixed permutation, so popular keys are not all inserted first.
 */
export function zipfSequence(n: number, length: number, s: number, seed: number): Uint32Array {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let rank = 0; rank < n; rank++) {
    total += 1 / Math.pow(rank + 1, s);
    cumulative[rank] = total;
  }
  const random = seededRandom(seed);
  const permutation = new Uint32Array(n);
  for (let i = 0; i < n; i++) permutation[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = permutation[i]!;
    permutation[i] = permutation[j]!;
    permutation[j] = t;
  }
  const out = new Uint32Array(length);
  for (let i = 0; i < length; i++) {
    const target = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    out[i] = permutation[lo]!;
  }
  return out;
}

/** Precomputes `length` key indexes drawn uniformly from `[0, n)`. */
export function uniformSequence(n: number, length: number, seed: number): Uint32Array {
  const random = seededRandom(seed);
  const out = new Uint32Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * n);
  return out;
}
