// The statistics behind a campaign report: a two-proportion interval and test for the
// retention lift, a seeded percentile bootstrap for the revenue-per-customer lift, ROI, NPV
// and payback. Pure functions, unit-tested against hand-computed cases.
import { Random } from "../demo/random";

/** Standard normal CDF (Abramowitz & Stegun 26.2.17, absolute error < 7.5e-8). */
export function normalCdf(z: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(z));
  const d = 0.3989422804014327 * Math.exp((-z * z) / 2);
  const p = d * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return z >= 0 ? 1 - p : p;
}

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

export interface ProportionLift extends Interval {
  /** Two-sided p-value of the pooled two-proportion z-test (null without data). */
  pValue: number | null;
  standardError: number;
}

/**
 * Difference of two proportions p1 - p2 with a Wald interval
 * (p1 - p2 +/- z * sqrt(p1(1-p1)/n1 + p2(1-p2)/n2)) and the pooled z-test p-value.
 * With an empty group the estimate is NaN and the interval unbounded.
 */
export function twoProportionLift(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  z = 1.959963984540054,
): ProportionLift {
  if (n1 <= 0 || n2 <= 0)
    return {
      estimate: Number.NaN,
      low: Number.NEGATIVE_INFINITY,
      high: Number.POSITIVE_INFINITY,
      pValue: null,
      standardError: Number.NaN,
    };
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const diff = p1 - p2;
  const se = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  const pooled = (x1 + x2) / (n1 + n2);
  const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const pValue = sePooled === 0 ? (diff === 0 ? 1 : 0) : 2 * (1 - normalCdf(Math.abs(diff) / sePooled));
  return { estimate: diff, low: diff - z * se, high: diff + z * se, pValue, standardError: se };
}

export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return values.length ? s / values.length : Number.NaN;
}

/** Linear-interpolated quantile of sorted values (type 7, as R's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Percentile bootstrap interval for mean(a) - mean(b): both groups resampled with replacement
 * `iterations` times from a seeded generator, so the same data and seed give the same interval.
 */
export function bootstrapMeanDiff(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: { iterations?: number; seed?: number; confidence?: number } = {},
): Interval {
  const estimate = mean(a) - mean(b);
  if (a.length === 0 || b.length === 0)
    return { estimate, low: Number.NEGATIVE_INFINITY, high: Number.POSITIVE_INFINITY };
  const iterations = options.iterations ?? 2000;
  const rng = new Random(options.seed ?? 1);
  const diffs = new Float64Array(iterations);
  const resampleMean = (x: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[Math.floor(rng.next() * x.length)]!;
    return s / x.length;
  };
  for (let i = 0; i < iterations; i++) diffs[i] = resampleMean(a) - resampleMean(b);
  diffs.sort();
  const alpha = 1 - (options.confidence ?? 0.95);
  return { estimate, low: quantileSorted(diffs, alpha / 2), high: quantileSorted(diffs, 1 - alpha / 2) };
}

/**
 * Campaign ROI = (revenue of treated - control revenue scaled to the treated group's size - cost) / cost.
 * Null when nothing was spent (ROI is undefined, not infinite).
 */
export function campaignRoi(input: {
  treatedRevenue: number;
  treatedCustomers: number;
  controlRevenue: number;
  controlCustomers: number;
  cost: number;
}): number | null {
  if (input.cost <= 0 || input.controlCustomers === 0) return null;
  const scaledControl = (input.controlRevenue / input.controlCustomers) * input.treatedCustomers;
  return (input.treatedRevenue - scaledControl - input.cost) / input.cost;
}

/** Net present value of `cashFlows[t]` received at the end of period t+1, minus `initialCost` now. */
export function npv(initialCost: number, cashFlows: readonly number[], ratePerPeriod: number): number {
  return cashFlows.reduce((sum, cf, t) => sum + cf / (1 + ratePerPeriod) ** (t + 1), -initialCost);
}

/**
 * Discounted payback: the (fractional) number of periods until discounted cash flows repay
 * `initialCost`, interpolating within the period; 0 without cost; null if never within the flows.
 */
export function paybackPeriods(
  initialCost: number,
  cashFlows: readonly number[],
  ratePerPeriod: number,
): number | null {
  if (initialCost <= 0) return 0;
  let remaining = initialCost;
  for (let t = 0; t < cashFlows.length; t++) {
    const discounted = cashFlows[t]! / (1 + ratePerPeriod) ** (t + 1);
    if (discounted >= remaining && discounted > 0) return t + remaining / discounted;
    remaining -= discounted;
  }
  return null;
}

/**
 * Monthly incremental margin over a horizon: the margin observed in the attribution window,
 * as a monthly rate, fading each month by `monthlyPersistence` (the share of the effect that
 * lasts into the next month).
 */
export function projectMonthlyMargin(
  windowMargin: number,
  windowDays: number,
  horizonMonths: number,
  monthlyPersistence: number,
): number[] {
  const monthly = (windowMargin * 30.4375) / windowDays;
  return Array.from({ length: horizonMonths }, (_, t) => monthly * monthlyPersistence ** t);
}
