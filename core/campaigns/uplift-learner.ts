// Uplift per customer over the scoring features: a two-model learner (T-learner). One logistic
// model of P(retained | features) is fitted on the treated customers of finished campaigns, one
// on their control customers, both over the feature vector churn scoring uses (feature-vector.ts,
// computed as of each campaign's start, so nothing the campaign caused leaks in); a customer's
// uplift is the difference of the two. Standardisation (and, without a churn model, the BG/NBD
// fit behind p_alive and expected purchases) is fitted on the training rows only.
//
// How much planning trusts it: the learner is scored by the Qini coefficient on held-out
// campaign data (5-fold cross-fitting by customer: each customer's campaigns in one fold, the
// out-of-fold rankings pooled); when that is not above zero its weight is 0 and planning keeps
// the segment x risk band cells. Otherwise a customer's uplift is w x learner + (1 - w) x cell
// with w = n / (n + k), n the training data's effective size 1 / (1/treated + 1/control) and k
// the shrinkage in pseudo-customers (UPLIFT_LEARNER_SHRINKAGE): thin data leans on the cells.
// The columns are the active churn model's (which leaves customer attributes out: they are stored
// as of today only); without one, the scoring fallback's (the attributes discovered in the store).
import { z } from "zod";
import { fitLatentModels, latentQuantities } from "../analytics/churn-model";
import {
  computeFeatures,
  discoverAttributes,
  featureBatches,
  type AttributeFeature,
  type CustomerFeatures,
} from "../analytics/features";
import { BASE_FEATURES, featureNames, writeFeatureVector } from "../analytics/feature-vector";
import { linearScore, trainLogistic } from "../analytics/models/logistic";
import { activeChurnModel } from "../analytics/training";
import { qiniAucScore } from "../analytics/uplift-metrics";
import type { Database } from "../db/client";

/** Horizon of the BG/NBD quantities when no churn model is stored to take it from. */
const DEFAULT_HORIZON_DAYS = 90;

const logisticSchema = z.object({
  features: z.array(z.string()).optional(),
  mean: z.array(z.number()),
  sd: z.array(z.number()),
  weights: z.array(z.number()),
  steps: z.number(),
  trainingMs: z.number(),
  finalLoss: z.number(),
});

/** One arm's outcome model: a logistic model, or a constant rate where the arm's outcome never varied. */
const armSchema = z.union([
  z.object({ kind: z.literal("logistic"), model: logisticSchema }),
  z.object({ kind: z.literal("rate"), rate: z.number() }),
]);
type ArmModel = z.infer<typeof armSchema>;

export const upliftLearnerSchema = z.object({
  kind: z.literal("t-learner"),
  features: z.array(z.string()),
  /** How the feature vector is built: the attribute columns and the BG/NBD parameters (days). */
  attributeSpec: z.array(z.any()),
  bgnbd: z.object({ r: z.number(), alpha: z.number(), a: z.number(), b: z.number() }),
  horizonDays: z.number(),
  treated: armSchema,
  control: armSchema,
  treatedRows: z.number().int(),
  controlRows: z.number().int(),
  /** Qini coefficient on held-out data of a learner fitted without it; null when undefined. */
  qini: z.number().nullable(),
  /** How the Qini was held out: "5-fold cross-fitting by customer" (each customer's campaigns in one fold). */
  heldOut: z.string().nullable(),
  /** Weight of the learner against the cells in planning, in [0, 1). */
  weight: z.number(),
});

/** A stored learner, plain JSON. */
export type UpliftLearner = z.infer<typeof upliftLearnerSchema>;

/** One customer of a finished experiment with their features as of the campaign's start. */
export interface LearnerExample {
  campaignId: number;
  customerId: number;
  features: CustomerFeatures;
  treated: boolean;
  retained: boolean;
}

interface FeatureBasis {
  attributeSpec: AttributeFeature[];
  bgnbd: UpliftLearner["bgnbd"];
  horizonDays: number;
}

/** The model input row of one customer under a learner's (or a basis's) feature definition. */
function vectorOf(basis: FeatureBasis, f: CustomerFeatures): Float64Array {
  const out = new Float64Array(BASE_FEATURES.length + f.attributes.length);
  return writeFeatureVector(f, latentQuantities(basis.bgnbd, f, basis.horizonDays), out);
}

function fitArm(X: number[][], y: number[], priorScale: number): ArmModel {
  const positives = y.reduce((s, v) => s + v, 0);
  if (positives === 0 || positives === y.length) return { kind: "rate", rate: positives / y.length };
  return { kind: "logistic", model: trainLogistic(X, y, { priorScale }) };
}

function armProbability(arm: ArmModel, row: ArrayLike<number>): number {
  if (arm.kind === "rate") return arm.rate;
  const z = linearScore(arm.model, Array.from(row));
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** The effective size of a two-arm sample: 1 / (1/treated + 1/control); 0 without one arm. */
export function effectiveSize(treated: number, control: number): number {
  return treated > 0 && control > 0 ? 1 / (1 / treated + 1 / control) : 0;
}

export interface LearnerOptions {
  /** Feature definition; without one, the attribute spec of the examples and BG/NBD fitted on them. */
  basis?: FeatureBasis | null;
  attributeSpec: AttributeFeature[];
  /** Ridge-like prior on the weights of both models (logistic.ts `priorScale`). Default 4. */
  priorScale?: number;
}

/**
 * Fits the two-model learner on `examples` (treated and control customers). Pure. The stored
 * `qini`, `heldOut` and `weight` are left at null, null and 0: {@link fitUpliftLearner} sets them.
 * Throws RangeError without treated or without control examples.
 */
export function trainUpliftLearner(examples: readonly LearnerExample[], options: LearnerOptions): UpliftLearner {
  const treated = examples.filter((e) => e.treated);
  const control = examples.filter((e) => !e.treated);
  if (treated.length === 0 || control.length === 0)
    throw new RangeError("uplift learner: the examples need treated and control customers");
  const basis: FeatureBasis = options.basis ?? {
    attributeSpec: options.attributeSpec,
    bgnbd: fitLatentModels(examples.map((e) => e.features)).bgnbd,
    horizonDays: DEFAULT_HORIZON_DAYS,
  };
  const prior = options.priorScale ?? 4;
  const rows = (xs: readonly LearnerExample[]) => xs.map((e) => Array.from(vectorOf(basis, e.features)));
  const labels = (xs: readonly LearnerExample[]) => xs.map((e) => (e.retained ? 1 : 0));
  return {
    kind: "t-learner",
    features: featureNames(basis.attributeSpec),
    attributeSpec: basis.attributeSpec,
    bgnbd: basis.bgnbd,
    horizonDays: basis.horizonDays,
    treated: fitArm(rows(treated), labels(treated), prior),
    control: fitArm(rows(control), labels(control), prior),
    treatedRows: treated.length,
    controlRows: control.length,
    qini: null,
    heldOut: null,
    weight: 0,
  };
}

/** The learner's uplift for one customer: P(retained | treated) - P(retained | control). */
export function predictUplift(learner: UpliftLearner, f: CustomerFeatures): number {
  const row = vectorOf(learner as FeatureBasis, f);
  return armProbability(learner.treated, row) - armProbability(learner.control, row);
}

const hasBoth = (xs: readonly LearnerExample[]) => xs.some((e) => e.treated) && xs.some((e) => !e.treated);

/** Folds of the cross-fitted Qini. */
const FOLDS = 5;

function customerFold(customerId: number): number {
  // A fixed multiplicative hash: a customer is in the same fold on every fit and in every
  // campaign, so nobody's other campaigns teach the model that ranks them.
  return (Math.imul(customerId, 2654435761) >>> 0) % FOLDS;
}

/**
 * Fits the learner on every example and measures it on held-out campaign data: customers split
 * into five folds by a fixed hash of their id (all their campaigns in one fold), each fold
 * ranked by a learner fitted on the other four, and the Qini coefficient computed on the pooled
 * held-out rankings. Its planning weight is n / (n + `shrinkage`) when that Qini is above zero,
 * else 0. Pure. Throws RangeError without treated or without control examples.
 */
export function fitUpliftLearnerOn(
  examples: readonly LearnerExample[],
  options: LearnerOptions & { shrinkage: number },
): UpliftLearner {
  const learner = trainUpliftLearner(examples, options);
  const scored: { example: LearnerExample; uplift: number }[] = [];
  for (let fold = 0; fold < FOLDS; fold++) {
    const train = examples.filter((e) => customerFold(e.customerId) !== fold);
    const test = examples.filter((e) => customerFold(e.customerId) === fold);
    if (!hasBoth(train) || test.length === 0) continue;
    const model = trainUpliftLearner(train, options);
    for (const e of test) scored.push({ example: e, uplift: predictUplift(model, e.features) });
  }
  let qini: number | null = null;
  if (hasBoth(scored.map((s) => s.example))) {
    const q = qiniAucScore(
      scored.map((s) => (s.example.retained ? 1 : 0)),
      scored.map((s) => s.uplift),
      scored.map((s) => (s.example.treated ? 1 : 0)),
    );
    qini = Number.isFinite(q) ? q : null;
  }
  const n = effectiveSize(learner.treatedRows, learner.controlRows);
  const weight = qini !== null && qini > 0 ? n / (n + Math.max(0, options.shrinkage)) : 0;
  return { ...learner, qini, heldOut: qini === null ? null : `${FOLDS}-fold cross-fitting by customer`, weight };
}

/** One finished experiment's customer, as uplift-model.ts reads them. */
export interface LearnerOutcome {
  campaignId: number;
  customerId: number;
  treated: boolean;
  retained: boolean;
}

/**
 * Each outcome's features as of its campaign's start (a query per campaign); customers with no
 * features then (erased since) are left out. The attribute columns and BG/NBD parameters are the
 * active churn model's; without one, the attributes are discovered and BG/NBD fitted on the
 * training rows (`basis` null).
 */
export async function learnerExamples(
  db: Database,
  outcomes: readonly LearnerOutcome[],
): Promise<{ examples: LearnerExample[]; basis: FeatureBasis | null; attributeSpec: AttributeFeature[] }> {
  const churn = await activeChurnModel(db);
  const basis: FeatureBasis | null = churn
    ? {
        attributeSpec: churn.params.attributeSpec,
        bgnbd: churn.params.bgnbd,
        horizonDays: churn.params.horizonDays,
      }
    : null;
  const attributeSpec = basis?.attributeSpec ?? (await discoverAttributes(db));
  const campaignIds = [...new Set(outcomes.map((o) => o.campaignId))];
  const starts = await db.prisma.$queryRaw<{ id: number; from_at: Date }[]>`
    SELECT id, coalesce(starts_at, planned_at) AS from_at FROM campaigns WHERE id = ANY(${campaignIds}::int[])`;
  const examples: LearnerExample[] = [];
  for (const { id, from_at } of starts) {
    const mine = outcomes.filter((o) => o.campaignId === id);
    const { rows } = await computeFeatures(db, {
      asOf: from_at,
      attributeSpec,
      customerIds: mine.map((o) => o.customerId),
    });
    const byId = new Map(rows.map((r) => [r.customerId, r]));
    for (const o of mine) {
      const features = byId.get(o.customerId);
      if (features) examples.push({ ...o, features });
    }
  }
  return { examples, basis, attributeSpec };
}

/** Above this many customers, the features of everyone are streamed and the others skipped,
 * rather than every batch's query carrying the whole list of ids. */
const ID_LIST_LIMIT = 50_000;

/**
 * The learner's estimate for each of `customerIds` as of `now`, blended with `cell(customerId)`
 * by the learner's weight. Customers without features (erased) get their cell's estimate.
 * Features are streamed in batches: only one number per customer is kept.
 */
export async function blendedUplifts(
  db: Database,
  learner: UpliftLearner,
  customerIds: readonly number[],
  now: Date,
  cell: (customerId: number) => number,
): Promise<number[]> {
  if (customerIds.length === 0) return [];
  const wanted = new Set(customerIds);
  const predicted = new Map<number, number>();
  for await (const batch of featureBatches(db, {
    asOf: now,
    attributeSpec: learner.attributeSpec as AttributeFeature[],
    ...(customerIds.length <= ID_LIST_LIMIT ? { customerIds } : {}),
  }))
    for (const f of batch) if (wanted.has(f.customerId)) predicted.set(f.customerId, predictUplift(learner, f));
  const w = learner.weight;
  return customerIds.map((id) => {
    const c = cell(id);
    const p = predicted.get(id);
    return p === undefined ? c : w * p + (1 - w) * c;
  });
}
