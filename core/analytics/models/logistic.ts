// Logistic regression by plain batch gradient ascent from zero weights (the iteration
// ml-logistic-regression runs: w += lr · Xᵀ(y − σ(Xw))), made to converge fast: we standardise
// the features, decorrelate them (Cholesky whitening, so gradient descent is not slowed by
// correlated features), add an intercept column, scale the step to the data size, and lengthen
// the run (checkpoints at 25, 50, 100, ... steps) until the log-loss stops improving. The run
// continues from the previous checkpoint instead of starting again, on typed arrays: the same
// weights at every checkpoint as restarting the library from zero, at a fraction of the work.
// Scoring is plain TypeScript on the stored JSON model.

/** A trained model, plain JSON: weights apply to standardised features, intercept first. */
export interface LogisticModel {
  features?: string[];
  mean: number[];
  sd: number[];
  weights: number[];
  /** Gradient steps of the final run. */
  steps: number;
  /** Wall time of the whole training, all runs included. */
  trainingMs: number;
  /** Mean log-loss on the training data (prior rows included). */
  finalLoss: number;
}

export interface LogisticOptions {
  features?: string[];
  /** Steps of the first run; each further run doubles it. Default 25. */
  initialSteps?: number;
  /** Upper bound on the steps of one run. Default 1,600. */
  maxSteps?: number;
  /** Stop when a run improves the mean log-loss by less than this. Default 1e-5. */
  tolerance?: number;
  /** Step = learningRateScale / rows (features are whitened, so 4 is safe). Default 4. */
  learningRateScale?: number;
  /**
   * A prior that shrinks the weights, as pseudo-data the trainer fits like real rows: for each
   * feature one row at standardised value `priorScale` (other features 0, no intercept) with
   * target ½. Its loss log 2 + log cosh(priorScale·w/2) is a ridge penalty priorScale²·w²/8
   * for small weights and an L1 penalty priorScale·|w|/2 for large ones. Default 0 (no prior).
   */
  priorScale?: number;
}

/**
 * Trains P(y = 1 | x). `X` is rows × features, `y` holds 0/1. Throws on empty or ragged input,
 * on non-finite values, or when `y` has one class only.
 */
export function trainLogistic(
  X: readonly (readonly number[])[],
  y: readonly number[],
  options: LogisticOptions = {},
): LogisticModel {
  const started = performance.now();
  const n = X.length;
  const p = X[0]?.length ?? 0;
  if (n === 0 || n !== y.length) throw new RangeError("trainLogistic: X and y must be non-empty and the same length");
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const row = X[i]!;
    if (row.length !== p) throw new RangeError(`trainLogistic: row ${i} has ${row.length} values, expected ${p}`);
    for (const v of row)
      if (!Number.isFinite(v)) throw new RangeError(`trainLogistic: row ${i} has a non-finite value`);
    if (y[i] !== 0 && y[i] !== 1) throw new RangeError(`trainLogistic: label ${i} is not 0 or 1`);
    positives += y[i]!;
  }
  if (positives === 0 || positives === n) throw new RangeError("trainLogistic: the labels have one class only");

  const { mean, sd } = standardisation(X);
  const standardised = X.map((row) => row.map((v, j) => (v - mean[j]!) / sd[j]!));
  const prior = options.priorScale ?? 0;
  if (!(prior >= 0)) throw new RangeError("trainLogistic: priorScale must be >= 0");
  // The prior rows add at most prior²/4 · Σ_j e_j e_jᵀ to the Hessian: whitening with
  // C + (prior²/n)·I keeps gradient descent as well conditioned as without them.
  const chol = cholesky(covariance(standardised), Math.max(1e-8, (prior * prior) / n));
  const whitened = standardised.map((row) => forwardSolve(chol, row));
  const targets = y.slice();
  const rows = whitened.map((row) => [1, ...row]);
  if (prior > 0) {
    for (let j = 0; j < p; j++) {
      const unit = new Array<number>(p).fill(0);
      unit[j] = prior;
      rows.push([0, ...forwardSolve(chol, unit)]);
      targets.push(0.5);
    }
  }
  const m = rows.length;
  const cols = p + 1;
  const design = new Float64Array(m * cols);
  rows.forEach((row, i) => design.set(row, i * cols));
  const target = Float64Array.from(targets);

  const learningRate = (options.learningRateScale ?? 4) / n;
  const maxSteps = options.maxSteps ?? 1600;
  const tolerance = options.tolerance ?? 1e-5;
  let checkpoint = Math.min(options.initialSteps ?? 25, maxSteps);
  let best = { weights: new Array<number>(p + 1).fill(0), loss: Math.LN2, steps: 0 };
  const w = new Float64Array(cols);
  const error = new Float64Array(m);
  const gradient = new Float64Array(cols);
  let done = 0;
  for (;;) {
    for (; done < checkpoint; done++) {
      for (let i = 0; i < m; i++) {
        let z = 0;
        for (let j = 0, at = i * cols; j < cols; j++, at++) z += design[at]! * w[j]!;
        error[i] = target[i]! - 1 / (1 + Math.exp(-z));
      }
      gradient.fill(0);
      for (let i = 0; i < m; i++) {
        const e = error[i]!;
        for (let j = 0, at = i * cols; j < cols; j++, at++) gradient[j]! += design[at]! * e;
      }
      for (let j = 0; j < cols; j++) w[j]! += gradient[j]! * learningRate;
    }
    const weightsNow = Array.from(w);
    const loss = meanLogLoss(rows, targets, weightsNow);
    const improvement = best.loss - loss;
    if (loss < best.loss) best = { weights: weightsNow, loss, steps: checkpoint };
    if (improvement < tolerance || checkpoint >= maxSteps) break;
    checkpoint = Math.min(checkpoint * 2, maxSteps);
  }
  // Back from whitened to standardised coordinates: w_s = L^-T w_z (the intercept is unchanged).
  const weights = [best.weights[0]!, ...backSolveTransposed(chol, best.weights.slice(1))];
  return {
    ...(options.features ? { features: options.features.slice() } : {}),
    mean,
    sd,
    weights,
    steps: best.steps,
    trainingMs: Math.round(performance.now() - started),
    finalLoss: best.loss,
  };
}

/** P(y = 1) for each row, computed from the JSON model alone. */
export function predictLogistic(model: LogisticModel, X: readonly (readonly number[])[]): number[] {
  return X.map((row) => sigmoid(linearScore(model, row)));
}

/** The model's logit for one row. */
export function linearScore(model: LogisticModel, row: readonly number[]): number {
  let z = model.weights[0]!;
  for (let j = 0; j < model.mean.length; j++)
    z += model.weights[j + 1]! * (((row[j] ?? 0) - model.mean[j]!) / model.sd[j]!);
  return z;
}

/** Per-feature contribution to the logit: weight × standardised value (positive = more risk). */
export function contributions(model: LogisticModel, xRow: ArrayLike<number>): number[] {
  return model.mean.map((m, j) => model.weights[j + 1]! * (((xRow[j] ?? 0) - m) / model.sd[j]!));
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Mean cross-entropy; each row holds the intercept column first. Targets may be fractional. */
function meanLogLoss(rows: readonly number[][], y: readonly number[], w: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    let z = 0;
    for (let j = 0; j < row.length; j++) z += w[j]! * row[j]!;
    // y·log(1 + e^-z) + (1 − y)·log(1 + e^z), computed without overflow.
    total += y[i]! * softplus(-z) + (1 - y[i]!) * softplus(z);
  }
  return total / rows.length;
}

function softplus(s: number): number {
  return s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s));
}

function standardisation(X: readonly (readonly number[])[]): { mean: number[]; sd: number[] } {
  const n = X.length;
  const p = X[0]!.length;
  const mean = new Array<number>(p).fill(0);
  for (const row of X) for (let j = 0; j < p; j++) mean[j]! += row[j]! / n;
  const variance = new Array<number>(p).fill(0);
  for (const row of X) for (let j = 0; j < p; j++) variance[j]! += (row[j]! - mean[j]!) ** 2 / n;
  // A constant column gets its exact value as mean and sd 1: standardised it is exactly 0, so
  // its weight stays 0.
  const sd = variance.map((v, j) => {
    if (v > 1e-12) return Math.sqrt(v);
    mean[j] = X[0]![j]!;
    return 1;
  });
  return { mean, sd };
}

function covariance(S: readonly number[][]): number[][] {
  const n = S.length;
  const p = S[0]!.length;
  const c = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (const row of S) {
    for (let i = 0; i < p; i++) {
      const ri = row[i]!;
      if (ri === 0) continue;
      const ci = c[i]!;
      for (let j = 0; j <= i; j++) ci[j]! += ri * row[j]!;
    }
  }
  for (let i = 0; i < p; i++) for (let j = 0; j <= i; j++) c[j]![i] = c[i]![j]! /= n;
  return c;
}

/** Lower-triangular L with L Lᵀ = C + ridge·I; a tiny ridge keeps collinear features finite. */
function cholesky(C: readonly number[][], ridge: number): number[][] {
  const p = C.length;
  const L = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = C[i]![j]! + (i === j ? ridge : 0);
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      if (i === j) L[i]![i] = Math.sqrt(Math.max(s, ridge));
      else L[i]![j] = s / L[j]![j]!;
    }
  }
  return L;
}

/** Solves L z = s. */
function forwardSolve(L: readonly number[][], s: readonly number[]): number[] {
  const z = new Array<number>(s.length).fill(0);
  for (let i = 0; i < s.length; i++) {
    let v = s[i]!;
    for (let k = 0; k < i; k++) v -= L[i]![k]! * z[k]!;
    z[i] = v / L[i]![i]!;
  }
  return z;
}

/** Solves Lᵀ w = v. */
function backSolveTransposed(L: readonly number[][], v: readonly number[]): number[] {
  const p = v.length;
  const w = new Array<number>(p).fill(0);
  for (let i = p - 1; i >= 0; i--) {
    let s = v[i]!;
    for (let k = i + 1; k < p; k++) s -= L[k]![i]! * w[k]!;
    w[i] = s / L[i]![i]!;
  }
  return w;
}
