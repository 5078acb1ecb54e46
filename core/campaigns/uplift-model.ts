// Uplift learned from the store's own experiments. Every finished campaign is a randomised
// experiment: its treated and control customers, retained (bought within the attribution
// window) or not. From them, the treatment effect on retention per segment x risk band, shrunk
// toward the segment's effect and that toward the overall effect when a cell has little data
// (the weight of a cell's own difference is its effective size 1/(1/n_t + 1/n_c) against
// `shrinkage` pseudo-customers). Beside the cells, a per-customer learner over the scoring
// features (uplift-learner.ts), with its own held-out Qini and planning weight. Stored as a
// `trained_models` row of kind "uplift" with the cells' Qini coefficient on the newest finished
// campaign, held out of the fit.
import { z } from "zod";
import { qiniAucScore } from "../analytics/uplift-metrics";
import type { Database } from "../db/client";
import { sqlTimestamp } from "../messaging/outbox";
import { fitUpliftLearnerOn, learnerExamples, upliftLearnerSchema, type UpliftLearner } from "./uplift-learner";
import type { OfferResult } from "./uplift-thompson";

/** One customer of a finished experiment. */
export interface ExperimentOutcome {
  campaignId: number;
  /** Set when read from the store; the per-customer learner needs it. */
  customerId?: number;
  segment: string;
  riskBand: string;
  treated: boolean;
  retained: boolean;
  /** The offer a treated customer was given (results per offer feed the offer choice). */
  offerId?: number | null;
}

const cellSchema = z.object({
  segment: z.string(),
  riskBand: z.string(),
  uplift: z.number(),
  treated: z.number().int(),
  control: z.number().int(),
});

export const upliftCellsSchema = z.object({
  overall: z.number(),
  /** Control retention rate per segment (the baseline the offer posteriors start from). */
  controlRate: z.record(z.string(), z.number()),
  segments: z.record(z.string(), z.number()),
  cells: z.array(cellSchema),
  /** Treated retained / not retained per segment x offer (offer ids as strings). */
  offers: z.array(
    z.object({ segment: z.string(), offerId: z.string(), retained: z.number(), notRetained: z.number() }),
  ),
});

/** The fitted estimate: effects in retention probability (0.05 = +5 points). */
export type UpliftCells = z.infer<typeof upliftCellsSchema>;

export interface UpliftModel {
  id: number;
  cells: UpliftCells;
  qini: number | null;
  /** The per-customer learner, or null (models stored before it, or nothing it could learn from). */
  learner: UpliftLearner | null;
  /** Finished campaigns and customers it was fitted on. */
  campaigns: number;
  outcomes: number;
  createdAt: Date;
}

interface Counts {
  nt: number;
  xt: number;
  nc: number;
  xc: number;
}

const empty = (): Counts => ({ nt: 0, xt: 0, nc: 0, xc: 0 });

function add(c: Counts, o: ExperimentOutcome): void {
  if (o.treated) {
    c.nt++;
    if (o.retained) c.xt++;
  } else {
    c.nc++;
    if (o.retained) c.xc++;
  }
}

/** A difference of rates shrunk toward `prior`: its weight is the effective size against `k`. */
function shrunk(c: Counts, prior: number, k: number): number {
  if (c.nt === 0 || c.nc === 0) return prior;
  const raw = c.xt / c.nt - c.xc / c.nc;
  const n = 1 / (1 / c.nt + 1 / c.nc);
  return (n * raw + k * prior) / (n + k);
}

/**
 * Estimates the treatment effect per segment x risk band from experiment outcomes, shrunk
 * toward the segment's effect, the segment's toward the overall one (`shrinkage` pseudo-customers,
 * default 50). Pure. Throws RangeError when there are no treated or no control customers at all.
 */
export function estimateUpliftCells(outcomes: readonly ExperimentOutcome[], shrinkage = 50): UpliftCells {
  const all = empty();
  const bySegment = new Map<string, Counts>();
  const byCell = new Map<string, Counts & { segment: string; riskBand: string }>();
  const offers = new Map<string, OfferResult>();
  for (const o of outcomes) {
    add(all, o);
    let s = bySegment.get(o.segment);
    if (!s) bySegment.set(o.segment, (s = empty()));
    add(s, o);
    const key = `${o.segment}\u0000${o.riskBand}`;
    let c = byCell.get(key);
    if (!c) byCell.set(key, (c = { ...empty(), segment: o.segment, riskBand: o.riskBand }));
    add(c, o);
    if (o.treated && o.offerId != null) {
      const offerKey = `${o.segment}\u0000${o.offerId}`;
      let r = offers.get(offerKey);
      if (!r)
        offers.set(offerKey, (r = { segment: o.segment, offerId: String(o.offerId), retained: 0, notRetained: 0 }));
      if (o.retained) r.retained++;
      else r.notRetained++;
    }
  }
  if (all.nt === 0 || all.nc === 0) throw new RangeError("uplift: the outcomes need treated and control customers");
  const overall = all.xt / all.nt - all.xc / all.nc;
  const segments: Record<string, number> = {};
  const controlRate: Record<string, number> = {};
  const overallControl = all.xc / all.nc;
  for (const [name, c] of bySegment) {
    segments[name] = shrunk(c, overall, shrinkage);
    // The baseline rate, shrunk toward the overall control rate the same way.
    controlRate[name] = (c.xc + shrinkage * overallControl) / (c.nc + shrinkage);
  }
  const cells = [...byCell.values()].map((c) => ({
    segment: c.segment,
    riskBand: c.riskBand,
    uplift: shrunk(c, segments[c.segment]!, shrinkage),
    treated: c.nt,
    control: c.nc,
  }));
  return { overall, controlRate, segments, cells, offers: [...offers.values()] };
}

/** The estimate for one customer: their cell, else their segment, else the overall effect. */
export function cellUplift(cells: UpliftCells, segment: string, riskBand: string): number {
  const cell = cells.cells.find((c) => c.segment === segment && c.riskBand === riskBand);
  return cell?.uplift ?? cells.segments[segment] ?? cells.overall;
}

interface OutcomeRow {
  campaign_id: number;
  customer_id: number;
  segment: string;
  risk_band: string;
  group: string;
  retained: boolean;
  offer_id: number | null;
}

/** Outcomes of every campaign whose attribution window has ended by `now`, oldest campaign first. */
export async function finishedExperimentOutcomes(db: Database, now: Date): Promise<ExperimentOutcome[]> {
  const rows = await db.prisma.$queryRaw<OutcomeRow[]>`
    WITH done AS (
      SELECT id, coalesce(starts_at, planned_at) AS from_at, window_days FROM campaigns
      WHERE coalesce(starts_at, planned_at) IS NOT NULL
        AND coalesce(starts_at, planned_at) + make_interval(days => window_days) <= ${sqlTimestamp(now)}
    )
    SELECT a.campaign_id, a.customer_id, coalesce(a.segment, 'unknown') AS segment, coalesce(a.risk_band, 'unknown') AS risk_band,
      a."group", a.offer_id,
      EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = a.customer_id
        AND p.purchased_at >= d.from_at AND p.purchased_at < d.from_at + make_interval(days => d.window_days)) AS retained
    FROM campaign_assignments a JOIN done d ON d.id = a.campaign_id
    WHERE a."group" IN ('treatment', 'control')
    ORDER BY a.campaign_id, a.customer_id`;
  return rows.map((r) => ({
    campaignId: r.campaign_id,
    customerId: r.customer_id,
    segment: r.segment,
    riskBand: r.risk_band,
    treated: r.group === "treatment",
    retained: r.retained,
    offerId: r.offer_id,
  }));
}

/** Qini coefficient of `cells` as a ranking of held-out outcomes; null when it is undefined. */
export function heldOutQini(cells: UpliftCells, heldOut: readonly ExperimentOutcome[]): number | null {
  if (!heldOut.some((o) => o.treated) || !heldOut.some((o) => !o.treated)) return null;
  const q = qiniAucScore(
    heldOut.map((o) => (o.retained ? 1 : 0)),
    heldOut.map((o) => cellUplift(cells, o.segment, o.riskBand)),
    heldOut.map((o) => (o.treated ? 1 : 0)),
  );
  return Number.isFinite(q) ? q : null;
}

/** Pseudo-customers the learner's effective size is weighed against (UPLIFT_LEARNER_SHRINKAGE). */
export const DEFAULT_LEARNER_SHRINKAGE = 200;

/**
 * The per-customer learner from the outcomes read from the store (uplift-learner.ts), or null
 * when it cannot be fitted (no features for one arm; no buyer to fit BG/NBD on).
 */
async function fitLearner(
  db: Database,
  outcomes: readonly ExperimentOutcome[],
  shrinkage: number,
): Promise<UpliftLearner | null> {
  const withIds = outcomes.flatMap((o) =>
    o.customerId === undefined
      ? []
      : [{ campaignId: o.campaignId, customerId: o.customerId, treated: o.treated, retained: o.retained }],
  );
  const { examples, basis, attributeSpec } = await learnerExamples(db, withIds);
  try {
    return fitUpliftLearnerOn(examples, { basis, attributeSpec, shrinkage });
  } catch (error) {
    if (error instanceof RangeError) return null;
    throw error;
  }
}

/**
 * Re-fits the uplift estimate from every finished campaign and stores it as the active model of
 * kind "uplift" (unless nothing has finished since the active one was fitted: then that one). The Qini coefficient is measured on the newest finished campaign with a model
 * fitted without it (when there are two or more). The per-customer learner is fitted beside the
 * cells, with its own held-out Qini and its planning weight (`learnerShrinkage` pseudo-customers).
 * @returns the stored model, or null when no finished campaign has both arms (nothing to learn yet).
 */
export async function fitUpliftModel(
  db: Database,
  options: { now: Date; shrinkage?: number; learnerShrinkage?: number },
): Promise<UpliftModel | null> {
  const outcomes = await finishedExperimentOutcomes(db, options.now);
  const hasBoth = (xs: readonly ExperimentOutcome[]) => xs.some((o) => o.treated) && xs.some((o) => !o.treated);
  if (!hasBoth(outcomes)) return null;
  const campaignCount = new Set(outcomes.map((o) => o.campaignId)).size;
  const current = await activeUpliftModel(db);
  // Nothing new has finished since the last fit: keep it rather than store a copy.
  if (current && current.campaigns === campaignCount && current.outcomes === outcomes.length) return current;
  const cells = estimateUpliftCells(outcomes, options.shrinkage);
  const campaignIds = [...new Set(outcomes.map((o) => o.campaignId))];
  const newest = campaignIds[campaignIds.length - 1]!;
  const earlier = outcomes.filter((o) => o.campaignId !== newest);
  const qini = hasBoth(earlier)
    ? heldOutQini(
        estimateUpliftCells(earlier, options.shrinkage),
        outcomes.filter((o) => o.campaignId === newest),
      )
    : null;
  const learner = await fitLearner(db, outcomes, options.learnerShrinkage ?? DEFAULT_LEARNER_SHRINKAGE);
  const row = await db.prisma.$transaction(async (tx) => {
    await tx.trainedModel.updateMany({ where: { kind: "uplift", active: true }, data: { active: false } });
    return tx.trainedModel.create({
      data: {
        kind: "uplift",
        version: "cells-learner-v2",
        params: { ...cells, learner },
        features: learner?.features ?? [],
        metrics: {
          qini,
          learnerQini: learner?.qini ?? null,
          learnerHeldOut: learner?.heldOut ?? null,
          learnerWeight: learner?.weight ?? 0,
          heldOutCampaign: campaignIds.length > 1 ? newest : null,
          campaigns: campaignIds.length,
          outcomes: outcomes.length,
        },
        trainTo: options.now,
        active: true,
        createdAt: options.now,
      },
    });
  });
  return {
    id: row.id,
    cells,
    qini,
    learner,
    campaigns: campaignIds.length,
    outcomes: outcomes.length,
    createdAt: row.createdAt,
  };
}

/** The active uplift model, or null before any campaign has finished. */
export async function activeUpliftModel(db: Database): Promise<UpliftModel | null> {
  const row = await db.prisma.trainedModel.findFirst({
    where: { kind: "uplift", active: true },
    orderBy: { id: "desc" },
  });
  if (!row) return null;
  const metrics = z
    .object({
      qini: z.number().nullable().default(null),
      campaigns: z.number().default(0),
      outcomes: z.number().default(0),
    })
    .parse(row.metrics ?? {});
  return {
    id: row.id,
    cells: upliftCellsSchema.parse(row.params),
    qini: metrics.qini,
    learner: z.object({ learner: upliftLearnerSchema.nullable().default(null) }).parse(row.params).learner,
    campaigns: metrics.campaigns,
    outcomes: metrics.outcomes,
    createdAt: row.createdAt,
  };
}
