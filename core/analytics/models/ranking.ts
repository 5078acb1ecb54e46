// Ranking figures beyond AUC: lift by decile and the cumulative gains curve.

export interface LiftDecile {
  /** 1 = the tenth with the highest scores. */
  decile: number;
  customers: number;
  positiveRate: number;
  /** positiveRate / overall positive rate. */
  lift: number;
}

export interface GainsPoint {
  /** Share of customers contacted, best scores first. */
  contacted: number;
  /** Share of all positives among them. */
  captured: number;
}

function orderDesc(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((i, j) => scores[j]! - scores[i]! || i - j);
}

/** Customers cut into ten equal groups by descending score, each group's rate beside the base rate. */
export function liftByDecile(scores: readonly number[], labels: readonly number[]): LiftDecile[] {
  const order = orderDesc(scores);
  const n = order.length;
  const base = labels.reduce((s, v) => s + v, 0) / Math.max(1, n);
  const out: LiftDecile[] = [];
  for (let d = 0; d < 10; d++) {
    const from = Math.floor((d * n) / 10);
    const to = Math.floor(((d + 1) * n) / 10);
    let positives = 0;
    for (let k = from; k < to; k++) positives += labels[order[k]!]!;
    const count = to - from;
    const rate = count ? positives / count : 0;
    out.push({ decile: d + 1, customers: count, positiveRate: rate, lift: base > 0 ? rate / base : 0 });
  }
  return out;
}

/** The cumulative gains curve at every `step` share of customers (0 and 1 included). */
export function gainsCurve(scores: readonly number[], labels: readonly number[], step = 0.05): GainsPoint[] {
  const order = orderDesc(scores);
  const n = order.length;
  const total = labels.reduce((s, v) => s + v, 0);
  const points: GainsPoint[] = [{ contacted: 0, captured: 0 }];
  let captured = 0;
  let k = 0;
  const steps = Math.round(1 / step);
  for (let s = 1; s <= steps; s++) {
    const to = Math.round((s * n) / steps);
    for (; k < to; k++) captured += labels[order[k]!]!;
    points.push({ contacted: s / steps, captured: total ? captured / total : 0 });
  }
  return points;
}
