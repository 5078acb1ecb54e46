// Out-of-sample evaluation: AUC, seeded stratified folds, calibration table, log-loss.

/** Average ranks (1-based, ties share their mean rank) of `values`. */
function midranks(values: readonly number[]): Float64Array {
  const order = values.map((_, i) => i).sort((i, j) => values[i]! - values[j]!);
  const ranks = new Float64Array(values.length);
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && values[order[end + 1]!] === values[order[start]!]) end++;
    for (let k = start; k <= end; k++) ranks[order[k]!] = (start + end) / 2 + 1;
    start = end + 1;
  }
  return ranks;
}

/**
 * Area under the ROC curve as the Mann-Whitney statistic: the probability that a random
 * positive scores above a random negative, ties counting one half (average ranks).
 * Throws when there are no positives or no negatives.
 */
export function auc(scores: readonly number[], labels: readonly number[]): number {
  if (scores.length !== labels.length) throw new RangeError("auc: scores and labels differ in length");
  const ranks = midranks(scores);
  let rankSumPositives = 0;
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    rankSumPositives += ranks[i]!;
    positives++;
  }
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) throw new RangeError("auc: needs both positive and negative labels");
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** A small seeded generator (mulberry32), so folds are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fold number (0..k−1) of each of n rows, shuffled with `seed`. Given `labels`, the folds are
 * stratified: each class is dealt round-robin after its own shuffle, so every fold holds about
 * the same share of positives.
 */
export function kFoldIndices(n: number, k: number, seed: number, labels?: readonly number[]): number[] {
  if (!(k >= 2) || k > n) throw new RangeError(`kFoldIndices: need 2 <= k <= n (k = ${k}, n = ${n})`);
  const random = seededRandom(seed);
  const folds = new Array<number>(n).fill(0);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const key = labels ? (labels[i] ?? 0) : 0;
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  }
  let offset = 0;
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const members = groups.get(key)!;
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [members[i], members[j]] = [members[j]!, members[i]!];
    }
    members.forEach((row, position) => (folds[row] = (position + offset) % k));
    offset += members.length;
  }
  return folds;
}

export interface CalibrationBin {
  bin: number;
  meanPredicted: number;
  observedRate: number;
  count: number;
}

/**
 * Reliability table: rows sorted by predicted probability and cut into `bins` groups of equal
 * size (deciles by default); each bin's mean prediction beside its observed positive rate.
 */
export function calibrationTable(probs: readonly number[], labels: readonly number[], bins = 10): CalibrationBin[] {
  const order = probs.map((_, i) => i).sort((i, j) => probs[i]! - probs[j]!);
  const table: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const from = Math.floor((b * order.length) / bins);
    const to = Math.floor(((b + 1) * order.length) / bins);
    let predicted = 0;
    let observed = 0;
    for (let k = from; k < to; k++) {
      predicted += probs[order[k]!]!;
      observed += labels[order[k]!]!;
    }
    const count = to - from;
    table.push({
      bin: b + 1,
      meanPredicted: count ? predicted / count : 0,
      observedRate: count ? observed / count : 0,
      count,
    });
  }
  return table;
}

/** Mean log-loss of probabilities against 0/1 labels, probabilities clipped to [1e-15, 1 − 1e-15]. */
export function logLoss(probs: readonly number[], labels: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(Math.max(probs[i]!, 1e-15), 1 - 1e-15);
    total -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return total / probs.length;
}

/**
 * AUC(a) - AUC(b) for two scores of the same customers, with the standard error of that
 * difference by DeLong, DeLong & Clarke-Pearson (1988), computed from midranks as Sun & Xu
 * (2014) do. The two scores' correlation is taken into account, so two close models on many
 * customers get a small error even where each AUC alone is uncertain. Throws as `auc` does.
 */
export function pairedAucDifference(
  a: readonly number[],
  b: readonly number[],
  labels: readonly number[],
): { difference: number; se: number } {
  if (a.length !== labels.length || b.length !== labels.length)
    throw new RangeError("pairedAucDifference: scores and labels differ in length");
  const pos: number[] = [];
  const neg: number[] = [];
  labels.forEach((l, i) => (l === 1 ? pos : neg).push(i));
  const m = pos.length;
  const n = neg.length;
  if (m === 0 || n === 0) throw new RangeError("auc: needs both positive and negative labels");
  // Placements: for each positive, the share of negatives it outscores (ties one half), and for
  // each negative, the share of positives that outscore it.
  const placements = (s: readonly number[]) => {
    const all = midranks(s);
    const inPos = midranks(pos.map((i) => s[i]!));
    const inNeg = midranks(neg.map((i) => s[i]!));
    return {
      v10: pos.map((i, k) => (all[i]! - inPos[k]!) / n),
      v01: neg.map((i, k) => 1 - (all[i]! - inNeg[k]!) / m),
    };
  };
  const pa = placements(a);
  const pb = placements(b);
  // Variance of the per-case differences of placements, over positives and over negatives.
  const variance = (x: number[], y: number[]) => {
    const d = x.map((v, i) => v - y[i]!);
    const mu = d.reduce((s, v) => s + v, 0) / d.length;
    return d.length > 1 ? d.reduce((s, v) => s + (v - mu) ** 2, 0) / (d.length - 1) : 0;
  };
  const difference = pa.v10.reduce((s, v, i) => s + v - pb.v10[i]!, 0) / m;
  const se = Math.sqrt(variance(pa.v10, pb.v10) / m + variance(pa.v01, pb.v01) / n);
  return { difference, se };
}
