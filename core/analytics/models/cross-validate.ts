// k-fold cross-validation of the logistic churn model: the protocol both evaluation commands
// report (`retention evaluate cdnow` and `retention evaluate labeled`).
import { auc, kFoldIndices } from "./evaluation";
import { predictLogistic, trainLogistic, type LogisticOptions } from "./logistic";

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
 * Trains on k-1 folds and predicts the held-out fold, k times, over seeded stratified folds.
 * `rowsFor(train)` returns the feature row of customer i for a model trained on `train`, so
 * features fitted on data (BG/NBD, say) can be fitted on the training folds only.
 */
export function crossValidateLogistic(options: {
  labels: readonly number[];
  features: string[];
  folds: number;
  seed: number;
  /** Training options of every fold's model (the feature names are added). */
  training?: LogisticOptions;
  rowsFor: (train: readonly number[]) => (i: number) => number[];
}): CrossValidation {
  const { labels, features, folds: k } = options;
  const folds = kFoldIndices(labels.length, k, options.seed, labels);
  const outOfFold = new Array<number>(labels.length).fill(0);
  const aucFolds: number[] = [];
  let trainingMs = 0;
  for (let fold = 0; fold < k; fold++) {
    const train: number[] = [];
    const test: number[] = [];
    folds.forEach((f, i) => (f === fold ? test : train).push(i));
    const row = options.rowsFor(train);
    const model = trainLogistic(
      train.map(row),
      train.map((i) => labels[i]!),
      { ...options.training, features },
    );
    trainingMs += model.trainingMs;
    const probs = predictLogistic(model, test.map(row));
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
