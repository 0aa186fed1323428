import { seededRandom, uniformSequence, zipfSequence } from "../src/random.js";

describe("zipfSequence", () => {
  it("is the same sequence for the same seed, and another for another seed", () => {
    const a = zipfSequence(1_000, 5_000, 1.0, 42);
    const b = zipfSequence(1_000, 5_000, 1.0, 42);
    const c = zipfSequence(1_000, 5_000, 1.0, 43);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it("stays in range and is skewed: the most popular key takes about 1/H(n) of the draws", () => {
    const n = 1_000;
    const draws = 200_000;
    const sequence = zipfSequence(n, draws, 1.0, 7);
    const counts = new Map<number, number>();
    for (const k of sequence) counts.set(k, (counts.get(k) ?? 0) + 1);
    expect(Math.max(...counts.keys())).toBeLessThan(n);
    let harmonic = 0;
    for (let r = 1; r <= n; r++) harmonic += 1 / r;
    const top = Math.max(...counts.values());
    expect(top / draws).toBeGreaterThan(0.9 / harmonic);
    expect(top / draws).toBeLessThan(1.1 / harmonic);
    // Zipf(1) over 1,000 keys: the top 10 keys take about 39% of the draws, far from uniform's 1%.
    const top10 = [...counts.values()]
      .sort((x, y) => y - x)
      .slice(0, 10)
      .reduce((s, c) => s + c, 0);
    expect(top10 / draws).toBeGreaterThan(0.35);
    expect(top10 / draws).toBeLessThan(0.43);
  });
});

describe("uniformSequence and seededRandom", () => {
  it("draws every index of a small range, and only those", () => {
    const seen = new Set(uniformSequence(16, 2_000, 1));
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i));
  });

  it("returns numbers in [0, 1)", () => {
    const random = seededRandom(5);
    const draws = Array.from({ length: 10_000 }, () => random());
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
  });
});
