// Out-of-time backtests on the store's own history. For a cut-off C and horizon H, every
// candidate is trained on the customers as they were at C - H, labelled by whether they bought
// in [C - H, C), then judged on the customers as they were at C, labelled by [C, C + H): no
// label or purchase after C shapes a model, only the judging. Where the history before C is
// shorter than H, an earlier training point T can be given instead of C - H: the training labels
// then cover [T, C), a shorter window than the horizon judged, and still nothing after C. Baselines (recency alone, BG/NBD
// expected purchases, 1 - P(alive), BG/NBD refitted on the history up to C) are judged on the
// same customers.
import type { Database } from "../db/client";
import { applyChurnModel, fitLatentModels, latentQuantities, type ChurnModelParams } from "./churn-model";
import { computeFeatures, sampleCustomerIds, type AttributeFeature, type CustomerFeatures } from "./features";
import { featureNames, featureVector } from "./feature-vector";
import type { BgNbdDiagnosis } from "./models/bgnbd";
import { fitPlatt, type PlattCalibration } from "./models/calibration";
import {
  blendOf,
  chooseModel,
  fitCandidate,
  modelLogOdds,
  MODEL_KINDS,
  type FittedModel,
  type ModelKind,
} from "./models/candidates";
import { auc, calibrationTable, logLoss, seededRandom, type CalibrationBin } from "./models/evaluation";
import { gainsCurve, liftByDecile, type GainsPoint, type LiftDecile } from "./models/ranking";

const DAY_MS = 86_400_000;
const startOfDay = (d: Date) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());

/** Customers as of a moment, with their label over the following horizon. */
export interface LabelledCustomers {
  at: Date;
  rows: CustomerFeatures[];
  /** 1 = no purchase in [at, at + horizon). */
  labels: number[];
  /** True when the customers are a sample drawn in SQL rather than all of them. */
  sampled: boolean;
}

/**
 * Features as of `at` and the label over `[at, at + horizonDays)`. Customers who had neither
 * bought nor signed up by `at` are left out. Only purchases before `at + horizonDays` are read.
 */
export async function labelledCustomersAt(
  db: Database,
  at: Date,
  horizonDays: number,
  attributeSpec: AttributeFeature[] = [],
  sample?: { max: number; seed: number },
): Promise<LabelledCustomers> {
  const ids = sample ? await sampleCustomerIds(db, { asOf: at, max: sample.max, seed: sample.seed }) : null;
  const { rows: all } = await computeFeatures(db, { asOf: at, attributeSpec, ...(ids ? { customerIds: ids } : {}) });
  const rows = all.filter((r) => r.recencyDays !== null || r.tenureDays > 0);
  const end = new Date(at.getTime() + horizonDays * DAY_MS);
  const bought = await boughtBetween(db, at, end, ids ? rows.map((r) => r.customerId) : null);
  return { at, rows, labels: rows.map((r) => (bought.has(r.customerId) ? 0 : 1)), sampled: ids !== null };
}

/**
 * Which customers bought in `[from, to)`: of `customerIds` when given (a sample), else of all.
 * Straight through the driver: the ORM's row conversion cost more than the query (7-9 s against
 * 2-3 s for 615,000 buyers at 1,000,000 customers). A sample probes the (customer, time) index
 * once per customer (0.2 s for 10,000) instead of reading every purchase in the window.
 */
async function boughtBetween(db: Database, from: Date, to: Date, customerIds: number[] | null): Promise<Set<number>> {
  const window = [from.toISOString(), to.toISOString()];
  if (customerIds === null) {
    const rows = await db.queryRows<{ customer_id: number }>(
      `SELECT DISTINCT customer_id FROM purchases WHERE purchased_at >= $1::timestamp AND purchased_at < $2::timestamp`,
      window,
    );
    return new Set(rows.map((r) => Number(r.customer_id)));
  }
  if (customerIds.length === 0) return new Set();
  const rows = await db.queryRows<{ ids: number[] | null }>(
    `SELECT array_agg(c.id) AS ids FROM unnest($3::int[]) AS c(id)
      WHERE EXISTS (SELECT 1 FROM purchases p
                     WHERE p.customer_id = c.id AND p.purchased_at >= $1::timestamp AND p.purchased_at < $2::timestamp)`,
    [...window, customerIds],
  );
  return new Set((rows[0]?.ids ?? []).map(Number));
}

/**
 * What one `train` run reads and fits more than once, kept by cut-off: the backtest windows and
 * the final fit share cut-offs (a window's judging point is the next window's training point, the
 * latest window's judging point is the final model's training point), so each cut-off's features
 * are read once and BG/NBD is fitted once per set of customers. A request for a sample is served
 * by the whole set when that is already read (the candidates then sample it in memory).
 */
export class BacktestCache {
  private readonly sets = new Map<string, Promise<LabelledCustomers>>();
  private readonly latent = new WeakMap<LabelledCustomers, Map<number, ReturnType<typeof fitLatentModels>>>();
  /** Feature reads and BG/NBD fits actually done (for tests and the log). */
  readonly counts = { reads: 0, latentFits: 0 };

  constructor(
    private readonly db: Database,
    private readonly horizonDays: number,
    private readonly attributeSpec: AttributeFeature[],
  ) {}

  /** Every customer at `at` (`sample` null) or a sample of at most `sample.max` drawn in SQL. */
  async labelled(at: Date, sample: { max: number; seed: number } | null): Promise<LabelledCustomers> {
    const full = this.sets.get(`${at.getTime()}`);
    if (full) return full;
    const key = sample ? `${at.getTime()}:${sample.max}:${sample.seed}` : `${at.getTime()}`;
    let set = this.sets.get(key);
    if (!set) {
      this.counts.reads++;
      set = labelledCustomersAt(this.db, at, this.horizonDays, this.attributeSpec, sample ?? undefined);
      this.sets.set(key, set);
    }
    return set;
  }

  /** BG/NBD (+ Gamma-Gamma) fitted on a set's customers, once per set and seed. */
  latentFor(set: LabelledCustomers, seed: number): ReturnType<typeof fitLatentModels> {
    let bySeed = this.latent.get(set);
    if (!bySeed) this.latent.set(set, (bySeed = new Map()));
    let fit = bySeed.get(seed);
    if (!fit) {
      this.counts.latentFits++;
      fit = fitLatentModels(set.rows, seed);
      bySeed.set(seed, fit);
    }
    return fit;
  }
}

/** The first and last purchase in the store, or null without purchases. */
export async function purchaseSpan(db: Database): Promise<{ first: Date; last: Date } | null> {
  const rows = await db.prisma.$queryRawUnsafe<{ first: Date | null; last: Date | null }[]>(
    `SELECT min(purchased_at) AS first, max(purchased_at) AS last FROM purchases`,
  );
  const r = rows[0];
  return r?.first && r.last ? { first: new Date(r.first), last: new Date(r.last) } : null;
}

export interface CandidateFit {
  /** The BG/NBD and Gamma-Gamma fits the model's latent features come from. */
  latent: ReturnType<typeof fitLatentModels>;
  models: Record<ModelKind, FittedModel>;
  features: string[];
  trainRows: number;
}

/**
 * Fits BG/NBD (+ Gamma-Gamma) and every candidate on labelled customers (a reproducible sample
 * of at most `maxTrainRows`). Throws a RangeError when the data cannot train them (one label,
 * no buyer).
 */
export function fitCandidates(
  set: LabelledCustomers,
  options: { horizonDays: number; attributeSpec: AttributeFeature[]; seed: number; maxTrainRows: number },
  cache?: BacktestCache,
): CandidateFit {
  const latent = cache ? cache.latentFor(set, options.seed) : fitLatentModels(set.rows, options.seed);
  const idx = sampleIndices(set.rows.length, options.maxTrainRows, options.seed);
  const X = idx.map((i) =>
    featureVector(set.rows[i]!, latentQuantities(latent.bgnbd, set.rows[i]!, options.horizonDays)),
  );
  const y = idx.map((i) => set.labels[i]!);
  const positives = y.reduce((s, v) => s + v, 0);
  if (positives === 0 || positives === y.length)
    throw new RangeError(
      `every customer at ${set.at.toISOString().slice(0, 10)} has the same label (${positives} of ${y.length} churned)`,
    );
  const features = featureNames(options.attributeSpec);
  const models = {} as Record<ModelKind, FittedModel>;
  // The blend is the mean of the other two: fitted once each, not again for it.
  for (const kind of MODEL_KINDS)
    models[kind] =
      kind === "blend"
        ? blendOf(models.logistic, models.gbt)
        : fitCandidate(kind, X, y, { features, seed: options.seed });
  return { latent, models, features, trainRows: idx.length };
}

function sampleIndices(n: number, max: number, seed: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (n <= max) return all;
  const random = seededRandom(seed + 17);
  for (let i = 0; i < max; i++) {
    const j = i + Math.floor(random() * (n - i));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, max).sort((a, b) => a - b);
}

/** Stored-model parameters for a fitted candidate (no calibration yet). */
export function paramsFor(
  fit: CandidateFit,
  kind: ModelKind,
  horizonDays: number,
  attributeSpec: AttributeFeature[],
): ChurnModelParams {
  const model = fit.models[kind];
  return {
    version: "churn-logistic-v1",
    model: kind,
    ...(model.kind === "logistic" ? { logistic: model.logistic } : {}),
    ...(model.kind === "gbt" ? { gbt: model.gbt } : {}),
    ...(model.kind === "blend" ? { logistic: model.logistic, gbt: model.gbt } : {}),
    calibration: null,
    bgnbd: fit.latent.bgnbd,
    gammaGamma: fit.latent.gammaGamma,
    attributeSpec,
    horizonDays,
  };
}

export interface BacktestWindow {
  cutoff: string;
  horizonDays: number;
  /** When the training customers were taken (the cut-off minus the horizon unless given). */
  trainAt: string;
  /** Days of the training label window, [trainAt, cutoff): the horizon unless `trainAt` was given. */
  trainLabelDays: number;
  /** Customers judged (as of the cut-off). */
  customers: number;
  churnRate: number;
  trainRows: number;
  chosen: ModelKind;
  /** The chosen candidate's out-of-time AUC. */
  auc: number;
  models: Record<ModelKind, { auc: number; logLoss: number }>;
  baselines: { recency: { auc: number }; bgnbd: { auc: number }; palive: { auc: number } };
  /** How BG/NBD was fitted on the history up to the cut-off. */
  bgnbd: BgNbdDiagnosis;
  /** Deciles of the chosen model's calibrated probability (calibrated on this window). */
  calibration: CalibrationBin[];
  lift: LiftDecile[];
  /** Cumulative gains of the chosen model and of the baselines (share of churners reached). */
  gains: Record<string, GainsPoint[]>;
}

export interface BacktestDetail {
  window: BacktestWindow;
  /** Each candidate's log-odds for the judged customers (same order as `labels`). */
  logOdds: Record<ModelKind, number[]>;
  labels: number[];
  judged: LabelledCustomers;
  /** Platt scaling of the chosen candidate fitted on this window's out-of-time log-odds. */
  calibration: PlattCalibration;
}

export type BacktestError = { type: "not_enough_data"; message: string };

/**
 * One out-of-time backtest at `cutoff`. Returns `not_enough_data` (a value) when the history
 * cannot give both labels at either end or the horizon after the cut-off is not yet over.
 */
export async function backtestAt(
  db: Database,
  options: {
    cutoff: Date;
    horizonDays: number;
    seed?: number;
    maxTrainRows?: number;
    /** The end of known history (default: the day after the last purchase). */
    historyEnd?: Date;
    /**
     * Train on the customers as of this moment, labelled by [trainAt, cutoff) (default: the
     * cut-off minus the horizon). Must fall after the first purchase and before the cut-off.
     */
    trainAt?: Date;
    /** Shares feature reads and BG/NBD fits with other windows of the same run. */
    cache?: BacktestCache;
  },
): Promise<{ ok: true; value: BacktestDetail } | { ok: false; error: BacktestError }> {
  const { cutoff, horizonDays } = options;
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const span = await purchaseSpan(db);
  if (!span) return { ok: false, error: { type: "not_enough_data", message: "no purchases in the store" } };
  const horizonEnd = new Date(cutoff.getTime() + horizonDays * DAY_MS);
  const historyEnd = options.historyEnd ?? new Date(startOfDay(span.last) + DAY_MS);
  if (horizonEnd.getTime() > historyEnd.getTime())
    return {
      ok: false,
      error: {
        type: "not_enough_data",
        message: `the ${horizonDays}-day horizon after ${day(cutoff)} ends ${day(horizonEnd)}, after the known history (last purchase ${day(span.last)}): pick an earlier --cutoff or a shorter --horizon`,
      },
    };
  const trainAt = options.trainAt ?? new Date(cutoff.getTime() - horizonDays * DAY_MS);
  if (trainAt.getTime() >= cutoff.getTime())
    return {
      ok: false,
      error: {
        type: "not_enough_data",
        message: `training at ${day(trainAt)} is not before the cut-off ${day(cutoff)}: the training labels need the days between them`,
      },
    };
  if (trainAt.getTime() <= span.first.getTime())
    return {
      ok: false,
      error: {
        type: "not_enough_data",
        message: options.trainAt
          ? `training at ${day(trainAt)} comes at or before the first purchase (${day(span.first)}): pick a later --train-at`
          : `training at ${day(trainAt)} (cut-off minus the horizon) comes at or before the first purchase (${day(span.first)}): pick a later --cutoff, a shorter --horizon, or train on a shorter label window with --train-at (a day between the first purchase and the cut-off)`,
      },
    };
  const trainLabelDays = Math.round((cutoff.getTime() - trainAt.getTime()) / DAY_MS);
  // Customer attributes are stored as of today only: a model trained at a past cut-off would
  // learn from values the customer did not have then, so backtests leave them out.
  const attributeSpec: AttributeFeature[] = [];
  const seed = options.seed ?? 1;
  const maxTrainRows = options.maxTrainRows ?? 10_000;
  const cache = options.cache ?? new BacktestCache(db, horizonDays, attributeSpec);
  // A training point of its own labels its customers over [trainAt, cutoff), not the horizon.
  const trainingCache = trainLabelDays === horizonDays ? cache : new BacktestCache(db, trainLabelDays, attributeSpec);
  // Judged: every customer at the cut-off. Training: a sample drawn in SQL (or the whole set
  // when another window already read it).
  const judged = await cache.labelled(cutoff, null);
  const training = await trainingCache.labelled(trainAt, { max: maxTrainRows, seed });
  const positives = judged.labels.reduce((s, v) => s + v, 0);
  if (judged.rows.length < 20 || positives === 0 || positives === judged.rows.length)
    return {
      ok: false,
      error: {
        type: "not_enough_data",
        message: `${judged.rows.length} customers at ${day(cutoff)}, ${positives} of them without a purchase in the horizon: both labels are needed`,
      },
    };
  let fit: CandidateFit;
  let atCutoff: ReturnType<typeof fitLatentModels>;
  try {
    // The BG/NBD features keep the judged horizon, so a feature means the same when training and judging.
    fit = fitCandidates(training, { horizonDays, attributeSpec, seed, maxTrainRows }, trainingCache);
    atCutoff = cache.latentFor(judged, seed);
  } catch (error) {
    if (error instanceof RangeError) return { ok: false, error: { type: "not_enough_data", message: error.message } };
    throw error;
  }
  const labels = judged.labels;
  const X = judged.rows.map((r) => featureVector(r, latentQuantities(fit.latent.bgnbd, r, horizonDays)));
  const logOdds = {} as Record<ModelKind, number[]>;
  const models = {} as BacktestWindow["models"];
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  for (const kind of MODEL_KINDS) {
    logOdds[kind] = X.map((row) => modelLogOdds(fit.models[kind], row));
    models[kind] = {
      auc: auc(logOdds[kind], labels),
      logLoss: logLoss(logOdds[kind].map(sigmoid), labels),
    };
  }
  const chosen = chooseModel(Object.fromEntries(MODEL_KINDS.map((k) => [k, models[k].auc])));
  const calibration = fitPlatt(logOdds[chosen], labels);
  const calibrated = logOdds[chosen].map((z) => sigmoid(calibration.a * z + calibration.b));
  const latentAtCutoff = judged.rows.map((r) => latentQuantities(atCutoff.bgnbd, r, horizonDays));
  const recency = judged.rows.map((r) => r.recencyDays ?? r.tenureDays);
  const bgnbdScore = latentAtCutoff.map((q) => -q.expectedPurchases);
  const paliveScore = latentAtCutoff.map((q) => 1 - q.pAlive);
  const window: BacktestWindow = {
    cutoff: day(cutoff),
    horizonDays,
    trainAt: day(trainAt),
    trainLabelDays,
    customers: judged.rows.length,
    churnRate: positives / judged.rows.length,
    trainRows: fit.trainRows,
    chosen,
    auc: models[chosen].auc,
    models,
    baselines: {
      recency: {
        auc: auc(
          judged.rows.map((r) => r.recencyDays ?? r.tenureDays),
          labels,
        ),
      },
      bgnbd: {
        auc: auc(
          latentAtCutoff.map((q) => -q.expectedPurchases),
          labels,
        ),
      },
      palive: {
        auc: auc(
          latentAtCutoff.map((q) => 1 - q.pAlive),
          labels,
        ),
      },
    },
    bgnbd: atCutoff.diagnosis,
    calibration: calibrationTable(calibrated, labels, 10),
    lift: liftByDecile(calibrated, labels),
    gains: {
      [chosen]: gainsCurve(calibrated, labels),
      recency: gainsCurve(recency, labels),
      bgnbd: gainsCurve(bgnbdScore, labels),
      palive: gainsCurve(paliveScore, labels),
    },
  };
  return { ok: true, value: { window, logOdds, labels, judged, calibration } };
}

/** AUC of a stored model on a backtest's judged customers (its own BG/NBD and attributes). */
export function storedModelAuc(params: ChurnModelParams, judged: LabelledCustomers): number {
  if (params.attributeSpec.length > 0) {
    // The judged customers carry no attribute values: an attribute model sees them as zeros.
    const zeros = new Array<number>(params.attributeSpec.length).fill(0);
    return auc(
      judged.rows.map((r) => applyChurnModel(params, { ...r, attributes: zeros }).churnProbability),
      judged.labels,
    );
  }
  return auc(
    judged.rows.map((r) => applyChurnModel(params, r).churnProbability),
    judged.labels,
  );
}

/**
 * `retention evaluate backtest`: one out-of-time backtest at `cutoff` (default: the latest
 * whose horizon is over, i.e. the last purchase day minus the horizon).
 */
export async function evaluateBacktest(
  db: Database,
  options: { cutoff?: Date; horizonDays: number; seed?: number; maxTrainRows?: number; trainAt?: Date },
): Promise<{ ok: true; value: BacktestWindow } | { ok: false; error: BacktestError }> {
  let cutoff = options.cutoff;
  if (!cutoff) {
    const span = await purchaseSpan(db);
    if (!span) return { ok: false, error: { type: "not_enough_data", message: "no purchases in the store" } };
    cutoff = new Date(startOfDay(span.last) + DAY_MS - options.horizonDays * DAY_MS);
  }
  const result = await backtestAt(db, { ...options, cutoff });
  return result.ok ? { ok: true, value: result.value.window } : result;
}

/**
 * The backtest cut-offs for history ending at `asOf`: the latest one (`asOf - horizon`), the
 * same season a year earlier, and one horizon earlier still, each kept only when its training
 * point (cut-off minus the horizon) falls after the first purchase.
 */
export function backtestCutoffs(asOf: Date, horizonDays: number, firstPurchase: Date): Date[] {
  const latest = new Date(asOf.getTime() - horizonDays * DAY_MS);
  const candidates = [
    latest,
    new Date(Date.UTC(latest.getUTCFullYear() - 1, latest.getUTCMonth(), latest.getUTCDate())),
    new Date(latest.getTime() - horizonDays * DAY_MS),
  ];
  const out: Date[] = [];
  for (const c of candidates) {
    const trainAt = c.getTime() - horizonDays * DAY_MS;
    if (
      trainAt > firstPurchase.getTime() + 30 * DAY_MS &&
      !out.some((d) => Math.abs(d.getTime() - c.getTime()) < 30 * DAY_MS)
    )
      out.push(c);
  }
  return out;
}
