// RFM quintile scores and the named segments built from them, plus the churn risk band.
//
// Segment map: the widely used RFM map keyed on the recency score R and the frequency score F
// (the same one as the `rfm` Python package and most CRM playbooks; M breaks no ties there):
//
//   R\F   1          2          3               4               5
//   5     New        Potential  Potential       Champions       Champions
//   4     Promising  Potential  Potential       Loyal           Loyal
//   3     About to   About to   Need attention  Loyal           Loyal
//         sleep      sleep
//   2     Hibernat.  Hibernat.  At risk         At risk         Can't lose them
//   1     Lost       Hibernat.  At risk         At risk         Can't lose them
//
// "Lost" is the lowest corner (R = 1 and F = 1) carved out of Hibernating. Customers without
// any purchase are "New" within their first 90 days and "Lost" after that.

export const SEGMENTS = [
  "Champions",
  "Loyal",
  "Potential loyalist",
  "New",
  "Promising",
  "Need attention",
  "About to sleep",
  "At risk",
  "Can't lose them",
  "Hibernating",
  "Lost",
] as const;
export type Segment = (typeof SEGMENTS)[number];

export type RiskBand = "low" | "medium" | "high";

export interface RfmScores {
  recencyScore: number;
  frequencyScore: number;
  monetaryScore: number;
}

/**
 * Quintile scores 1..5 of `values` over the population: a value's score is
 * 1 + floor(5 x share of the population strictly below it), so equal values share a score
 * (many one-time buyers all get F = 1 rather than being split by an arbitrary order).
 * `null` (and NaN) values score 1. With `higherIsBetter = false` (recency in days) the order is reversed.
 */
export function quintileScores(values: ArrayLike<number | null>, higherIsBetter = true): number[] {
  const n = values.length;
  const keys = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) keys[m++] = higherIsBetter ? v : -v;
  }
  const sorted = keys.subarray(0, m).sort();
  const missing = n - m;
  // With `below` the values under a key (plus the missing ones), the score reaches s when
  // 5 x below >= (s - 1) x n, i.e. when at least cut[s] present values are below the key,
  // i.e. when the key exceeds sorted[cut[s] - 1]. Four comparisons per value, no search.
  const cut = [0, 0, 0, 0, 0, 0];
  for (let score = 2; score <= 5; score++) cut[score] = Math.max(0, Math.ceil(((score - 1) * n - 5 * missing) / 5));
  const scores = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      scores[i] = 1;
      continue;
    }
    const key = higherIsBetter ? v : -v;
    let score = 1;
    while (score < 5 && (cut[score + 1]! === 0 || (cut[score + 1]! <= m && sorted[cut[score + 1]! - 1]! < key)))
      score++;
    scores[i] = score;
  }
  return scores;
}

/** The named segment for an R and F score (see the map at the top of this file). */
export function rfmSegment(r: number, f: number): Segment {
  if (r >= 5) return f >= 4 ? "Champions" : f >= 2 ? "Potential loyalist" : "New";
  if (r === 4) return f >= 4 ? "Loyal" : f >= 2 ? "Potential loyalist" : "Promising";
  if (r === 3) return f >= 4 ? "Loyal" : f === 3 ? "Need attention" : "About to sleep";
  if (f >= 5) return "Can't lose them";
  if (f >= 3) return "At risk";
  if (r <= 1 && f <= 1) return "Lost";
  return "Hibernating";
}

export interface RfmInput {
  recencyDays: number | null;
  /** Purchase count (or repeat purchases): higher is better. */
  frequency: number;
  /** Total or mean spend: higher is better. */
  monetary: number | null;
  tenureDays: number;
}

/** RFM scores and segments for a whole population at once (quintiles need everyone). */
export function segmentPopulation(rows: readonly RfmInput[]): (RfmScores & { segment: Segment })[] {
  const r = quintileScores(
    rows.map((x) => x.recencyDays),
    false,
  );
  const f = quintileScores(rows.map((x) => x.frequency));
  const m = quintileScores(rows.map((x) => x.monetary));
  return rows.map((row, i) => {
    const scores = { recencyScore: r[i]!, frequencyScore: f[i]!, monetaryScore: m[i]! };
    const segment: Segment =
      row.recencyDays === null
        ? row.tenureDays <= 90
          ? "New"
          : "Lost"
        : rfmSegment(scores.recencyScore, scores.frequencyScore);
    return { ...scores, segment };
  });
}

/** low / medium / high from a churn probability and the configured thresholds (inclusive). */
export function riskBand(churnProbability: number, thresholds: { riskHigh: number; riskMedium: number }): RiskBand {
  if (churnProbability >= thresholds.riskHigh) return "high";
  if (churnProbability >= thresholds.riskMedium) return "medium";
  return "low";
}
