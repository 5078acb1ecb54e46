// Uplift metrics on predictions for a randomized experiment, defined as scikit-uplift defines them
// (sklift.metrics): the Qini curve, the Qini coefficient (`qini_auc_score`) and uplift@k with the
// "overall" strategy. Pure functions; `treatment` and `outcome` hold 0/1.

export interface QiniCurve {
  /** Rows targeted so far (0 first). */
  x: number[];
  /** Incremental responses: treated responders − control responders × treated/control so far. */
  y: number[];
}

/** Indices sorted by descending score, ties in the reversed order of a stable ascending sort (numpy's argsort(kind="mergesort")[::-1]). */
function descendingOrder(scores: readonly number[]): number[] {
  const ascending = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]! || a - b);
  return ascending.reverse();
}

function checkInput(outcome: readonly number[], score: readonly number[], treatment: readonly number[]): void {
  if (outcome.length !== score.length || outcome.length !== treatment.length)
    throw new RangeError("uplift metrics: outcome, score and treatment must have the same length");
  for (let i = 0; i < outcome.length; i++) {
    if (outcome[i] !== 0 && outcome[i] !== 1) throw new RangeError(`uplift metrics: outcome ${i} is not 0 or 1`);
    if (treatment[i] !== 0 && treatment[i] !== 1) throw new RangeError(`uplift metrics: treatment ${i} is not 0 or 1`);
    if (!Number.isFinite(score[i])) throw new RangeError(`uplift metrics: score ${i} is not a finite number`);
  }
}

/**
 * The Qini curve (sklift `qini_curve`): rows ranked by descending `score`, one point at the end
 * of each group of tied scores, starting at (0, 0).
 */
export function qiniCurve(
  outcome: readonly number[],
  score: readonly number[],
  treatment: readonly number[],
): QiniCurve {
  checkInput(outcome, score, treatment);
  const order = descendingOrder(score);
  const x = [0];
  const y = [0];
  let treated = 0;
  let treatedResponses = 0;
  let controlResponses = 0;
  order.forEach((row, position) => {
    if (treatment[row] === 1) {
      treated++;
      treatedResponses += outcome[row]!;
    } else controlResponses += outcome[row]!;
    const next = order[position + 1];
    if (next !== undefined && score[next] === score[row]) return;
    const all = position + 1;
    const control = all - treated;
    x.push(all);
    y.push(treatedResponses - (control === 0 ? 0 : (controlResponses * treated) / control));
  });
  return { x, y };
}

/** Trapezoidal area under a curve given by points in increasing x (sklearn `auc`). */
function area(x: readonly number[], y: readonly number[]): number {
  let sum = 0;
  for (let i = 1; i < x.length; i++) sum += ((x[i]! - x[i - 1]!) * (y[i]! + y[i - 1]!)) / 2;
  return sum;
}

/**
 * The Qini coefficient as sklift's `qini_auc_score` (with `negative_effect=True`): the area
 * between the model's Qini curve and the straight line from (0, 0) to the curve's end, divided by
 * the same area for the best possible ordering (treated responders first, control responders
 * last). 1 is a perfect ranking, 0 a random one, negative worse than random. NaN when the best
 * ordering has no area over the line (no incremental responses to rank).
 */
export function qiniAucScore(
  outcome: readonly number[],
  score: readonly number[],
  treatment: readonly number[],
): number {
  const actual = qiniCurve(outcome, score, treatment);
  const perfectScore = outcome.map((y, i) => (treatment[i] === 1 ? y : -y));
  const perfect = qiniCurve(outcome, perfectScore, treatment);
  const end = perfect.x[perfect.x.length - 1]!;
  const baseline = area([0, end], [0, perfect.y[perfect.y.length - 1]!]);
  const perfectArea = area(perfect.x, perfect.y) - baseline;
  if (perfectArea === 0) return Number.NaN;
  return (area(actual.x, actual.y) - baseline) / perfectArea;
}

/**
 * Uplift at k (sklift `uplift_at_k`, strategy "overall"): the first ⌊k·n⌋ rows by descending
 * score, then their treated response rate minus their control response rate. NaN when that top
 * share holds no treated or no control row.
 */
export function upliftAtK(
  outcome: readonly number[],
  score: readonly number[],
  treatment: readonly number[],
  k: number,
): number {
  checkInput(outcome, score, treatment);
  if (!(k > 0 && k <= 1)) throw new RangeError(`upliftAtK: k must be in (0, 1], got ${k}`);
  const top = descendingOrder(score).slice(0, Math.floor(outcome.length * k));
  let nT = 0;
  let yT = 0;
  let nC = 0;
  let yC = 0;
  for (const i of top) {
    if (treatment[i] === 1) {
      nT++;
      yT += outcome[i]!;
    } else {
      nC++;
      yC += outcome[i]!;
    }
  }
  if (nT === 0 || nC === 0) return Number.NaN;
  return yT / nT - yC / nC;
}
