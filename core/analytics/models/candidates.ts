// The churn model candidates the product chooses between (logistic regression, gradient-boosted
// trees, and their blend: the mean of the two log-odds), behind one small interface: fit,
// log-odds, contributions. Choosing prefers the simpler model unless another is better by more
// than a tolerance. The blend helps where the data's signal is partly smooth (which the linear
// model extrapolates) and partly interactions (which the trees find).
import { gbtContributions, gbtScore, trainGbt, type GbtModel, type GbtOptions } from "./gbt";
import { contributions, linearScore, trainLogistic, type LogisticModel, type LogisticOptions } from "./logistic";

/** Candidate names, simplest first (ties go to the earlier one). */
export const MODEL_KINDS = ["logistic", "gbt", "blend"] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export type FittedModel =
  | { kind: "logistic"; logistic: LogisticModel }
  | { kind: "gbt"; gbt: GbtModel }
  | { kind: "blend"; logistic: LogisticModel; gbt: GbtModel };

export interface CandidateOptions {
  features?: string[];
  seed?: number;
  logistic?: LogisticOptions;
  gbt?: GbtOptions;
}

/** An AUC this much higher is needed to prefer a more complex candidate. */
export const CHOICE_TOLERANCE = 0.002;

/** Fits one candidate on rows × features `X` and 0/1 labels `y` (throws as its trainer does). */
export function fitCandidate(
  kind: ModelKind,
  X: readonly (readonly number[])[],
  y: readonly number[],
  options: CandidateOptions = {},
): FittedModel {
  const features = options.features ? { features: options.features } : {};
  switch (kind) {
    case "logistic":
      return { kind, logistic: trainLogistic(X, y, { ...options.logistic, ...features }) };
    case "gbt":
      return { kind, gbt: trainGbt(X, y, { seed: options.seed ?? 1, ...options.gbt, ...features }) };
    case "blend": {
      const { logistic } = fitCandidate("logistic", X, y, options) as { logistic: LogisticModel };
      const { gbt } = fitCandidate("gbt", X, y, options) as { gbt: GbtModel };
      return { kind, logistic, gbt };
    }
  }
}

/** The blend of two fitted candidates (no training: `fitCandidates` fits each once). */
export function blendOf(logistic: FittedModel, gbt: FittedModel): FittedModel {
  if (logistic.kind !== "logistic" || gbt.kind !== "gbt") throw new RangeError("blendOf: a logistic and a tree model");
  return { kind: "blend", logistic: logistic.logistic, gbt: gbt.gbt };
}

/** The fitted model's log-odds for one row. */
export function modelLogOdds(model: FittedModel, row: ArrayLike<number>): number {
  switch (model.kind) {
    case "logistic":
      return linearScore(model.logistic, Array.from(row));
    case "gbt":
      return gbtScore(model.gbt, row);
    case "blend":
      return (linearScore(model.logistic, Array.from(row)) + gbtScore(model.gbt, row)) / 2;
  }
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** P(y = 1) for each row. */
export function predictModel(model: FittedModel, X: readonly ArrayLike<number>[]): number[] {
  return X.map((row) => sigmoid(modelLogOdds(model, row)));
}

/** Per-feature contributions to the log-odds (positive = more risk) for one row. */
export function modelContributions(model: FittedModel, row: readonly number[]): number[] {
  if (model.kind === "logistic") return contributions(model.logistic, row);
  const out = new Array<number>(row.length).fill(0);
  gbtContributions(model.gbt, row, out);
  if (model.kind === "gbt") return out;
  const linear = contributions(model.logistic, row);
  return out.map((v, j) => (v + linear[j]!) / 2);
}

/** Wall time the trainer reported. */
export function trainingMsOf(model: FittedModel): number {
  switch (model.kind) {
    case "logistic":
      return model.logistic.trainingMs;
    case "gbt":
      return model.gbt.trainingMs;
    case "blend":
      return model.logistic.trainingMs + model.gbt.trainingMs;
  }
}

/**
 * The candidate to use given each one's AUC: the best, unless a simpler one is within
 * `tolerance` of it. Candidates without a figure are not considered.
 */
export function chooseModel(aucs: Partial<Record<ModelKind, number>>, tolerance = CHOICE_TOLERANCE): ModelKind {
  const scored = MODEL_KINDS.filter((k) => Number.isFinite(aucs[k]));
  if (scored.length === 0) throw new RangeError("chooseModel: no candidate has an AUC");
  const best = Math.max(...scored.map((k) => aucs[k]!));
  return scored.find((k) => aucs[k]! >= best - tolerance)!;
}
