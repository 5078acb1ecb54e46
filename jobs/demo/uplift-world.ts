// The demo's simulated world for learning who can be saved: every customer has a HIDDEN type
// that only this simulator knows. The type leans on what the product can observe (segment and
// risk band) but with noise, so a model can learn it from segment x risk band without being
// told. Persuadables buy more often when sent an offer, sleeping dogs less (put off by it), sure
// things and lost causes the same either way. Outcomes use common random numbers: one uniform
// draw per customer and round decides both what they would do untreated and treated, so the
// realised incremental retention of any set of treated customers is known exactly.
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

export interface WorldCustomer {
  customerId: number;
  segment: string;
  riskBand: string;
  churnProbability: number;
}

function unit(seed: number, ...parts: (string | number)[]): number {
  const hex = createHash("md5")
    .update([seed, ...parts].join(":"))
    .digest("hex");
  return parseInt(hex.slice(0, 8), 16) / 4294967296;
}

export class UpliftWorld {
  constructor(private readonly seed: number) {}

  /** The customer's hidden type: observable lean plus noise, fixed for the whole demo. */
  typeOf(c: WorldCustomer): HiddenType {
    const noise = new Random(Math.floor(unit(this.seed, "type", c.customerId) * 4294967296)).normal(0, 0.6);
    const z = (SEGMENT_LEAN[c.segment] ?? 0) + (BAND_LEAN[c.riskBand] ?? 0) + noise;
    if (z > 0.9) return "persuadable";
    if (z < -1.1) return "sleeping dog";
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
}

/**
 * Writes what a campaign's assigned customers did in `round`: one purchase inside the window for
 * each buyer (treated customers by their treated outcome, control by their untreated one).
 * @returns the treated customers with their offers, for the realised incremental retention.
 */
export async function simulateRound(
  db: Database,
  world: UpliftWorld,
  options: { campaignId: number; round: number; from: Date; windowDays: number },
): Promise<{ treated: (WorldCustomer & { offerKey: string })[]; control: number; purchases: number }> {
  const rows = await db.prisma.$queryRaw<AssignedRow[]>`
    SELECT a.customer_id, a."group", coalesce(a.segment, '') AS segment, coalesce(a.risk_band, '') AS risk_band,
      coalesce(a.churn_probability, 0.5) AS churn, o.key AS offer_key
    FROM campaign_assignments a LEFT JOIN offers o ON o.id = a.offer_id
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
