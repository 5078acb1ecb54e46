// Gamma-Gamma spend model (Fader & Hardie, "The Gamma-Gamma model of monetary value", 2013;
// Colombo & Jiang 1999): a customer's transaction values are Gamma(p, ν) around their own mean
// spend, with ν ~ Gamma(q, γ) across customers. Fitted on repeat buyers' mean repeat spend.
import type { BgNbdParams } from "./bgnbd";
import { bgnbdExpectedPurchases } from "./bgnbd";
import { distinct } from "./distinct";
import { minimize } from "./optimize";
import { lnGamma } from "./special";

export interface GammaGammaParams {
  p: number;
  q: number;
  gamma: number;
}

export interface GammaGammaFit {
  params: GammaGammaParams;
  logLikelihood: number;
  iterations: number;
}

/** One repeat buyer: x repeat transactions with mean value m (> 0). */
export interface SpendSummary {
  x: number;
  m: number;
}

/** The (x, m) pairs with what does not change between evaluations worked out once. */
interface PreparedSpend {
  x: Float64Array;
  m: Float64Array;
  lnM: Float64Array;
  lnX: Float64Array;
  /** The distinct x, and each pair's place among them (two log-gammas per distinct x, not per pair). */
  xValues: Float64Array;
  xIndex: Int32Array;
}

function prepare(data: readonly SpendSummary[]): PreparedSpend {
  const x = Float64Array.from(data, (d) => d.x);
  const { values: xValues, index: xIndex } = distinct(x);
  return {
    x,
    m: Float64Array.from(data, (d) => d.m),
    lnM: Float64Array.from(data, (d) => Math.log(d.m)),
    lnX: Float64Array.from(data, (d) => Math.log(d.x)),
    xValues,
    xIndex,
  };
}

function logLikelihood(params: GammaGammaParams, data: PreparedSpend): number {
  const { p, q, gamma } = params;
  const lnGammaQ = lnGamma(q);
  const qLnGamma = q * Math.log(gamma);
  const lnGammaPXQ = data.xValues.map((x) => lnGamma(p * x + q));
  const lnGammaPX = data.xValues.map((x) => lnGamma(p * x));
  let total = 0;
  for (let i = 0; i < data.x.length; i++) {
    const x = data.x[i]!;
    const m = data.m[i]!;
    const k = data.xIndex[i]!;
    const px = p * x;
    total +=
      lnGammaPXQ[k]! -
      lnGammaPX[k]! -
      lnGammaQ +
      qLnGamma +
      (px - 1) * data.lnM[i]! +
      px * data.lnX[i]! -
      (px + q) * Math.log(gamma + m * x);
  }
  return total;
}

/** Total Gamma-Gamma log-likelihood of the (x, m) pairs. */
export function gammaGammaLogLikelihood(params: GammaGammaParams, data: readonly SpendSummary[]): number {
  return logLikelihood(params, prepare(data));
}

/**
 * Fits Gamma-Gamma by maximum likelihood over log-parameters. Only repeat buyers with a
 * positive mean spend carry information (x >= 1, m > 0); other records are ignored. Throws when
 * none remain.
 */
export function fitGammaGamma(records: readonly SpendSummary[]): GammaGammaFit {
  const data = records.filter((d) => d.x >= 1 && d.m > 0 && Number.isFinite(d.m));
  if (data.length === 0) throw new RangeError("fitGammaGamma: no repeat buyers with positive spend");
  const n = data.length;
  const prepared = prepare(data);
  const fromLog = (v: number[]): GammaGammaParams => ({
    p: Math.exp(v[0]!),
    q: Math.exp(v[1]!),
    gamma: Math.exp(v[2]!),
  });
  const meanSpend = data.reduce((s, d) => s + d.m, 0) / n;
  const start = [Math.log(2), Math.log(2), Math.log(meanSpend)];
  const result = minimize((v) => -logLikelihood(fromLog(v), prepared) / n, start, {
    tolerance: 1e-13,
    maxEvaluations: 20_000,
  });
  return { params: fromLog(result.x), logLikelihood: -result.value * n, iterations: result.iterations };
}

/**
 * E[M | x, m]: the expected value of a future transaction, a weighted mean of the population
 * mean γp/(q − 1) and the customer's own mean m. With x = 0 it is the population mean.
 * Requires q > 1 (otherwise the population mean is infinite).
 */
export function ggExpectedSpend(params: GammaGammaParams, x: number, m: number): number {
  const { p, q, gamma } = params;
  if (x <= 0) return (gamma * p) / (q - 1);
  return (p * (gamma + m * x)) / (p * x + q - 1);
}

export interface ClvInput {
  bgnbd: BgNbdParams;
  gg: GammaGammaParams;
  x: number;
  tx: number;
  T: number;
  /** Mean repeat spend (ignored when x = 0). */
  m: number;
  /** Horizon in the BG/NBD time unit. */
  horizon: number;
  /** Gross margin as a fraction of revenue (0..1). */
  margin: number;
  /** Discount rate per time unit; when given, each unit's expected purchases are discounted. */
  discountRatePerPeriod?: number;
}

/**
 * Customer lifetime value over `horizon`: expected purchases × expected spend × margin. With a
 * discount rate the horizon is cut into whole time units (the last one partial) and the
 * purchases expected in unit k are discounted by (1 + d)^k.
 */
export function clv(input: ClvInput): number {
  const { bgnbd, gg, x, tx, T, m, horizon, margin } = input;
  const spend = ggExpectedSpend(gg, x, m);
  const d = input.discountRatePerPeriod;
  if (d === undefined || d === 0) return bgnbdExpectedPurchases(bgnbd, horizon, x, tx, T) * spend * margin;
  let value = 0;
  let before = 0;
  for (let k = 1; k - 1 < horizon; k++) {
    const cumulative = bgnbdExpectedPurchases(bgnbd, Math.min(k, horizon), x, tx, T);
    value += (cumulative - before) / Math.pow(1 + d, k);
    before = cumulative;
  }
  return value * spend * margin;
}
