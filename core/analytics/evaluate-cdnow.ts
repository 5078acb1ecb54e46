// Evaluation on CDNOW: BG/NBD and Gamma-Gamma on the 39-week calibration period, and the
// supervised churn model (label: no purchase in the 39-week holdout) by 5-fold cross-validation.
// BG/NBD quantities used as features come from a BG/NBD fitted on the training folds only.
import {
  cdnowCalibration,
  dayNumber,
  impliedSignupDays,
  PAPER_PERIODS,
  readCdnow,
  type CdnowCustomer,
  type CdnowPeriods,
} from "./cdnow";
import { bgnbdExpectedPurchases, bgnbdPAlive, fitBgNbd, type BgNbdParams } from "./models/bgnbd";
import { crossValidateLogistic } from "./models/cross-validate";
import { auc, calibrationTable, type CalibrationBin } from "./models/evaluation";
import { fitGammaGamma, type GammaGammaParams } from "./models/gamma-gamma";

export interface CdnowEvaluation {
  file: string;
  customers: number;
  /** Share of customers without any purchase in the holdout period. */
  churnRate: number;
  /** Out-of-sample AUC of the supervised model: mean of the folds' AUCs (as cross_val_score). */
  auc: number;
  /** AUC of all out-of-fold predictions pooled into one ranking. */
  aucPooled: number;
  /** AUC of each fold's held-out customers. */
  aucFolds: number[];
  /** BG/NBD fitted on all customers' calibration data (weeks). */
  bgnbd: BgNbdParams;
  /** Gamma-Gamma fitted on the calibration period's repeat buyers (mean repeat spend). */
  gammaGamma: GammaGammaParams;
  /** AUC of −(BG/NBD expected holdout purchases) as a churn score. */
  bgnbdAuc: number;
  /** Total repeat purchases (customer-days) in the holdout: BG/NBD forecast and actual. */
  holdoutPurchases: { predicted: number; actual: number };
  /** Deciles of the out-of-fold churn probability. */
  calibration: CalibrationBin[];
  /** Training time of the logistic models, all folds. */
  trainingMs: number;
  features: string[];
}

export interface CdnowEvaluationOptions {
  folds?: number;
  seed?: number;
  periods?: CdnowPeriods;
}

/**
 * Strength of the prior on the weights of the churn model ({@link LogisticOptions.priorScale}):
 * the median of the values picked by 5-fold cross-validation inside each training set
 * (4, 8, 8, 12 and 30 on a 0-30 grid; the held-out fold never took part).
 */
export const CDNOW_PRIOR_SCALE = 8;

const HOLDOUT_FEATURES = ["bgnbdLogPAlive", "bgnbdLogExpected", "bgnbdLogOddsNone"] as const;

/**
 * Calibration-period features that do not depend on a fitted model. `signupDay` is the
 * customer's implied sign-up day ({@link impliedSignupDays}); without it the delay is 0.
 */
export function cdnowBaseFeatures(
  c: CdnowCustomer,
  calibrationEnd: number,
  signupDay?: number,
): Record<string, number> {
  const recency = c.T - c.tx;
  const spend = c.dollars.reduce((s, v) => s + v, 0);
  const cds = c.cds.reduce((s, v) => s + v, 0);
  // Dollars per CD: its effect is U-shaped (discount buyers and box-set or import buyers differ).
  const logPrice = Math.log1p(spend / Math.max(cds, 1));
  const signupDelay = signupDay === undefined ? 0 : Math.max(0, c.days[0]! - signupDay);
  const meanGap = c.x > 0 ? c.tx / c.x : 0;
  const since = (days: number): number => c.days.filter((d) => d > calibrationEnd - days).length;
  return {
    logRepeat: Math.log1p(c.x),
    logRecencyWeeks: Math.log1p(recency),
    logAgeWeeks: Math.log1p(c.T),
    logLastPurchaseWeeks: Math.log1p(c.tx),
    logSpend: Math.log1p(spend),
    logMeanSpend: Math.log1p(spend / (c.x + 1)),
    logCds: Math.log1p(cds),
    repeatBuyer: c.x > 0 ? 1 : 0,
    logOverdue: c.x > 0 ? Math.log1p(recency / Math.max(meanGap, 1)) : 0,
    logMeanGapWeeks: Math.log1p(meanGap),
    logPurchases13Weeks: Math.log1p(since(91)),
    logPurchases26Weeks: Math.log1p(since(182)),
    logRate: Math.log1p(c.x / Math.max(c.T, 1)),
    logLastSpend: Math.log1p(c.dollars[c.dollars.length - 1] ?? 0),
    logFirstSpend: Math.log1p(c.dollars[0] ?? 0),
    logRecencySquared: Math.log1p(recency) ** 2,
    recencyShare: recency / Math.max(c.T, 1),
    logPricePerCd: logPrice,
    logPricePerCdSquared: logPrice ** 2,
    logSignupDelayDays: Math.log1p(signupDelay),
    lateFirstPurchase: signupDelay > 3 ? 1 : 0,
    // Several order lines on one day (separate orders or shipments) mark engaged customers.
    logLinesPerPurchase: Math.log(c.lines.reduce((s, v) => s + v, 0) / Math.max(c.days.length, 1)),
    // Whole-dollar amounts ($21.00, $12.00...) are not catalogue prices (.99, .77, .97...):
    // special offers or club items, bought mostly by repeat customers.
    wholeDollarShare: c.wholeDollarLines / Math.max(c.paidLines, 1),
  };
}

/** BG/NBD features for a horizon: log P(alive), log E[purchases], log-odds of no purchase. */
export function bgnbdFeatures(p: BgNbdParams, c: { x: number; tx: number; T: number }, horizon: number): number[] {
  const alive = bgnbdPAlive(p, c.x, c.tx, c.T);
  // Alive customers' purchase rate is Gamma(r + x, α + T) a posteriori: P(no purchase in t) follows.
  const none = 1 - alive + alive * Math.pow((p.alpha + c.T) / (p.alpha + c.T + horizon), p.r + c.x);
  const clipped = Math.min(Math.max(none, 1e-12), 1 - 1e-12);
  return [
    Math.log(alive),
    Math.log(Math.max(bgnbdExpectedPurchases(p, horizon, c.x, c.tx, c.T), 1e-12)),
    Math.log(clipped / (1 - clipped)),
  ];
}

/**
 * Reads a CDNOW file and evaluates the models on it (see {@link CdnowEvaluation}). Throws when
 * the file can't be read or holds no customer acquired in the calibration period.
 */
export async function evaluateCdnow(file: string, options: CdnowEvaluationOptions = {}): Promise<CdnowEvaluation> {
  const periods = options.periods ?? PAPER_PERIODS;
  const k = options.folds ?? 5;
  const customers = cdnowCalibration(await readCdnow(file), periods);
  if (customers.length < k)
    throw new RangeError(`${file}: only ${customers.length} customers in the calibration period`);
  const calibrationEnd = dayNumber(periods.calibrationEnd);
  const horizon = (dayNumber(periods.holdoutEnd) - calibrationEnd) / 7;
  const labels: number[] = customers.map((c) => (c.holdoutPurchases === 0 ? 1 : 0));

  const bgnbd = fitBgNbd(customers).params;
  const gammaGamma = fitGammaGamma(customers.map((c) => ({ x: c.x, m: c.meanRepeatSpend }))).params;
  const expected = customers.map((c) => bgnbdExpectedPurchases(bgnbd, horizon, c.x, c.tx, c.T));

  const signup = impliedSignupDays(customers);
  const base = customers.map((c, i) => cdnowBaseFeatures(c, calibrationEnd, signup[i]));
  const baseNames = Object.keys(base[0]!);
  const features = [...baseNames, ...HOLDOUT_FEATURES];
  const cv = crossValidateLogistic({
    labels,
    features,
    folds: k,
    seed: options.seed ?? 1,
    training: { priorScale: CDNOW_PRIOR_SCALE },
    rowsFor: (train) => {
      // No leakage: the BG/NBD behind the features sees the training customers only.
      const foldBgNbd = fitBgNbd(train.map((i) => customers[i]!)).params;
      return (i) => [...baseNames.map((n) => base[i]![n]!), ...bgnbdFeatures(foldBgNbd, customers[i]!, horizon)];
    },
  });

  return {
    file,
    customers: customers.length,
    churnRate: labels.reduce((s, v) => s + v, 0) / labels.length,
    auc: cv.auc,
    aucPooled: cv.aucPooled,
    aucFolds: cv.aucFolds,
    bgnbd,
    gammaGamma,
    bgnbdAuc: auc(
      expected.map((e) => -e),
      labels,
    ),
    holdoutPurchases: {
      predicted: expected.reduce((s, v) => s + v, 0),
      actual: customers.reduce((s, c) => s + c.holdoutPurchases, 0),
    },
    calibration: calibrationTable(cv.outOfFold, labels, 10),
    trainingMs: cv.trainingMs,
    features,
  };
}
