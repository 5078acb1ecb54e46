// Trains the churn model. The candidates (logistic regression, gradient-boosted trees) are
// backtested out of time at several past cut-offs (backtest.ts); the best by mean AUC (ties to
// the simpler) is refitted on the latest labelled history (features as of `asOf - horizonDays`,
// label 1 = no purchase in the following `horizonDays`), calibrated on the latest backtest's
// out-of-time predictions, stored with its backtest figures, and made active only if it beats
// the active model on the same backtest (or when forced).
import type { Logger } from "pino";
import type { Database } from "../db/client";
import { err, ok, type Result } from "../result";
import {
  BacktestCache,
  backtestAt,
  backtestCutoffs,
  fitCandidates,
  paramsFor,
  purchaseSpan,
  storedModelAuc,
  type BacktestDetail,
  type BacktestWindow,
} from "./backtest";
import { CHURN_MODEL_VERSION, storedModel, type ChurnModelParams } from "./churn-model";
import type { AttributeFeature } from "./features";
import type { BgNbdDiagnosis } from "./models/bgnbd";
import { fitPlatt } from "./models/calibration";
import { chooseModel, MODEL_KINDS, type ModelKind } from "./models/candidates";
import { calibrationTable, type CalibrationBin } from "./models/evaluation";

export interface TrainOptions {
  /** The last moment of known history; the final model's cut-off is `asOf - horizonDays`. */
  asOf: Date;
  horizonDays: number;
  log: Logger;
  now: () => Date;
  /** At most this many customers train each model (a reproducible sample). Default 10,000. */
  maxTrainRows?: number;
  /** Activate the new model even if the active one does better on the backtest. */
  force?: boolean;
  seed?: number;
  /** Fit this candidate whatever the backtest would choose (benchmarks, a manager's override). */
  model?: ModelKind;
}

export interface ChurnModelMetrics {
  /** The chosen candidate's mean out-of-time AUC over the backtest windows (null without one). */
  auc: number | null;
  /** Customers judged in the latest backtest window. */
  heldOut: number;
  /** Customers the final model was trained on. */
  trainRows: number;
  positives: number;
  /** Churn rate among the final model's training customers. */
  churnRate: number;
  /** AUC of BG/NBD expected purchases alone in the latest backtest window (null without one). */
  bgnbdAuc: number | null;
  /** Latest backtest window, deciles of the calibrated probability. */
  calibration: CalibrationBin[];
  chosen: ModelKind;
  /** Every candidate's mean out-of-time AUC. */
  models: Partial<Record<ModelKind, { auc: number }>>;
  backtest: BacktestWindow[];
  /** How BG/NBD was fitted for the model's P(alive) and expected purchases. */
  bgnbd: BgNbdDiagnosis;
  /** The comparison with the model that was active, and whether this one was activated. */
  activation: { activated: boolean; previousModelId: number | null; previousAuc: number | null; why: string };
  notes: string[];
}

export interface TrainedChurnModel {
  modelId: number;
  params: ChurnModelParams;
  features: string[];
  metrics: ChurnModelMetrics;
  trainingMs: number;
  cutoff: Date;
  activated: boolean;
}

export type TrainError = { type: "not_enough_data"; message: string };

const DAY_MS = 86_400_000;
const mean = (values: readonly number[]) => values.reduce((s, v) => s + v, 0) / values.length;

/**
 * Backtests the candidates, fits the chosen one on the latest labelled history with BG/NBD and
 * Gamma-Gamma, and stores it (previous models are kept). Returns `not_enough_data` when the
 * history cannot give both labels at the final cut-off.
 */
export async function trainChurnModel(
  db: Database,
  options: TrainOptions,
): Promise<Result<TrainedChurnModel, TrainError>> {
  const started = performance.now();
  const { asOf, horizonDays, log } = options;
  const seed = options.seed ?? 1;
  const maxTrainRows = options.maxTrainRows ?? 10_000;
  const cutoff = new Date(asOf.getTime() - horizonDays * DAY_MS);
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const notes: string[] = [];
  // Customer attributes are stored as of today only: at a past cut-off they would tell the
  // model things the customer had not yet said, so they stay out of training.
  const attributeSpec: AttributeFeature[] = [];
  notes.push("customer attributes are kept as of today only, so they are left out of models trained at a past cut-off");

  const span = await purchaseSpan(db);
  if (!span) return err({ type: "not_enough_data", message: "no purchases in the store" });

  // Oldest window first: its judging point is the next window's training point, and the latest
  // window's judging point is the final model's, so the cache reads each cut-off once.
  const cache = new BacktestCache(db, horizonDays, attributeSpec);
  const cutoffs = backtestCutoffs(asOf, horizonDays, span.first);
  const byCutoff = new Map<number, BacktestDetail>();
  for (const at of [...cutoffs].sort((a, b) => a.getTime() - b.getTime())) {
    const result = await backtestAt(db, { cutoff: at, horizonDays, seed, maxTrainRows, historyEnd: asOf, cache });
    if (result.ok) byCutoff.set(at.getTime(), result.value);
    else notes.push(`no backtest at ${day(at)}: ${result.error.message}`);
  }
  // Latest first, as before (windows[0] is the latest window).
  const windows = cutoffs.flatMap((at) => byCutoff.get(at.getTime()) ?? []);
  const meanAuc: Partial<Record<ModelKind, { auc: number }>> = {};
  for (const kind of MODEL_KINDS)
    if (windows.length) meanAuc[kind] = { auc: mean(windows.map((w) => w.window.models[kind].auc)) };
  const chosen: ModelKind = options.model
    ? options.model
    : windows.length
      ? chooseModel(Object.fromEntries(MODEL_KINDS.map((k) => [k, meanAuc[k]!.auc])))
      : "logistic";
  if (!windows.length)
    notes.push(
      `the history (${day(span.first)} .. ${day(span.last)}) is shorter than two ${horizonDays}-day horizons: no out-of-time backtest, the simpler model is used uncalibrated`,
    );

  const training = await cache.labelled(cutoff, { max: maxTrainRows, seed });
  const positives = training.labels.reduce((s, v) => s + v, 0);
  if (training.sampled)
    notes.push(
      `the final model trained on a sample of ${training.rows.length} customers drawn in SQL (at most ${maxTrainRows})`,
    );
  if (training.rows.length < 20)
    return err({
      type: "not_enough_data",
      message: `only ${training.rows.length} customers before the cut-off ${day(cutoff)}`,
    });
  if (positives === 0 || positives === training.rows.length)
    return err({
      type: "not_enough_data",
      message: `every customer has the same label (${positives} of ${training.rows.length} churned) between the cut-off and ${day(asOf)}`,
    });
  let fit;
  try {
    fit = fitCandidates(training, { horizonDays, attributeSpec, seed, maxTrainRows }, cache);
  } catch (error) {
    if (error instanceof RangeError) return err({ type: "not_enough_data", message: error.message });
    throw error;
  }
  const latest = windows[0];
  const params = paramsFor(fit, chosen, horizonDays, attributeSpec);
  params.calibration = latest ? fitPlatt(latest.logOdds[chosen], latest.labels) : null;

  // The comparison: the active model on the latest backtest's customers, unless it was trained
  // on labels from that window (then its own recipe, refitted in the backtest, stands for it).
  const active = await activeChurnModel(db);
  let previousAuc: number | null = null;
  let why: string;
  const newAuc = latest ? latest.window.models[chosen].auc : null;
  if (!active) why = "no model was active";
  else if (!latest || newAuc === null) why = "no backtest to compare on: the new model replaces the active one";
  else {
    const activeRow = await db.prisma.trainedModel.findUnique({ where: { id: active.id }, select: { trainTo: true } });
    const sawWindow =
      !activeRow?.trainTo || activeRow.trainTo.getTime() + horizonDays * DAY_MS > latest.judged.at.getTime();
    const activeKind = storedModel(active.params).kind;
    previousAuc = sawWindow ? latest.window.models[activeKind].auc : storedModelAuc(active.params, latest.judged);
    why = sawWindow
      ? `the active model (${activeKind}) saw labels of the latest backtest window, so its recipe refitted there stands for it`
      : "the active model scored on the latest backtest window";
  }
  const activated = options.force === true || previousAuc === null || (newAuc ?? 0) >= previousAuc;
  if (options.force && previousAuc !== null && (newAuc ?? 0) < previousAuc) why += "; activated anyway (--force)";

  const calibrationTableOf = latest
    ? (() => {
        const c = params.calibration!;
        const probs = latest.logOdds[chosen].map((z) => 1 / (1 + Math.exp(-(c.a * z + c.b))));
        return { probs, labels: latest.labels };
      })()
    : null;
  const metrics: ChurnModelMetrics = {
    auc: meanAuc[chosen]?.auc ?? null,
    heldOut: latest?.window.customers ?? 0,
    trainRows: fit.trainRows,
    positives,
    churnRate: positives / training.rows.length,
    bgnbdAuc: latest?.window.baselines.bgnbd.auc ?? null,
    calibration: calibrationTableOf ? calibrationTable(calibrationTableOf.probs, calibrationTableOf.labels, 10) : [],
    chosen,
    models: meanAuc,
    backtest: windows.map((w) => w.window),
    bgnbd: fit.latent.diagnosis,
    activation: { activated, previousModelId: active?.id ?? null, previousAuc, why },
    notes,
  };
  const trainingMs = Math.round(performance.now() - started);
  const createdAt = options.now();
  const names = fit.features;
  const model = storedModel(params);

  const modelId = await db.prisma.$transaction(async (tx) => {
    if (activated)
      await tx.trainedModel.updateMany({
        where: { active: true, kind: { in: ["logistic", "bgnbd", "gamma_gamma"] } },
        data: { active: false },
      });
    const common = { trainFrom: span.first, trainTo: cutoff, horizonDays, active: activated, createdAt };
    const stored = await tx.trainedModel.create({
      data: {
        ...common,
        kind: "logistic",
        version: CHURN_MODEL_VERSION,
        params: JSON.parse(JSON.stringify(params)),
        features: names,
        normalization: model.kind === "logistic" ? { mean: model.logistic.mean, sd: model.logistic.sd } : {},
        metrics: JSON.parse(JSON.stringify(metrics)),
        trainingMs,
      },
    });
    await tx.trainedModel.create({
      data: {
        ...common,
        kind: "bgnbd",
        version: fit.latent.bgnbd.variant === "mbg" ? "mbgnbd-days-v1" : "bgnbd-days-v1",
        params: { ...fit.latent.bgnbd, timeUnit: "day" },
        metrics: JSON.parse(JSON.stringify({ customers: training.rows.length, diagnosis: fit.latent.diagnosis })),
      },
    });
    if (fit.latent.gammaGamma)
      await tx.trainedModel.create({
        data: {
          ...common,
          kind: "gamma_gamma",
          version: "gamma-gamma-v1",
          params: { ...fit.latent.gammaGamma },
          metrics: { customers: training.rows.length },
        },
      });
    return stored.id;
  });
  log.info(
    {
      modelId,
      chosen,
      auc: metrics.auc,
      windows: windows.length,
      activated,
      bgnbd: fit.latent.diagnosis.method,
      featureReads: cache.counts.reads,
      bgnbdFits: cache.counts.latentFits,
      trainingMs,
    },
    "churn model trained",
  );
  return ok({ modelId, params, features: names, metrics, trainingMs, cutoff, activated });
}

/** The active churn model, or null before the first training. */
export async function activeChurnModel(
  db: Database,
): Promise<{ id: number; params: ChurnModelParams; features: string[]; metrics: ChurnModelMetrics } | null> {
  const row = await db.prisma.trainedModel.findFirst({
    where: { kind: "logistic", active: true },
    orderBy: { id: "desc" },
  });
  if (!row) return null;
  const params = row.params as unknown as ChurnModelParams;
  if (params?.version !== CHURN_MODEL_VERSION || !(params.logistic || params.gbt)) return null;
  return {
    id: row.id,
    params,
    features: row.features as string[],
    metrics: row.metrics as unknown as ChurnModelMetrics,
  };
}
