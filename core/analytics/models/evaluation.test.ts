import { describe, expect, it } from "vitest";
import { auc, calibrationTable, kFoldIndices, logLoss, pairedAucDifference, seededRandom } from "./evaluation";

describe("auc", () => {
  it("is 1 for a perfect ranking, 0 for a reversed one", () => {
    expect(auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
  });
  it("counts ties as one half (hand-computed)", () => {
    // Pairs (pos, neg): (0.5 vs 0.5) = 0.5, (0.5 vs 0.2) = 1, (0.9 vs 0.5) = 1, (0.9 vs 0.2) = 1 -> 3.5 / 4.
    expect(auc([0.5, 0.9, 0.5, 0.2], [1, 1, 0, 0])).toBeCloseTo(0.875, 12);
    expect(auc([1, 1, 1, 1], [1, 0, 1, 0])).toBe(0.5);
    // One of three positives beaten by one of two negatives, one tie: (6 − 1 − 0.5) / 6.
    expect(auc([3, 2, 1, 2, 0], [1, 1, 1, 0, 0])).toBeCloseTo(4.5 / 6, 12);
  });
  it("needs both classes", () => {
    expect(() => auc([1, 2], [1, 1])).toThrow();
  });
});

describe("kFoldIndices", () => {
  it("is reproducible, balanced and stratified", () => {
    const labels = Array.from({ length: 103 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const folds = kFoldIndices(103, 5, 42, labels);
    expect(kFoldIndices(103, 5, 42, labels)).toEqual(folds);
    expect(kFoldIndices(103, 5, 43, labels)).not.toEqual(folds);
    for (let f = 0; f < 5; f++) {
      const members = folds.map((v, i) => [v, i] as const).filter(([v]) => v === f);
      expect(members.length).toBeGreaterThanOrEqual(20);
      expect(members.length).toBeLessThanOrEqual(21);
      const positives = members.filter(([, i]) => labels[i] === 1).length;
      expect(positives).toBeGreaterThanOrEqual(5);
      expect(positives).toBeLessThanOrEqual(6);
    }
  });
});

describe("calibrationTable and logLoss", () => {
  it("bins by predicted probability", () => {
    const probs = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9];
    const labels = [0, 0, 1, 0, 1, 1, 0, 1];
    const table = calibrationTable(probs, labels, 2);
    expect(table.map((b) => [b.bin, b.count, b.observedRate])).toEqual([
      [1, 4, 0.25],
      [2, 4, 0.75],
    ]);
    expect(table[0]!.meanPredicted).toBeCloseTo(0.25, 12);
    expect(table[1]!.meanPredicted).toBeCloseTo(0.75, 12);
  });
  it("log-loss of 0.5 everywhere is ln 2", () => {
    expect(logLoss([0.5, 0.5], [0, 1])).toBeCloseTo(Math.LN2, 12);
    expect(logLoss([0.9], [1])).toBeCloseTo(-Math.log(0.9), 12);
  });
});

describe("pairedAucDifference", () => {
  // DeLong's variance written out pair by pair (O(positives × negatives)), to check the midrank version.
  function bruteForce(a: number[], b: number[], labels: number[]) {
    const pos = labels.flatMap((l, i) => (l === 1 ? [i] : []));
    const neg = labels.flatMap((l, i) => (l === 0 ? [i] : []));
    const psi = (x: number, y: number) => (x > y ? 1 : x === y ? 0.5 : 0);
    const v10 = (s: number[]) => pos.map((i) => neg.reduce((t, j) => t + psi(s[i]!, s[j]!), 0) / neg.length);
    const v01 = (s: number[]) => neg.map((j) => pos.reduce((t, i) => t + psi(s[i]!, s[j]!), 0) / pos.length);
    const cov = (x: number[], y: number[]) => {
      const mx = x.reduce((t, v) => t + v, 0) / x.length;
      const my = y.reduce((t, v) => t + v, 0) / y.length;
      return x.reduce((t, v, i) => t + (v - mx) * (y[i]! - my), 0) / (x.length - 1);
    };
    const [a10, b10, a01, b01] = [v10(a), v10(b), v01(a), v01(b)];
    const variance =
      (cov(a10, a10) + cov(b10, b10) - 2 * cov(a10, b10)) / pos.length +
      (cov(a01, a01) + cov(b01, b01) - 2 * cov(a01, b01)) / neg.length;
    return Math.sqrt(variance);
  }

  it("gives AUC(a) − AUC(b) and DeLong's standard error, ties included", () => {
    const random = seededRandom(4);
    const labels = Array.from({ length: 300 }, () => (random() < 0.4 ? 1 : 0));
    // Scores rounded to a few levels so that ties are common.
    const a = labels.map((l) => Math.round(4 * (l + random() * 1.5)) / 4);
    const b = labels.map((l, i) => Math.round(4 * (0.5 * a[i]! + l * 0.3 + random())) / 4);
    const { difference, se } = pairedAucDifference(a, b, labels);
    expect(difference).toBeCloseTo(auc(a, labels) - auc(b, labels), 12);
    expect(se).toBeGreaterThan(0);
    expect(se).toBeCloseTo(bruteForce(a, b, labels), 12);
  });

  it("is zero with no error for two scores that rank alike, and needs both classes", () => {
    const labels = [1, 0, 1, 0, 0, 1];
    const a = [0.9, 0.1, 0.4, 0.5, 0.2, 0.7];
    expect(
      pairedAucDifference(
        a,
        a.map((v) => 3 * v + 1),
        labels,
      ),
    ).toEqual({ difference: 0, se: 0 });
    expect(() => pairedAucDifference([1, 2], [2, 1], [1, 1])).toThrow();
  });
});
