// The stored churn model (one `trained_models` row of kind "logistic", whichever candidate it
// holds) and the arithmetic that applies it to one customer: BG/NBD and Gamma-Gamma quantities,
// the model's (calibrated) probability, and the contributions reasons are built from. Shared by
// training, backtests and scoring.
import {
  bgnbdExpectedIfAlive,
  bgnbdPAlive,
  fitBgNbdGuarded,
  type BgNbdDiagnosis,
  type BgNbdParams,
} from "./models/bgnbd";
import { fitGammaGamma, ggExpectedSpend, type GammaGammaParams } from "./models/gamma-gamma";
import { applyPlatt, type PlattCalibration } from "./models/calibration";
import type { FittedModel, ModelKind } from "./models/candidates";
import { gbtContributions, type GbtModel } from "./models/gbt";
import { contributions, type LogisticModel } from "./models/logistic";
import { seededRandom } from "./models/evaluation";
import type { AttributeFeature, CustomerFeatures } from "./features";
import { BASE_FEATURES, featureNames, writeFeatureVector, type LatentQuantities } from "./feature-vector";

export const CHURN_MODEL_VERSION = "churn-logistic-v1";

/**
 * `trained_models.params` of a churn model. BG/NBD times are in days. Models stored before the
 * tree candidate existed hold `logistic` only (no `model`): they read as logistic.
 */
export interface ChurnModelParams {
  version: typeof CHURN_MODEL_VERSION;
  /** Which candidate this is; absent = "logistic". */
  model?: ModelKind;
  logistic?: LogisticModel;
  gbt?: GbtModel;
  /** Platt scaling of the log-odds, fitted out of time; absent = none. */
  calibration?: PlattCalibration | null;
  bgnbd: BgNbdParams;
  gammaGamma: GammaGammaParams | null;
  attributeSpec: AttributeFeature[];
  horizonDays: number;
}

/** BG/NBD fits are made on at most this many customers (times rounded to days): the
 * likelihood is a sum over distinct (x, tx, T), so a sample fits in well under a second. */
export const LATENT_FIT_SAMPLE = 5_000;

function sample<T>(rows: readonly T[], max: number, seed: number): T[] {
  if (rows.length <= max) return rows.slice();
  const random = seededRandom(seed);
  const out: T[] = [];
  // Reservoir sampling keeps it one pass and reproducible.
  for (let i = 0; i < rows.length; i++) {
    if (out.length < max) out.push(rows[i]!);
    else {
      const j = Math.floor(random() * (i + 1));
      if (j < max) out[j] = rows[i]!;
    }
  }
  return out;
}

/**
 * Fits BG/NBD (guarded against a degenerate maximum likelihood fit, see `diagnosis`) and
 * Gamma-Gamma on the buyers among `rows` (a reproducible sample of them).
 */
export function fitLatentModels(
  rows: readonly CustomerFeatures[],
  seed = 1,
): { bgnbd: BgNbdParams; gammaGamma: GammaGammaParams | null; diagnosis: BgNbdDiagnosis } {
  const buyers = sample(
    rows.filter((r) => r.recencyDays !== null),
    LATENT_FIT_SAMPLE,
    seed,
  );
  if (buyers.length === 0) throw new RangeError("no customer with a purchase to fit BG/NBD on");
  const fit = fitBgNbdGuarded(
    buyers.map((r) => ({ x: r.x, tx: Math.round(r.tx), T: Math.max(Math.round(r.T), Math.round(r.tx)) })),
  );
  const bgnbd = fit.params;
  let gammaGamma: GammaGammaParams | null = null;
  try {
    const gg = fitGammaGamma(buyers.map((r) => ({ x: r.x, m: spendPerTransaction(r) })));
    if (gg.params.q > 1 && Number.isFinite(gg.params.p)) gammaGamma = gg.params;
  } catch {
    gammaGamma = null; // no repeat buyers yet: spend falls back to the customer's own mean
  }
  return { bgnbd, gammaGamma, diagnosis: fit.diagnosis };
}

/** Mean spend per purchase day (same-day purchases merged, as BG/NBD counts them). */
export function spendPerTransaction(f: CustomerFeatures): number {
  return f.recencyDays === null ? 0 : f.monetaryTotal / (f.x + 1);
}

/** P(alive) and expected purchases over `horizonDays`; customers who never bought count as new. */
export function latentQuantities(p: BgNbdParams, f: CustomerFeatures, horizonDays: number): LatentQuantities {
  const T = Math.max(f.T, f.tx);
  const pAlive = bgnbdPAlive(p, f.x, f.tx, T);
  const expected = bgnbdExpectedIfAlive(p, horizonDays, f.x, T) * pAlive;
  return { pAlive, expectedPurchases: Number.isFinite(expected) ? Math.max(0, expected) : 0 };
}

/** Expected value of the next purchase: Gamma-Gamma where fitted, else the customer's own mean. */
export function expectedSpend(gg: GammaGammaParams | null, f: CustomerFeatures): number {
  const m = spendPerTransaction(f);
  if (!gg) return m;
  const value = ggExpectedSpend(gg, f.x, m);
  return Number.isFinite(value) ? value : m;
}

/** The candidate a stored model holds. */
export function storedModel(params: ChurnModelParams): FittedModel {
  if (params.model === "blend" && params.gbt && params.logistic)
    return { kind: "blend", logistic: params.logistic, gbt: params.gbt };
  if (params.model === "gbt" && params.gbt) return { kind: "gbt", gbt: params.gbt };
  if (params.logistic) return { kind: "logistic", logistic: params.logistic };
  throw new RangeError("stored churn model holds neither a logistic nor a tree model");
}

/** The columns a stored model was trained on, in its order (models store their feature names). */
export function modelFeatureNames(params: ChurnModelParams): string[] {
  return params.gbt?.features ?? params.logistic?.features ?? featureNames(params.attributeSpec);
}

// For each stored model, where its columns sit in today's feature vector, or null when they are
// the same columns: a model trained before a column was added keeps scoring on its own columns.
const projections = new WeakMap<ChurnModelParams, Int32Array | null>();

function projectionFor(params: ChurnModelParams): Int32Array | null {
  let projection = projections.get(params);
  if (projection === undefined) {
    const current = featureNames(params.attributeSpec);
    const own = modelFeatureNames(params);
    const same = own.length === current.length && own.every((name, j) => name === current[j]);
    projection = same ? null : Int32Array.from(own, (name) => current.indexOf(name));
    projections.set(params, projection);
  }
  return projection;
}

// The customer's model row, rewritten for every customer (nothing keeps it past the call).
let fullRow = new Float64Array(0);
let projectedRow = new Float64Array(0);

/**
 * The churn probability of one customer under a stored model, with each column's contribution
 * to the log-odds (aligned with {@link modelFeatureNames}; positive = more risk).
 */
export function applyChurnModel(
  params: ChurnModelParams,
  f: CustomerFeatures,
  /** Reused for a tree model's contributions (scoring passes one buffer for every customer). */
  buffer?: Float64Array,
): { churnProbability: number; latent: LatentQuantities; contributions: ArrayLike<number> } {
  const latent = latentQuantities(params.bgnbd, f, params.horizonDays);
  const width = BASE_FEATURES.length + f.attributes.length;
  if (fullRow.length !== width) fullRow = new Float64Array(width);
  const full = writeFeatureVector(f, latent, fullRow);
  const projection = projectionFor(params);
  let row = full;
  if (projection) {
    if (projectedRow.length !== projection.length) projectedRow = new Float64Array(projection.length);
    for (let j = 0; j < projection.length; j++) projectedRow[j] = projection[j]! >= 0 ? full[projection[j]!]! : 0;
    row = projectedRow;
  }
  let parts: ArrayLike<number>;
  let z: number;
  if ((params.model === "gbt" || params.model === "blend") && params.gbt) {
    const out = buffer && buffer.length === row.length ? buffer : new Float64Array(row.length);
    z = gbtContributions(params.gbt, row, out);
    if (params.model === "blend" && params.logistic) {
      // The mean of the two log-odds: each column's part is the mean of its two parts.
      const linear = contributions(params.logistic, row);
      z = (z + params.logistic.weights[0]!) / 2;
      for (let j = 0; j < out.length; j++) out[j] = (out[j]! + linear[j]!) / 2;
    }
    parts = out;
  } else {
    parts = contributions(params.logistic!, row);
    z = params.logistic!.weights[0]!;
  }
  for (let j = 0; j < parts.length; j++) z += parts[j]!;
  // Calibration rescales the log-odds by a > 0: contributions keep their order, so reasons use them as they are.
  return { churnProbability: applyPlatt(params.calibration, z), latent, contributions: parts };
}
