import { describe, expect, it } from "vitest";
import { seededRandom } from "./evaluation";
import { contributions, linearScore, predictLogistic, trainLogistic } from "./logistic";

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
});
