// Platt scaling: P(y = 1) = sigmoid(a·z + b) on a model's log-odds z, fitted by Newton's method
// on held-out (for churn: out-of-time) predictions, so probabilities match observed rates.

export interface PlattCalibration {
  a: number;
  b: number;
  /** Rows the calibration was fitted on. */
  rows: number;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * Fits a and b by maximum likelihood (Newton steps with a tiny ridge, Platt's smoothed targets).
 * Throws when the labels have one class only.
 */
export function fitPlatt(logOdds: readonly number[], labels: readonly number[]): PlattCalibration {
  const n = logOdds.length;
  const positives = labels.reduce((s, v) => s + v, 0);
  if (n === 0 || positives === 0 || positives === n) throw new RangeError("fitPlatt: needs both labels");
  // Platt (1999): targets pulled away from 0 and 1 so separable data cannot push a to infinity.
  const hi = (positives + 1) / (positives + 2);
  const lo = 1 / (n - positives + 2);
  let a = 1;
  let b = 0;
  for (let iter = 0; iter < 100; iter++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-9;
    let hab = 0;
    let hbb = 1e-9;
    for (let i = 0; i < n; i++) {
      const z = logOdds[i]!;
      const p = sigmoid(a * z + b);
      const t = labels[i] === 1 ? hi : lo;
      const w = Math.max(p * (1 - p), 1e-12);
      ga += (p - t) * z;
      gb += p - t;
      haa += w * z * z;
      hab += w * z;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-10) break;
  }
  return { a, b, rows: n };
}

/** The calibrated probability of log-odds z. */
export function applyPlatt(c: PlattCalibration | null | undefined, z: number): number {
  return c ? sigmoid(c.a * z + c.b) : sigmoid(z);
}
