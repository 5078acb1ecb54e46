// Cross-validation of the churn model candidates on a store's history as it stood at a cut-off:
// the product's own features (features.ts, the SQL `train` and `score` read) as of the cut-off,
// labelled by whether the customer bought in the horizon after it. Every fold fits BG/NBD and
// the candidates on its training customers only. `retention evaluate cdnow` runs it on the CDNOW
// file imported into a throwaway database; nothing here knows which data set it is given.
import type { Database } from "../db/client";
import { labelledCustomersAt, type LabelledCustomers } from "./backtest";
import { fitLatentModels, latentQuantities } from "./churn-model";
import type { CustomerFeatures } from "./features";
import { featureNames, featureVector } from "./feature-vector";
import type { BgNbdDiagnosis, BgNbdParams } from "./models/bgnbd";
import {
  blendOf,
  chooseModel,
  fitCandidate,
  modelLogOdds,
  MODEL_KINDS,
  trainingMsOf,
  type FittedModel,
  type ModelKind,
} from "./models/candidates";
import { auc, calibrationTable, kFoldIndices, pairedAucDifference, type CalibrationBin } from "./models/evaluation";

export interface HistoryEvaluationOptions {
  /** Features as of this moment; labels from the horizon after it. */
  cutoff: Date;
  horizonDays: number;
  folds?: number;
  /** One fold split per seed (default 1, 2, 3); the first is the one `auc` reports. */
  seeds?: number[];
}

export interface CandidateCv {
  /** Mean of the fold AUCs of the first seed's split. */
  auc: number;
  /** That mean for each seed's split, in the order of `seeds`. */
  aucSeeds: number[];
  aucMean: number;
  /** AUC of the first seed's out-of-fold predictions pooled. */
  aucPooled: number;
  /**
   * Its pooled AUC minus the chosen candidate's, on the same customers, with DeLong's standard
   * error of that difference (first seed): how far apart two candidates are, against the noise.
   */
  versusChosen: { difference: number; se: number };
  trainingMs: number;
}

export interface HistoryEvaluation {
  cutoff: string;
  horizonDays: number;
  customers: number;
  /** Share of customers without a purchase in the horizon. */
  churnRate: number;
  folds: number;
  seeds: number[];
  /** The candidate chosen on the mean over seeds (the simpler within the tolerance). */
  chosen: ModelKind;
  /** The chosen candidate's figures, as in `models`. */
  auc: number;
  aucSeeds: number[];
  aucMean: number;
  models: Record<ModelKind, CandidateCv>;
  /** Unsupervised scores on every customer: BG/NBD fitted on all of them at the cut-off (no labels). */
  baselines: { recency: { auc: number }; bgnbd: { auc: number }; palive: { auc: number } };
  /** That BG/NBD fit, in days. */
  bgnbd: BgNbdParams;
  bgnbdDiagnosis: BgNbdDiagnosis;
  /** Deciles of the chosen candidate's out-of-fold probability (first seed). */
  calibration: CalibrationBin[];
  features: string[];
}

// Every numeric field but the id, for ordering customers by what the model can see.
function contentKey(f: CustomerFeatures, label: number): number[] {
  const key: number[] = [label];
  for (const [name, value] of Object.entries(f)) {
    if (name === "customerId") continue;
    if (Array.isArray(value)) key.push(...(value as number[]));
    else key.push(typeof value === "number" ? value : Number.NaN);
  }
  return key;
}

function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let j = 0; j < a.length; j++) {
    const x = a[j]!;
    const y = b[j]!;
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    if (Number.isNaN(x)) return -1;
    if (Number.isNaN(y)) return 1;
    return x - y;
  }
  return 0;
}

/**
 * The customers in an order that depends only on what they did (their features and label), not
 * on their ids or the order they were imported in: the folds, and so the figures, stay the same
 * when a store's customers are renumbered.
 */
export function contentOrder(set: LabelledCustomers): LabelledCustomers {
  const keys = set.rows.map((r, i) => contentKey(r, set.labels[i]!));
  const order = keys.map((_, i) => i).sort((a, b) => compareKeys(keys[a]!, keys[b]!));
  return { ...set, rows: order.map((i) => set.rows[i]!), labels: order.map((i) => set.labels[i]!) };
}

const mean = (values: readonly number[]) => values.reduce((s, v) => s + v, 0) / values.length;
const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * Cross-validates every candidate on the store's customers as of `cutoff` (see the file
 * comment). Throws a RangeError when there are fewer customers than folds or a single label.
 */
export async function evaluateHistory(db: Database, options: HistoryEvaluationOptions): Promise<HistoryEvaluation> {
  const { cutoff, horizonDays } = options;
  const k = options.folds ?? 5;
  const seeds = options.seeds ?? [1, 2, 3];
  if (seeds.length === 0) throw new RangeError("evaluateHistory: at least one seed");
  const set = contentOrder(await labelledCustomersAt(db, cutoff, horizonDays, []));
  const { rows, labels } = set;
  const positives = labels.reduce((s, v) => s + v, 0);
  if (rows.length < k) throw new RangeError(`only ${rows.length} customers at ${cutoff.toISOString().slice(0, 10)}`);
  if (positives === 0 || positives === rows.length)
    throw new RangeError(`every customer has the same label (${positives} of ${rows.length} without a purchase)`);
  const features = featureNames([]);

  const perSeed = MODEL_KINDS.map(() => [] as number[]);
  const trainingMs = MODEL_KINDS.map(() => 0);
  const firstOutOfFold = MODEL_KINDS.map(() => new Array<number>(rows.length).fill(0));
  for (const seed of seeds) {
    const folds = kFoldIndices(rows.length, k, seed, labels);
    const foldAucs = MODEL_KINDS.map(() => [] as number[]);
    for (let fold = 0; fold < k; fold++) {
      const train: number[] = [];
      const test: number[] = [];
      folds.forEach((f, i) => (f === fold ? test : train).push(i));
      // No leakage: the BG/NBD behind the features sees the training customers only.
      const latent = fitLatentModels(
        train.map((i) => rows[i]!),
        seed,
      );
      const row = (i: number) => featureVector(rows[i]!, latentQuantities(latent.bgnbd, rows[i]!, horizonDays));
      const X = train.map(row);
      const y = train.map((i) => labels[i]!);
      const models = {} as Record<ModelKind, FittedModel>;
      for (const kind of MODEL_KINDS)
        models[kind] =
          kind === "blend" ? blendOf(models.logistic, models.gbt) : fitCandidate(kind, X, y, { features, seed });
      const testX = test.map(row);
      const testY = test.map((i) => labels[i]!);
      MODEL_KINDS.forEach((kind, m) => {
        if (kind !== "blend") trainingMs[m]! += trainingMsOf(models[kind]);
        const z = testX.map((r) => modelLogOdds(models[kind], r));
        foldAucs[m]!.push(auc(z, testY));
        if (seed === seeds[0]) test.forEach((i, j) => (firstOutOfFold[m]![i] = sigmoid(z[j]!)));
      });
    }
    MODEL_KINDS.forEach((_, m) => perSeed[m]!.push(mean(foldAucs[m]!)));
  }
  const chosen = chooseModel(Object.fromEntries(MODEL_KINDS.map((kind, m) => [kind, mean(perSeed[m]!)])));
  const chosenOutOfFold = firstOutOfFold[MODEL_KINDS.indexOf(chosen)]!;
  const models = {} as Record<ModelKind, CandidateCv>;
  MODEL_KINDS.forEach((kind, m) => {
    models[kind] = {
      auc: perSeed[m]![0]!,
      aucSeeds: perSeed[m]!,
      aucMean: mean(perSeed[m]!),
      aucPooled: auc(firstOutOfFold[m]!, labels),
      versusChosen: pairedAucDifference(firstOutOfFold[m]!, chosenOutOfFold, labels),
      trainingMs: Math.round(kind === "blend" ? trainingMs[0]! + trainingMs[1]! : trainingMs[m]!),
    };
  });

  const all = fitLatentModels(rows, seeds[0]);
  const latentAll = rows.map((r) => latentQuantities(all.bgnbd, r, horizonDays));
  return {
    cutoff: cutoff.toISOString().slice(0, 10),
    horizonDays,
    customers: rows.length,
    churnRate: positives / rows.length,
    folds: k,
    seeds,
    chosen,
    auc: models[chosen].auc,
    aucSeeds: models[chosen].aucSeeds,
    aucMean: models[chosen].aucMean,
    models,
    baselines: {
      recency: {
        auc: auc(
          rows.map((r) => r.recencyDays ?? r.tenureDays),
          labels,
        ),
      },
      bgnbd: {
        auc: auc(
          latentAll.map((q) => -q.expectedPurchases),
          labels,
        ),
      },
      palive: {
        auc: auc(
          latentAll.map((q) => 1 - q.pAlive),
          labels,
        ),
      },
    },
    bgnbd: all.bgnbd,
    bgnbdDiagnosis: all.diagnosis,
    calibration: calibrationTable(firstOutOfFold[MODEL_KINDS.indexOf(chosen)]!, labels, 10),
    features,
  };
}
