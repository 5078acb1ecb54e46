// Trains the supervised churn model on a past cut-off: features as of `asOf - horizonDays`,
// label 1 = no purchase in the following `horizonDays`. Evaluated on held-out customers, stored
// in `trained_models` (with the BG/NBD and Gamma-Gamma fits it uses) and made the active model.
import type { Logger } from "pino";
import type { Database } from "../db/client";
import { err, ok, type Result } from "../result";
import { CHURN_MODEL_VERSION, fitLatentModels, latentQuantities, type ChurnModelParams } from "./churn-model";
import { computeFeatures, discoverAttributes } from "./features";
import { featureNames, featureVector } from "./feature-vector";
import { auc, calibrationTable, logLoss, seededRandom } from "./models/evaluation";
import { predictLogistic, trainLogistic } from "./models/logistic";

export interface TrainOptions {
  /** The last moment of known history; the cut-off is `asOf - horizonDays`. */
  asOf: Date;
  horizonDays: number;
  log: Logger;
  now: () => Date;
  /** Share of customers held out for the AUC. Default 0.2. */
  holdoutShare?: number;
  /** At most this many customers train the regression (a reproducible sample). Default 10,000. */
  maxTrainRows?: number;
  /** Gradient steps of the longest training run (the trainer doubles up to it). Default 400. */
  maxSteps?: number;
  seed?: number;
}

export interface ChurnModelMetrics {
  auc: number;
  heldOut: number;
  trainRows: number;
  positives: number;
  /** Churn rate among all labelled customers. */
  churnRate: number;
  logLoss: number;
  /** AUC of BG/NBD alone (minus expected purchases) on the same held-out customers. */
  bgnbdAuc: number;
  calibration: { bin: number; meanPredicted: number; observedRate: number; count: number }[];
}

export interface TrainedChurnModel {
  modelId: number;
  params: ChurnModelParams;
  features: string[];
  metrics: ChurnModelMetrics;
  trainingMs: number;
  cutoff: Date;
}

export type TrainError = { type: "not_enough_data"; message: string };

const DAY_MS = 86_400_000;

/**
 * Builds the training set at the cut-off, fits BG/NBD + Gamma-Gamma there (their P(alive) and
 * expected purchases become features), trains the logistic regression on the customers not
 * held out, and stores everything as the new active model (previous ones deactivated, kept).
 * Returns `not_enough_data` when the history cannot give both labels.
 */
export async function trainChurnModel(
  db: Database,
  options: TrainOptions,
): Promise<Result<TrainedChurnModel, TrainError>> {
  const started = performance.now();
  const { asOf, horizonDays, log } = options;
  const cutoff = new Date(asOf.getTime() - horizonDays * DAY_MS);
  const attributeSpec = await discoverAttributes(db);
  const { rows: all } = await computeFeatures(db, { asOf: cutoff, attributeSpec });
  const rows = all.filter((r) => r.recencyDays !== null || r.tenureDays > 0);
  if (rows.length < 20)
    return err({
      type: "not_enough_data",
      message: `only ${rows.length} customers before the cut-off ${cutoff.toISOString().slice(0, 10)}`,
    });

  const buyersAfter = await db.prisma.$queryRawUnsafe<{ customer_id: number }[]>(
    `SELECT DISTINCT customer_id FROM purchases WHERE purchased_at >= $1::timestamp AND purchased_at < $2::timestamp`,
    cutoff.toISOString(),
    asOf.toISOString(),
  );
  const bought = new Set(buyersAfter.map((r) => r.customer_id));
  const labels = rows.map((r) => (bought.has(r.customerId) ? 0 : 1));
  const positives = labels.reduce<number>((s, v) => s + v, 0);
  if (positives === 0 || positives === rows.length)
    return err({
      type: "not_enough_data",
      message: `every customer has the same label (${positives} of ${rows.length} churned) between the cut-off and ${asOf.toISOString().slice(0, 10)}`,
    });

  let latent;
  try {
    latent = fitLatentModels(rows, options.seed ?? 1);
  } catch (error) {
    return err({ type: "not_enough_data", message: (error as Error).message });
  }
  const names = featureNames(attributeSpec);
  const quantities = rows.map((r) => latentQuantities(latent.bgnbd, r, horizonDays));
  const X = rows.map((r, i) => featureVector(r, quantities[i]!));

  // Hold out customers: stratified by label so both classes are in the test set.
  const random = seededRandom(options.seed ?? 1);
  const holdoutShare = options.holdoutShare ?? 0.2;
  const isHeldOut = labels.map(() => random() < holdoutShare);
  const heldOut = isHeldOut.map((h, i) => (h ? i : -1)).filter((i) => i >= 0);
  const trainIdx = sampleIndices(
    isHeldOut.map((h, i) => (h ? -1 : i)).filter((i) => i >= 0),
    options.maxTrainRows ?? 10_000,
    options.seed ?? 1,
  );
  const heldLabels = heldOut.map((i) => labels[i]!);
  const trainLabels = trainIdx.map((i) => labels[i]!);
  if (new Set(heldLabels).size < 2 || new Set(trainLabels).size < 2)
    return err({ type: "not_enough_data", message: "too few customers of one label to hold some out" });

  const model = trainLogistic(
    trainIdx.map((i) => X[i]!),
    trainLabels,
    // ml-logistic-regression costs rows x features per step: a sample and a step cap keep
    // training within seconds; on separable data more steps only sharpen the probabilities.
    { features: names, maxSteps: options.maxSteps ?? 400 },
  );
  const heldProbs = predictLogistic(
    model,
    heldOut.map((i) => X[i]!),
  );
  const metrics: ChurnModelMetrics = {
    auc: auc(heldProbs, heldLabels),
    heldOut: heldOut.length,
    trainRows: trainIdx.length,
    positives,
    churnRate: positives / rows.length,
    logLoss: logLoss(heldProbs, heldLabels),
    bgnbdAuc: auc(
      heldOut.map((i) => -quantities[i]!.expectedPurchases),
      heldLabels,
    ),
    calibration: calibrationTable(heldProbs, heldLabels, 10),
  };
  const params: ChurnModelParams = {
    version: CHURN_MODEL_VERSION,
    logistic: model,
    ...latent,
    attributeSpec,
    horizonDays,
  };
  const trainingMs = Math.round(performance.now() - started);
  const firstPurchase = await db.prisma.$queryRawUnsafe<{ first: Date | null }[]>(
    `SELECT min(purchased_at) AS first FROM purchases WHERE purchased_at < $1::timestamp`,
    cutoff.toISOString(),
  );
  const trainFrom = firstPurchase[0]?.first ?? null;
  const createdAt = options.now();

  const modelId = await db.prisma.$transaction(async (tx) => {
    await tx.trainedModel.updateMany({
      where: { active: true, kind: { in: ["logistic", "bgnbd", "gamma_gamma"] } },
      data: { active: false },
    });
    const common = { trainFrom, trainTo: cutoff, horizonDays, active: true, createdAt };
    const stored = await tx.trainedModel.create({
      data: {
        ...common,
        kind: "logistic",
        version: CHURN_MODEL_VERSION,
        params: JSON.parse(JSON.stringify(params)),
        features: names,
        normalization: { mean: model.mean, sd: model.sd },
        metrics: JSON.parse(JSON.stringify(metrics)),
        trainingMs,
      },
    });
    await tx.trainedModel.create({
      data: {
        ...common,
        kind: "bgnbd",
        version: "bgnbd-days-v1",
        params: { ...latent.bgnbd, timeUnit: "day" },
        metrics: { customers: rows.length },
      },
    });
    if (latent.gammaGamma)
      await tx.trainedModel.create({
        data: {
          ...common,
          kind: "gamma_gamma",
          version: "gamma-gamma-v1",
          params: { ...latent.gammaGamma },
          metrics: { customers: rows.length },
        },
      });
    return stored.id;
  });
  log.info(
    {
      modelId,
      auc: metrics.auc,
      heldOut: metrics.heldOut,
      trainRows: metrics.trainRows,
      trainingMs,
      steps: model.steps,
    },
    "churn model trained",
  );
  return ok({ modelId, params, features: names, metrics, trainingMs, cutoff });
}

function sampleIndices(indices: number[], max: number, seed: number): number[] {
  if (indices.length <= max) return indices;
  const random = seededRandom(seed + 17);
  const copy = indices.slice();
  for (let i = 0; i < max; i++) {
    const j = i + Math.floor(random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, max).sort((a, b) => a - b);
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
  if (params?.version !== CHURN_MODEL_VERSION) return null;
  return {
    id: row.id,
    params,
    features: row.features as string[],
    metrics: row.metrics as unknown as ChurnModelMetrics,
  };
}
