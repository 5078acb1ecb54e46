// The demo's simulated world for learning who can be saved: every customer has a HIDDEN type
// that only this simulator knows. The type leans on what the product could observe at the demo's
// start: the customer's segment and risk band then, and their own record (buyers of small
// baskets are price-sensitive and easier to persuade, habitual buyers a little more; customers who
// complained or gave a low NPS are put off by offers), with noise, so a model over the scoring
// features can learn it without being told, and one over segment x risk band in part. Whether an unmoved customer
// is a sure thing or a lost cause is their chance to buy anyway (1 - churn probability). Persuadables buy
// more often when sent an offer, sleeping dogs (do-not-disturb) less, sure things and lost causes
// the same either way. Outcomes use common random numbers: one uniform draw per customer and
// round decides both what they would do untreated and treated, so the realised incremental
// retention of any set of treated customers is known exactly.
import { createHash } from "node:crypto";
import { Random } from "../../core/demo/random";
import type { Database } from "../../core/db/client";
import { sqlTimestamp } from "../../core/messaging/outbox";

export type HiddenType = "persuadable" | "sure thing" | "lost cause" | "sleeping dog";

/** Change in the chance of buying within the window when sent an offer, by type. */
const EFFECT: Record<HiddenType, number> = {
  persuadable: 0.35,
  "sure thing": 0,
  "lost cause": 0,
  "sleeping dog": -0.2,
};

/** Larger offers persuade a little more. */
const OFFER_STRENGTH: Record<string, number> = { "winback-20": 1.2, "winback-10": 1, "free-shipping": 0.6 };

// How each segment and risk band leans toward being persuadable (positive) or put off (negative).
const SEGMENT_LEAN: Record<string, number> = {
  "At risk": 0.9,
  "About to sleep": 0.7,
  "Need attention": 0.5,
  Hibernating: -0.2,
  Lost: -0.6,
};
const BAND_LEAN: Record<string, number> = { low: 0.3, medium: 0.5, high: -0.3 };
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

export interface WorldCustomer {
  customerId: number;
  /** Segment and risk band at the demo's start (fixed for the demo). */
  segment: string;
  riskBand: string;
  /** Churn probability when assigned (the latest scores). */
  churnProbability: number;
  /** Mean order value and number of orders before the demo's rounds (fixed for the demo). */
  meanOrder: number;
  orders: number;
  /** Complained, or gave an NPS of 6 or less. */
  detractor: boolean;
}

function unit(seed: number, ...parts: (string | number)[]): number {
  const hex = createHash("md5")
    .update([seed, ...parts].join(":"))
    .digest("hex");
  return parseInt(hex.slice(0, 8), 16) / 4294967296;
}

export class UpliftWorld {
  constructor(private readonly seed: number) {}

  /** The customer's hidden type: their record's lean plus noise, fixed for the whole demo (but sure thing / lost cause). */
  typeOf(c: WorldCustomer): HiddenType {
    const noise = new Random(Math.floor(unit(this.seed, "type", c.customerId) * 4294967296)).normal(0, 0.5);
    const z =
      0.6 * ((SEGMENT_LEAN[c.segment] ?? 0) + (BAND_LEAN[c.riskBand] ?? 0)) +
      0.8 * clamp((45 - c.meanOrder) / 20, -1, 1.2) +
      0.5 * clamp(Math.log1p(c.orders) - 2.3, -1, 1) +
      (c.detractor ? -1.6 : 0) +
      noise;
    if (z > 1) return "persuadable";
    if (z < -1) return "sleeping dog";
    return this.baseRate(c) >= 0.4 ? "sure thing" : "lost cause";
  }

  /** Chance of buying within the window without an offer. */
  baseRate(c: WorldCustomer): number {
    return Math.min(1, Math.max(0, 1 - c.churnProbability));
  }

  /** Whether the customer buys in `round`, untreated and treated with `offerKey`. */
  outcomes(c: WorldCustomer, round: number, offerKey: string | null): { untreated: boolean; treated: boolean } {
    const u = unit(this.seed, "round", round, c.customerId);
    const base = this.baseRate(c);
    const effect = EFFECT[this.typeOf(c)] * (offerKey ? (OFFER_STRENGTH[offerKey] ?? 1) : 0);
    return { untreated: u < base, treated: u < Math.min(1, Math.max(0, base + effect)) };
  }

  /** Treated buyers minus what the same customers would have done untreated. */
  incrementalRetained(customers: readonly (WorldCustomer & { offerKey: string })[], round: number): number {
    let sum = 0;
    for (const c of customers) {
      const o = this.outcomes(c, round, c.offerKey);
      sum += Number(o.treated) - Number(o.untreated);
    }
    return sum;
  }
}

interface AssignedRow {
  customer_id: number;
  group: string;
  segment: string;
  risk_band: string;
  churn: number;
  offer_key: string | null;
  mean_order: number;
  orders: number;
  detractor: boolean;
}

/**
 * Writes what a campaign's assigned customers did in `round`: one purchase inside the window for
 * each buyer (treated customers by their treated outcome, control by their untreated one).
 * @returns the treated customers with their offers, for the realised incremental retention.
 */
export async function simulateRound(
  db: Database,
  world: UpliftWorld,
  options: {
    campaignId: number;
    round: number;
    from: Date;
    windowDays: number;
    /** The customers' record before this date sets their hidden type (the demo's start, for all rounds). */
    historyTo: Date;
  },
): Promise<{ treated: (WorldCustomer & { offerKey: string })[]; control: number; purchases: number }> {
  const rows = await db.prisma.$queryRaw<AssignedRow[]>`
    SELECT a.customer_id, a."group", coalesce(s0.segment, a.segment, '') AS segment, coalesce(s0.risk_band, a.risk_band, '') AS risk_band,
      coalesce(a.churn_probability, 0.5) AS churn, o.key AS offer_key,
      coalesce(h.mean_order, 0) AS mean_order, coalesce(h.orders, 0) AS orders,
      EXISTS (SELECT 1 FROM feedback f WHERE f.customer_id = a.customer_id AND f.created_at < ${sqlTimestamp(options.historyTo)}
        AND (f.kind = 'complaint' OR (f.kind = 'nps' AND f.score <= 6))) AS detractor
    FROM campaign_assignments a LEFT JOIN offers o ON o.id = a.offer_id
    LEFT JOIN scores s0 ON s0.customer_id = a.customer_id AND s0.run_id = (SELECT max(id) FROM score_runs
      WHERE finished_at IS NOT NULL AND as_of <= ${sqlTimestamp(options.historyTo)})
    LEFT JOIN LATERAL (SELECT avg(p.amount)::float8 AS mean_order, count(*)::int AS orders FROM purchases p
      WHERE p.customer_id = a.customer_id AND p.purchased_at < ${sqlTimestamp(options.historyTo)}) h ON true
    WHERE a.campaign_id = ${options.campaignId} AND a."group" IN ('treatment', 'control')
    ORDER BY a.customer_id`;
  const treated: (WorldCustomer & { offerKey: string })[] = [];
  const buyers: number[] = [];
  const days: string[] = [];
  let control = 0;
  for (const r of rows) {
    const c: WorldCustomer = {
      customerId: r.customer_id,
      segment: r.segment,
      riskBand: r.risk_band,
      churnProbability: r.churn,
      meanOrder: r.mean_order,
      orders: r.orders,
      detractor: r.detractor,
    };
    const isTreated = r.group === "treatment";
    if (isTreated) treated.push({ ...c, offerKey: r.offer_key ?? "" });
    else control++;
    const o = world.outcomes(c, options.round, isTreated ? r.offer_key : null);
    if (!(isTreated ? o.treated : o.untreated)) continue;
    buyers.push(r.customer_id);
    const day = 0.5 + unit(options.round, "day", r.customer_id) * (options.windowDays - 1);
    days.push(new Date(options.from.getTime() + day * 86_400_000).toISOString());
  }
  await db.prisma.$executeRaw`
    INSERT INTO purchases (external_id, customer_id, purchased_at, amount, quantity, created_at)
    SELECT 'sim-' || ${options.campaignId}::int || '-' || c, c, (t::timestamptz AT TIME ZONE 'UTC'), 40, 1, ${sqlTimestamp(options.from)}
    FROM unnest(${buyers}::int[], ${days}::text[]) AS x(c, t)`;
  return { treated, control, purchases: buyers.length };
}
