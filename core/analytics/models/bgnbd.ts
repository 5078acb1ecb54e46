// BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive, a
// customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each purchase they drop out
// with probability p ~ Beta(a, b). Fitted by maximum likelihood on (x, tx, T) summaries.
import { minimize } from "./optimize";
import { distinct } from "./distinct";
import { hyp2f1, lnBeta, lnGamma } from "./special";

/** One customer's calibration summary, all times in the same unit (weeks, days...). */
export interface RfmSummary {
  /** Repeat purchases (purchases after the first), counting same-day purchases once. */
  x: number;
  /** Time of the last purchase, measured from the first purchase (0 when x = 0). */
  tx: number;
  /** Age: time from the first purchase to the end of the calibration period. */
  T: number;
}

export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
  /**
   * "mbg": the modified BG/NBD (Batislam, Denizel & Filiztekin 2007), where a customer may also
   * drop out right after the first purchase, so one who never came back is not certainly alive.
   * Absent: the original BG/NBD.
   */
  variant?: "mbg";
}

export interface BgNbdFitOptions {
  /** Nelder-Mead evaluation budget. Default 20,000. */
  maxEvaluations?: number;
  /** Starting parameters. Default r = α = a = b = 1. */
  start?: BgNbdParams;
}

export interface BgNbdFit {
  params: BgNbdParams;
  /** Total log-likelihood at the optimum (sum over customers). */
  logLikelihood: number;
  /** Nelder-Mead iterations over all restarts. */
  iterations: number;
}

interface GroupedSummaries {
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  count: Float64Array;
  /** The distinct repeat counts, and each group's place among them: the terms of the likelihood
   * that depend on x alone (three log-gammas each) are computed once per distinct x. */
  xValues: Float64Array;
  xIndex: Int32Array;
  /** The same for the ages and the times of last purchase (one log each per distinct value). */
  TValues: Float64Array;
  TIndex: Int32Array;
  txValues: Float64Array;
  txIndex: Int32Array;
}

/** Groups identical (x, tx, T) triples: real data has many repeats, so the likelihood is cheap. */
function groupSummaries(data: readonly RfmSummary[]): GroupedSummaries {
  const index = new Map<string, number>();
  const xs: number[] = [];
  const txs: number[] = [];
  const Ts: number[] = [];
  const counts: number[] = [];
  for (const d of data) {
    if (!(d.x >= 0) || !(d.tx >= 0) || !(d.T >= d.tx)) throw new RangeError(`invalid RFM summary ${JSON.stringify(d)}`);
    const key = `${d.x}|${d.tx}|${d.T}`;
    const at = index.get(key);
    if (at === undefined) {
      index.set(key, xs.length);
      xs.push(d.x);
      txs.push(d.tx);
      Ts.push(d.T);
      counts.push(1);
    } else {
      counts[at]!++;
    }
  }
  const x = distinct(xs);
  const T = distinct(Ts);
  const tx = distinct(txs);
  return {
    x: Float64Array.from(xs),
    tx: Float64Array.from(txs),
    T: Float64Array.from(Ts),
    count: Float64Array.from(counts),
    xValues: x.values,
    xIndex: x.index,
    TValues: T.values,
    TIndex: T.index,
    txValues: tx.values,
    txIndex: tx.index,
  };
}

function logLikelihood(p: BgNbdParams, g: GroupedSummaries): number {
  if (p.variant === "mbg") return mbgLogLikelihood(p, g);
  const { r, alpha, a, b } = p;
  const lnGammaR = lnGamma(r);
  const lnBetaAB = lnBeta(a, b);
  const lnA = Math.log(a);
  const rLnAlpha = r * Math.log(alpha);
  const lnGammaRX = g.xValues.map((x) => lnGamma(r + x));
  const lnBetaABX = g.xValues.map((x) => lnBeta(a, b + x));
  const lnBX1 = g.xValues.map((x) => Math.log(b + x - 1));
  const lnAlphaT = g.TValues.map((T) => Math.log(alpha + T));
  const lnAlphaTx = g.txValues.map((tx) => Math.log(alpha + tx));
  let total = 0;
  for (let i = 0; i < g.x.length; i++) {
    const x = g.x[i]!;
    const k = g.xIndex[i]!;
    const common = lnGammaRX[k]! - lnGammaR + rLnAlpha + lnBetaABX[k]! - lnBetaAB;
    const stillAlive = -(r + x) * lnAlphaT[g.TIndex[i]!]!;
    let ll: number;
    if (x > 0) {
      const droppedOut = lnA - lnBX1[k]! - (r + x) * lnAlphaTx[g.txIndex[i]!]!;
      // ln(e^stillAlive + e^droppedOut) around the larger term, whose own exponential is e^0 = 1.
      ll =
        stillAlive >= droppedOut
          ? common + stillAlive + Math.log(1 + Math.exp(droppedOut - stillAlive))
          : common + droppedOut + Math.log(Math.exp(stillAlive - droppedOut) + 1);
    } else {
      ll = common + stillAlive;
    }
    total += g.count[i]! * ll;
  }
  return total;
}

/** MBG/NBD: the dropout chance applies after every purchase, the first included. */
function mbgLogLikelihood(p: BgNbdParams, g: GroupedSummaries): number {
  const { r, alpha, a, b } = p;
  const lnGammaR = lnGamma(r);
  const lnBetaAB = lnBeta(a, b);
  const lnGammaRX = g.xValues.map((x) => lnGamma(r + x));
  const lnBetaABX1 = g.xValues.map((x) => lnBeta(a, b + x + 1));
  const lnBX = g.xValues.map((x) => Math.log(b + x));
  const lnAlphaT = g.TValues.map((T) => Math.log(alpha + T));
  const lnAlphaTx = g.txValues.map((tx) => Math.log(alpha + tx));
  const rLnAlpha = r * Math.log(alpha);
  const lnA = Math.log(a);
  let total = 0;
  for (let i = 0; i < g.x.length; i++) {
    const x = g.x[i]!;
    const k = g.xIndex[i]!;
    const common = lnGammaRX[k]! - lnGammaR + rLnAlpha + lnBetaABX1[k]! - lnBetaAB;
    const lnAlphaTi = lnAlphaT[g.TIndex[i]!]!;
    const stillAlive = -(r + x) * lnAlphaTi;
    const deadOdds = lnA - lnBX[k]! + (r + x) * (lnAlphaTi - lnAlphaTx[g.txIndex[i]!]!);
    const log1pExp = deadOdds > 0 ? deadOdds + Math.log1p(Math.exp(-deadOdds)) : Math.log1p(Math.exp(deadOdds));
    total += g.count[i]! * (common + stillAlive + log1pExp);
  }
  return total;
}

/** Total BG/NBD log-likelihood of `data` under `params`. */
export function bgnbdLogLikelihood(params: BgNbdParams, data: readonly RfmSummary[]): number {
  return logLikelihood(params, groupSummaries(data));
}

/**
 * Fits BG/NBD by maximum likelihood: Nelder-Mead over the logs of (r, α, a, b), so every
 * candidate is positive. Throws when `data` is empty or holds an impossible summary.
 */
export function fitBgNbd(
  data: readonly RfmSummary[],
  options: BgNbdFitOptions & { variant?: "mbg"; logPrior?: (logParams: number[]) => number } = {},
): BgNbdFit {
  if (data.length === 0) throw new RangeError("fitBgNbd: no customers");
  const grouped = groupSummaries(data);
  const n = data.length;
  const variant = options.variant ? { variant: options.variant } : {};
  const logPrior = options.logPrior ?? (() => 0);
  const fromLog = (v: number[]): BgNbdParams => ({
    r: Math.exp(v[0]!),
    alpha: Math.exp(v[1]!),
    a: Math.exp(v[2]!),
    b: Math.exp(v[3]!),
    ...variant,
  });
  const s = options.start ?? { r: 1, alpha: 1, a: 1, b: 1 };
  const start = [Math.log(s.r), Math.log(s.alpha), Math.log(s.a), Math.log(s.b)];
  // Minimise the mean negative log-likelihood so the tolerance does not depend on n.
  const result = minimize((v) => -(logLikelihood(fromLog(v), grouped) + logPrior(v)) / n, start, {
    maxEvaluations: options.maxEvaluations ?? 20_000,
    tolerance: 1e-12,
  });
  const params = fromLog(result.x);
  return { params, logLikelihood: logLikelihood(params, grouped), iterations: result.iterations };
}

/** ln of (a / (b + x − 1)) · ((α + T) / (α + tx))^(r + x): the odds that the customer is gone. */
function lnDeadOdds(p: BgNbdParams, x: number, tx: number, T: number): number {
  return Math.log(p.a) - Math.log(p.b + x - 1) + (p.r + x) * (Math.log(p.alpha + T) - Math.log(p.alpha + tx));
}

/**
 * P(alive | x, tx, T): 1 for a customer without repeat purchases (under BG/NBD a customer can
 * only drop out right after a purchase), otherwise 1 / (1 + dead odds).
 */
export function bgnbdPAlive(p: BgNbdParams, x: number, tx: number, T: number): number {
  if (p.variant === "mbg")
    return (
      1 /
      (1 + Math.exp(Math.log(p.a) - Math.log(p.b + x) + (p.r + x) * (Math.log(p.alpha + T) - Math.log(p.alpha + tx))))
    );
  if (x === 0) return 1;
  return 1 / (1 + Math.exp(lnDeadOdds(p, x, tx, T)));
}

/**
 * E[purchases in (T, T + t] | x, tx, T], equation (10) of Fader, Hardie & Lee (2005).
 * Requires a ≠ 1 (the closed form divides by a − 1).
 */
export function bgnbdExpectedPurchases(p: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  return bgnbdExpectedIfAlive(p, t, x, T) * bgnbdPAlive(p, x, tx, T);
}

/**
 * The numerator of equation (10): E[purchases in (T, T + t]] for a customer known to be alive.
 * Times P(alive) it is {@link bgnbdExpectedPurchases}; scoring, which has P(alive) already, asks
 * for both horizons this way instead of working out P(alive) three times.
 */
export function bgnbdExpectedIfAlive(p: BgNbdParams, t: number, x: number, T: number): number {
  if (t <= 0) return 0;
  const { r, alpha, a, b } = p;
  const z = t / (alpha + T + t);
  const ratio = Math.exp((r + x) * (Math.log(alpha + T) - Math.log(alpha + T + t)));
  if (p.variant === "mbg") return ((a + b + x) / (a - 1)) * (1 - ratio * hyp2f1(r + x, b + x + 1, a + b + x, z));
  return ((a + b + x - 1) / (a - 1)) * (1 - ratio * hyp2f1(r + x, b + x, a + b + x - 1, z));
}

/** E[X(t)]: expected purchases in (0, t] for a customer just acquired at time 0 (equation 9). */
export function bgnbdUnconditionalExpected(p: BgNbdParams, t: number): number {
  if (t <= 0) return 0;
  const { r, alpha, a, b } = p;
  const ratio = Math.pow(alpha / (alpha + t), r);
  return ((a + b - 1) / (a - 1)) * (1 - ratio * hyp2f1(r, b, a + b - 1, t / (alpha + t)));
}

/** How a BG/NBD fit was made, and whether maximum likelihood degenerated. */
export interface BgNbdDiagnosis {
  /**
   * "mle": BG/NBD by maximum likelihood; "mbgnbd": the modified BG/NBD by maximum likelihood,
   * used when BG/NBD degenerates; "mbgnbd-map": the modified BG/NBD with weak priors on a and b,
   * when it degenerates too (see {@link fitBgNbdGuarded}).
   */
  method: "mle" | "mbgnbd" | "mbgnbd-map";
  /** Maximum likelihood ran to the edge (no dropout, or P(alive) the same for everyone). */
  degenerate: boolean;
  /** Why the fit was called degenerate, in words; null when it was not. */
  reason: string | null;
  /** Spread (max − min) of P(alive) over the repeat buyers under the fit used. */
  pAliveSpread: number;
}

/** Weak priors on log a and log b: a mean dropout probability near 1/4 per purchase, wide. */
const LOG_A_PRIOR = { mean: 0, sd: 1.5 };
const LOG_B_PRIOR = { mean: Math.log(3), sd: 1.5 };

function pAliveSpread(p: BgNbdParams, g: GroupedSummaries): number {
  let lo = 1;
  let hi = 0;
  for (let i = 0; i < g.x.length; i++) {
    if (g.x[i]! === 0) continue;
    const v = bgnbdPAlive(p, g.x[i]!, g.tx[i]!, g.T[i]!);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi >= lo ? hi - lo : 0;
}

/**
 * The log-likelihood of the no-dropout limit (a → 0: every customer stays and buys at their own
 * Poisson rate, the NBD), maximised over r and α. BG/NBD and its modified form both reduce to it,
 * so it is what their two dropout parameters must beat.
 */
function noDropoutLogLikelihood(g: GroupedSummaries, start: { r: number; alpha: number }): number {
  const ll = (v: number[]): number => {
    const r = Math.exp(v[0]!);
    const alpha = Math.exp(v[1]!);
    const lnGammaR = lnGamma(r);
    const lnGammaRX = g.xValues.map((x) => lnGamma(r + x));
    const lnAlphaT = g.TValues.map((T) => Math.log(alpha + T));
    const lnAlpha = Math.log(alpha);
    let total = 0;
    for (let i = 0; i < g.x.length; i++) {
      total +=
        g.count[i]! * (lnGammaRX[g.xIndex[i]!]! - lnGammaR + r * lnAlpha - (r + g.x[i]!) * lnAlphaT[g.TIndex[i]!]!);
    }
    return total;
  };
  let n = 0;
  for (let i = 0; i < g.count.length; i++) n += g.count[i]!;
  const result = minimize((v) => -ll(v) / n, [Math.log(start.r), Math.log(start.alpha)], { tolerance: 1e-12 });
  return ll(result.x);
}

/**
 * Why a fit is degenerate, or null. Dropout is believed only when the data show it: the fit's
 * log-likelihood must beat the no-dropout limit by more than ln n, Schwarz's criterion (BIC) for
 * its two extra parameters. That holds whatever the store's size or the parameters' scale; short
 * of it, the dropout parameters are where the optimiser stopped on a flat ridge (a → 0, b → ∞,
 * or a + b → 0), and the P(alive) they give ranks noise.
 */
function degeneracy(p: BgNbdParams, gain: number, n: number, spread: number): string | null {
  if (!(gain > Math.log(n)))
    return `no dropout shown by the data: allowing it raises the log-likelihood by ${gain.toFixed(2)}, not more than ln n = ${Math.log(n).toFixed(2)} (a ${p.a.toPrecision(3)}, b ${p.b.toPrecision(3)} are where the optimiser stopped)`;
  if (spread < 0.02) return `P(alive) nearly constant across repeat buyers (spread ${spread.toFixed(4)})`;
  return null;
}

/**
 * Fits BG/NBD by maximum likelihood, and when that fit is degenerate (a → 0 or b → ∞: nobody
 * ever drops out, so P(alive) is 1 for everyone and ranks nothing) fits the modified BG/NBD
 * instead, whose customers may leave right after their first purchase; if that degenerates too,
 * it adds weak log-normal priors on a and b (maximum a posteriori, as PyMC-Marketing puts
 * priors on them). The diagnosis says which fit is returned and why.
 */
export function fitBgNbdGuarded(
  data: readonly RfmSummary[],
  options: BgNbdFitOptions = {},
): BgNbdFit & { diagnosis: BgNbdDiagnosis } {
  const mle = fitBgNbd(data, options);
  const grouped = groupSummaries(data);
  const mleSpread = pAliveSpread(mle.params, grouped);
  const hasRepeatBuyers = grouped.x.some((x) => x > 0);
  if (!hasRepeatBuyers)
    return { ...mle, diagnosis: { method: "mle", degenerate: false, reason: null, pAliveSpread: mleSpread } };
  const n = data.length;
  const noDropout = noDropoutLogLikelihood(grouped, mle.params);
  const reason = degeneracy(mle.params, mle.logLikelihood - noDropout, n, mleSpread);
  if (!reason)
    return { ...mle, diagnosis: { method: "mle", degenerate: false, reason: null, pAliveSpread: mleSpread } };
  const start = { r: mle.params.r, alpha: mle.params.alpha, a: 1, b: 3 };
  // The refits start near the answer and stop sooner: a degenerate ridge is flat, and running
  // Nelder-Mead along it to the full budget buys nothing.
  const refit = { ...options, start, maxEvaluations: Math.min(options.maxEvaluations ?? 20_000, 4_000) };
  const mbg = fitBgNbd(data, { ...refit, variant: "mbg" });
  const mbgSpread = pAliveSpread(mbg.params, grouped);
  if (!degeneracy(mbg.params, mbg.logLikelihood - noDropout, n, mbgSpread))
    return { ...mbg, diagnosis: { method: "mbgnbd", degenerate: true, reason, pAliveSpread: mbgSpread } };
  const logPrior = (v: number[]) =>
    -(((v[2]! - LOG_A_PRIOR.mean) / LOG_A_PRIOR.sd) ** 2) / 2 - ((v[3]! - LOG_B_PRIOR.mean) / LOG_B_PRIOR.sd) ** 2 / 2;
  const map = fitBgNbd(data, { ...refit, variant: "mbg", logPrior });
  return {
    ...map,
    iterations: mle.iterations + mbg.iterations + map.iterations,
    diagnosis: { method: "mbgnbd-map", degenerate: true, reason, pAliveSpread: pAliveSpread(map.params, grouped) },
  };
}
