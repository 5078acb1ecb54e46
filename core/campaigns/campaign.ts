// A retention campaign: who to target, which offers it may choose from, how large the control
// group is, the budget, the schedule and the attribution window. Validated with zod when it
// is created and again when it is read back from the store.
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Database } from "../db/client";
import { err, ok, type Result } from "../result";

export const RISK_BANDS = ["low", "medium", "high"] as const;

export const targetingSchema = z
  .object({
    segments: z.array(z.string().min(1)).min(1).optional(),
    riskBands: z.array(z.enum(RISK_BANDS)).min(1).optional(),
    minRisk: z.number().min(0).max(1).optional(),
    minClv: z.number().min(0).optional(),
    minDaysSinceLastPurchase: z.number().int().min(0).optional(),
    minDaysSinceLastOffer: z.number().int().min(0).optional(),
    /**
     * How the planner ranks eligible customers for the budget: "uplift" (default) by expected
     * incremental value, the learned policy; "risk" by churn probability alone, each with the
     * offer of best hand-typed value (the baseline a learned policy is compared with).
     */
    rankBy: z.enum(["uplift", "risk"]).optional(),
    /**
     * Only customers whose seeded hash of (seed, customer id) falls in part `part` of `parts`
     * equal parts: campaigns with one seed and different parts target disjoint random shares of
     * the base, so two targeting policies can be compared side by side, each with its control group.
     */
    split: z
      .object({
        seed: z.string().min(1).max(100),
        part: z.number().int().min(0),
        parts: z.number().int().min(2).max(100),
      })
      .strict()
      .refine((s) => s.part < s.parts, "part must be below parts")
      .optional(),
  })
  .strict();

export type Targeting = z.infer<typeof targetingSchema>;

const cronExpression = z.string().regex(/^(\S+\s+){4,5}\S+$/, "must be a cron expression with 5 or 6 fields");

export const campaignInputSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    targeting: targetingSchema.default({}),
    offerKeys: z.array(z.string().min(1)).min(1, "at least one offer key"),
    controlShare: z.number().min(0.01).max(0.9).default(0.1),
    /** Share of the selected customers (and budget) chosen at random, with random offers, so the policy keeps learning. */
    exploreShare: z.number().min(0).max(1).default(0.1),
    budget: z.number().positive().nullable().default(null),
    schedule: cronExpression.nullable().default(null),
    seed: z.string().min(1).max(100).optional(),
    windowDays: z.number().int().min(1).max(365).default(30),
    startsAt: z.coerce.date().nullable().default(null),
  })
  .strict();

export type CampaignInput = z.input<typeof campaignInputSchema>;

/** A campaign as the planner and the report see it. */
export interface CampaignDefinition {
  id: number;
  name: string;
  status: string;
  targeting: Targeting;
  offerKeys: string[];
  controlShare: number;
  exploreShare: number;
  budget: number | null;
  schedule: string | null;
  seed: string;
  windowDays: number;
  startsAt: Date | null;
  plannedAt: Date | null;
  createdAt: Date;
}

export type CampaignError =
  | { type: "invalid"; problems: string[] }
  | { type: "unknown_offers"; keys: string[] }
  | { type: "not_found"; campaignId: number };

/**
 * Validates and stores a new campaign (status `draft`). The seed defaults to random bytes,
 * fixed from then on so the treatment/control split never changes.
 * @returns the campaign, or `invalid` / `unknown_offers` (inactive or missing offer keys).
 */
export async function createCampaign(
  db: Database,
  input: CampaignInput,
  options: { now: Date },
): Promise<Result<CampaignDefinition, CampaignError>> {
  const parsed = campaignInputSchema.safeParse(input);
  if (!parsed.success) {
    return err({
      type: "invalid",
      problems: parsed.error.issues.map((i) => `${i.path.join(".") || "campaign"}: ${i.message}`),
    });
  }
  const c = parsed.data;
  const offers = await db.prisma.offer.findMany({
    where: { key: { in: c.offerKeys }, active: true },
    select: { key: true },
  });
  const missing = c.offerKeys.filter((k) => !offers.some((o) => o.key === k));
  if (missing.length) return err({ type: "unknown_offers", keys: missing });
  const row = await db.prisma.campaign.create({
    data: {
      name: c.name,
      status: "draft",
      targeting: c.targeting,
      offerKeys: c.offerKeys,
      controlShare: c.controlShare,
      exploreShare: c.exploreShare,
      budget: c.budget,
      schedule: c.schedule,
      seed: c.seed ?? randomBytes(8).toString("hex"),
      windowDays: c.windowDays,
      startsAt: c.startsAt,
      createdAt: options.now,
    },
  });
  return ok(toDefinition(row));
}

type CampaignRow = Awaited<ReturnType<Database["prisma"]["campaign"]["findUniqueOrThrow"]>>;

function toDefinition(row: CampaignRow): CampaignDefinition {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    targeting: targetingSchema.parse(row.targeting ?? {}),
    offerKeys: z.array(z.string()).parse(row.offerKeys),
    controlShare: row.controlShare,
    exploreShare: row.exploreShare,
    budget: row.budget === null ? null : Number(row.budget),
    schedule: row.schedule,
    seed: row.seed,
    windowDays: row.windowDays,
    startsAt: row.startsAt,
    plannedAt: row.plannedAt,
    createdAt: row.createdAt,
  };
}

/** Reads one campaign, or `not_found`. Stored targeting that no longer validates throws. */
export async function getCampaign(
  db: Database,
  campaignId: number,
): Promise<Result<CampaignDefinition, CampaignError>> {
  const row = await db.prisma.campaign.findUnique({ where: { id: campaignId } });
  return row ? ok(toDefinition(row)) : err({ type: "not_found", campaignId });
}

/** All campaigns, newest first. */
export async function listCampaigns(db: Database): Promise<CampaignDefinition[]> {
  const rows = await db.prisma.campaign.findMany({ orderBy: { id: "desc" } });
  return rows.map(toDefinition);
}

/** Campaigns the scheduled campaign job re-plans: active or draft ones with a schedule, plus drafts never planned. */
export async function campaignsDueForPlanning(db: Database): Promise<CampaignDefinition[]> {
  const rows = await db.prisma.campaign.findMany({
    where: { OR: [{ status: "active", schedule: { not: null } }, { status: "draft" }] },
    orderBy: { id: "asc" },
  });
  return rows.map(toDefinition);
}
