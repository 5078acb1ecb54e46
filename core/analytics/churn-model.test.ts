import { describe, expect, it } from "vitest";
import { applyChurnModel, CHURN_MODEL_VERSION, latentQuantities, type ChurnModelParams } from "./churn-model";
import type { CustomerFeatures } from "./features";
import { featureNames, featureVector } from "./feature-vector";
import type { LogisticModel } from "./models/logistic";

const customer = (overrides: Partial<CustomerFeatures> = {}): CustomerFeatures => ({
  customerId: 1,
  recencyDays: 40,
  frequency: 3,
  purchaseCount: 5,
  tenureDays: 300,
  monetaryMean: 30,
  monetaryTotal: 150,
  itemCount: 12,
  meanGapDays: 60,
  overdueRatio: 40 / 60,
  spendLast90: 30,
  spendPrev90: 60,
  spendTrend: -1 / 3,
  marginShare: null,
  npsLatest: null,
  csatLatest: null,
  complaints90: 0,
  complaintsTotal: 0,
  offersReceived: 0,
  offersDeclined: 0,
  x: 3,
  tx: 260,
  T: 300,
  attributes: [],
  ...overrides,
});

const bgnbd = { r: 0.5, alpha: 20, a: 0.8, b: 2.5 };

/** A logistic model on `names` with weight j + 1 (scaled) on column j and made-up means and sds. */
function logisticOn(names: string[]): LogisticModel {
  return {
    features: names,
    mean: names.map((_, j) => 0.1 * j),
    sd: names.map((_, j) => 1 + 0.05 * j),
    weights: [-0.3, ...names.map((_, j) => 0.01 * (j + 1) * (j % 2 === 0 ? 1 : -1))],
    steps: 50,
    trainingMs: 0,
    finalLoss: 0.5,
  };
}

const paramsWith = (logistic: LogisticModel): ChurnModelParams => ({
  version: CHURN_MODEL_VERSION,
  model: "logistic",
  logistic,
  calibration: null,
  bgnbd,
  gammaGamma: null,
  attributeSpec: [],
  horizonDays: 90,
});

describe("a stored churn model keeps scoring on its own columns", () => {
  it("scores a model trained with a column the product no longer computes (log_items_per_order) as that column at 0", () => {
    const current = featureNames([]);
    expect(current).not.toContain("log_items_per_order");
    // Stored before the column left: it sat after log_monetary_total.
    const at = current.indexOf("log_monetary_total") + 1;
    const stored = [...current.slice(0, at), "log_items_per_order", ...current.slice(at)];
    const model = logisticOn(stored);
    const f = customer();
    const { contributions, churnProbability } = applyChurnModel(paramsWith(model), f);

    // The model's own row: today's values under the names it knows, 0 for the one it cannot get.
    const today = featureVector(f, latentQuantities(bgnbd, f, 90));
    const own = stored.map((name) => (name === "log_items_per_order" ? 0 : today[current.indexOf(name)]!));
    const expected = own.map((v, j) => model.weights[j + 1]! * ((v - model.mean[j]!) / model.sd[j]!));
    expect(contributions).toHaveLength(stored.length);
    for (let j = 0; j < stored.length; j++) expect(contributions[j]).toBeCloseTo(expected[j]!, 12);
    const z = model.weights[0]! + expected.reduce((s, v) => s + v, 0);
    expect(churnProbability).toBeCloseTo(1 / (1 + Math.exp(-z)), 12);
  });

  it("scores a model trained on today's columns on today's row", () => {
    const current = featureNames([]);
    const model = logisticOn(current);
    const f = customer({ recencyDays: 200, spendLast90: 0, spendTrend: -1 });
    const { contributions } = applyChurnModel(paramsWith(model), f);
    const today = featureVector(f, latentQuantities(bgnbd, f, 90));
    today.forEach((v, j) =>
      expect(contributions[j]).toBeCloseTo(model.weights[j + 1]! * ((v - model.mean[j]!) / model.sd[j]!), 12),
    );
  });
});
