import { describe, expect, it } from "vitest";
import { auc, seededRandom } from "./evaluation";
import { choosePriorScale, contributions, linearScore, PRIOR_SCALES, predictLogistic, trainLogistic } from "./logistic";

function synthetic(n: number, seed: number): { X: number[][]; y: number[] } {
  const random = seededRandom(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = gauss();
    const b = 0.9 * a + 0.3 * gauss(); // strongly correlated with a
    const c = 10 + 5 * gauss(); // far from standard scale
    const z = -2.5 + 1.5 * a - 1.0 * b + 0.2 * c;
    X.push([a, b, c]);
    y.push(random() < 1 / (1 + Math.exp(-z)) ? 1 : 0);
  }
  return { X, y };
}

describe("logistic regression (gradient ascent, whitened features)", () => {
  const { X, y } = synthetic(12_000, 3);
  const model = trainLogistic(X, y, { features: ["a", "b", "c"] });

  it("recovers the coefficients of the generating model", () => {
    const raw = model.weights.slice(1).map((w, j) => w / model.sd[j]!);
    const intercept =
      model.weights[0]! - model.weights.slice(1).reduce((s, w, j) => s + (w * model.mean[j]!) / model.sd[j]!, 0);
    expect(raw[0]).toBeCloseTo(1.5, 0);
    expect(raw[1]).toBeCloseTo(-1.0, 0);
    expect(raw[2]).toBeCloseTo(0.2, 1);
    expect(intercept).toBeCloseTo(-2.5, 0);
    expect(Math.abs(raw[0]! - 1.5)).toBeLessThan(0.2);
    expect(Math.abs(raw[1]! + 1.0)).toBeLessThan(0.2);
    expect(model.steps).toBeLessThanOrEqual(1600);
    expect(model.features).toEqual(["a", "b", "c"]);
  });

  it("scores from the JSON model alone, and contributions add up to the logit", () => {
    const restored = JSON.parse(JSON.stringify(model)) as typeof model;
    const [p] = predictLogistic(restored, [X[0]!]);
    const logit = linearScore(restored, X[0]!);
    expect(p).toBeCloseTo(1 / (1 + Math.exp(-logit)), 12);
    const sum = contributions(restored, X[0]!).reduce((s, v) => s + v, restored.weights[0]!);
    expect(sum).toBeCloseTo(logit, 12);
  });

  it("shrinks the weights under a prior, most where the data say little", () => {
    const small = { X: X.slice(0, 1500), y: y.slice(0, 1500) };
    const free = trainLogistic(small.X, small.y);
    const shrunk = trainLogistic(small.X, small.y, { priorScale: 8 });
    const norm = (w: number[]): number => Math.hypot(...w.slice(1));
    expect(norm(shrunk.weights)).toBeLessThan(norm(free.weights));
    // a and b are correlated: their opposite-signed weights are pulled together most.
    expect(Math.abs(shrunk.weights[1]! + shrunk.weights[2]!)).toBeLessThan(
      Math.abs(free.weights[1]! + free.weights[2]!) + 1e-9,
    );
    expect(shrunk.steps).toBeLessThanOrEqual(1600);
    expect(() => trainLogistic(small.X, small.y, { priorScale: -1 })).toThrow(/priorScale/);
  });

  it("keeps a constant column at weight 0 and rejects one-class labels", () => {
    const withConstant = trainLogistic(
      X.slice(0, 2000).map((r) => [...r, 7]),
      y.slice(0, 2000),
    );
    expect(withConstant.weights[4]).toBeCloseTo(0, 12);
    const withPrior = trainLogistic(
      X.slice(0, 2000).map((r) => [...r, 7]),
      y.slice(0, 2000),
      { priorScale: 8 },
    );
    expect(withPrior.weights[4]).toBeCloseTo(0, 12);
    expect(() => trainLogistic([[1], [2]], [1, 1])).toThrow(/one class/);
  });

  it("chooses the prior by inner folds of the training rows: a strong one where few rows meet many noise columns", () => {
    // One weak signal among 30 noise columns, 120 rows: without a prior the noise weights overfit.
    const random = seededRandom(11);
    const gauss = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const draw = (n: number) => {
      const rows: number[][] = [];
      const labels: number[] = [];
      for (let i = 0; i < n; i++) {
        const row = Array.from({ length: 31 }, gauss);
        rows.push(row);
        labels.push(random() < 1 / (1 + Math.exp(-row[0]!)) ? 1 : 0);
      }
      return { rows, labels };
    };
    const train = draw(120);
    const fresh = draw(5000);
    const choice = choosePriorScale(train.rows, train.labels, { seed: 3 });
    expect(choice.aucs).toHaveLength(PRIOR_SCALES.length);
    expect(choice.priorScale).toBeGreaterThan(0);
    // The chosen strength is the inner folds' best, and it ranks unseen rows better than none.
    expect(choice.aucs[PRIOR_SCALES.indexOf(choice.priorScale as (typeof PRIOR_SCALES)[number])]).toBe(
      Math.max(...choice.aucs),
    );
    const freshAuc = (priorScale: number) => {
      const model = trainLogistic(train.rows, train.labels, { priorScale });
      return auc(
        fresh.rows.map((r) => linearScore(model, r)),
        fresh.labels,
      );
    };
    expect(freshAuc(choice.priorScale)).toBeGreaterThan(freshAuc(0) + 0.01);
    // Same rows and seed, same choice; too few rows of a label for inner folds: no prior.
    expect(choosePriorScale(train.rows, train.labels, { seed: 3 })).toEqual(choice);
    const few = choosePriorScale(X.slice(0, 30), [1, 1, 1, ...new Array<number>(27).fill(0)]);
    expect(few.priorScale).toBe(0);
    expect(few.aucs.every(Number.isNaN)).toBe(true);
  });
});
