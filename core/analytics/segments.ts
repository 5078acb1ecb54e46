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
  return Array.from(
    quintileScoreColumn(
      Float64Array.from(values, (v) => v ?? Number.NaN),
      higherIsBetter,
    ),
  );
}

/** {@link quintileScores} of a column (NaN where there is no value), as bytes. */
export function quintileScoreColumn(values: Float64Array, higherIsBetter = true): Uint8Array {
  const n = values.length;
  const keys = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) keys[m++] = higherIsBetter ? v : -v;
  }
  const missing = n - m;
  // With `below` the values under a key (plus the missing ones), the score reaches s when
  // 5 x below >= (s - 1) x n, i.e. when at least cut[s] present values are below the key,
  // i.e. when the key exceeds the cut[s]-th smallest present value: four order statistics,
  // found by selection instead of sorting every value. The bars rise with s, so a key's score
  // is 1 plus the bars it exceeds.
  const bar = new Float64Array(6);
  // From the highest bar down: each search keeps to the keys below the one found before.
  let end = m;
  for (let score = 5; score >= 2; score--) {
    const cut = Math.max(0, Math.ceil(((score - 1) * n - 5 * missing) / 5));
    if (cut === 0) bar[score] = Number.NEGATIVE_INFINITY;
    else if (cut > m) bar[score] = Number.POSITIVE_INFINITY;
    else {
      bar[score] = orderStatistic(keys, cut - 1, end);
      end = cut;
    }
  }
  const scores = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      scores[i] = 1;
      continue;
    }
    const key = higherIsBetter ? v : -v;
    scores[i] = 1 + +(bar[2]! < key) + +(bar[3]! < key) + +(bar[4]! < key) + +(bar[5]! < key);
  }
  return scores;
}

/**
 * The k-th smallest (from 0) of `values[0..end)`, which it reorders: afterwards the ones before
 * k are no larger and the ones after it no smaller (so a smaller k can then search `[0, k)`).
 * Quickselect, median of three; a range that shrinks too slowly is sorted instead.
 */
export function orderStatistic(values: Float64Array, k: number, end = values.length): number {
  let lo = 0;
  let hi = end - 1;
  for (let rounds = 0; lo < hi; rounds++) {
    if (rounds > 64) {
      values.subarray(lo, hi + 1).sort();
      break;
    }
    const mid = (lo + hi) >>> 1;
    const a = values[lo]!;
    const b = values[mid]!;
    const c = values[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (pivot < values[j]!) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i++] = values[j]!;
        values[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return values[k]!;
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
