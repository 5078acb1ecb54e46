// k-fold cross-validation of the churn model candidates: the protocol `retention evaluate labeled`
// reports (`evaluate cdnow` runs the same folds over the store's own features, evaluate-history.ts).
import { fitCandidate, predictModel, trainingMsOf, type CandidateOptions, type ModelKind } from "./candidates";
import { auc, kFoldIndices } from "./evaluation";

export interface CrossValidation {
  /** Mean of the fold AUCs (scikit-learn's `cross_val_score` convention). */
  auc: number;
  /** AUC of all out-of-fold predictions pooled. */
  aucPooled: number;
  aucFolds: number[];
  /** Each customer's prediction from the model that did not see them. */
  outOfFold: number[];
  trainingMs: number;
}

/**
 * The rows of one fold: `rowsFor(train)` is called once per fold with the training indices and
 * returns the encoder for every customer, so anything fitted on data (encoders, BG/NBD) is
 * fitted on the training folds only.
 */
export type FoldRows = (train: readonly number[]) => { features: string[]; row: (i: number) => number[] };

/**
 * Trains one candidate on k-1 folds and predicts the held-out fold, k times, over seeded
 * stratified folds.
 */
export function crossValidate(options: {
  kind: ModelKind;
  labels: readonly number[];
  folds: number;
  seed: number;
  training?: CandidateOptions;
  rowsFor: FoldRows;
}): CrossValidation {
  const { labels, folds: k } = options;
  const folds = kFoldIndices(labels.length, k, options.seed, labels);
  const outOfFold = new Array<number>(labels.length).fill(0);
  const aucFolds: number[] = [];
  let trainingMs = 0;
  for (let fold = 0; fold < k; fold++) {
    const train: number[] = [];
    const test: number[] = [];
    folds.forEach((f, i) => (f === fold ? test : train).push(i));
    const { features, row } = options.rowsFor(train);
    const model = fitCandidate(
      options.kind,
      train.map(row),
      train.map((i) => labels[i]!),
      { seed: options.seed, ...options.training, features },
    );
    trainingMs += trainingMsOf(model);
    const probs = predictModel(model, test.map(row));
    test.forEach((i, j) => (outOfFold[i] = probs[j]!));
    aucFolds.push(
      auc(
        probs,
        test.map((i) => labels[i]!),
      ),
    );
  }
  return {
    auc: aucFolds.reduce((s, v) => s + v, 0) / aucFolds.length,
    aucPooled: auc(outOfFold, labels),
    aucFolds,
    outOfFold,
    trainingMs,
  };
}
