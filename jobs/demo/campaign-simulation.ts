// The demo's simulated world after a campaign, with a KNOWN true uplift: each assigned
// customer's baseline chance to buy within the window is 1 - churn probability; treated
// customers get `uplift` more (capped at 1). Buyers get one purchase on a random day in the
// window; a share of treated buyers redeem their offer with it. Seeded, so reproducible.
import { twoProportionLift } from "../../core/campaigns/stats";
import { Random } from "../../core/demo/random";
import type { Database } from "../../core/db/client";
import { sqlTimestamp } from "../../core/messaging/outbox";

export interface SimulationOptions {
  campaignId: number;
  from: Date;
  windowDays: number;
  /** True uplift in the probability of buying within the window, e.g. 0.1 = +10 points. */
  uplift: number;
  /** Share of treated buyers who use their code. */
  redemptionShare: number;
  seed: number;
}

export interface SimulationResult {
  /** The true average uplift over the experiment's population (after the cap at 1). */
  trueUplift: number;
  purchases: number;
  redemptions: number;
  /** The experiment's population, for replications. */
  population: { treated: boolean; base: number }[];
}

interface Assigned {
  customer_id: number;
  group: string;
  churn: number;
  spend: number;
  issue_id: number | null;
}

/** Writes the simulated purchases and redemptions; returns the truth to compare against. */
export async function simulateCampaignOutcomes(db: Database, options: SimulationOptions): Promise<SimulationResult> {
  const rng = new Random(options.seed);
  const rows = await db.prisma.$queryRaw<Assigned[]>`
    SELECT a.customer_id, a."group", coalesce(a.churn_probability, 0.5) AS churn,
      coalesce((SELECT avg(amount)::float8 FROM purchases p WHERE p.customer_id = a.customer_id), 40) AS spend,
      (SELECT i.id FROM offer_issues i WHERE i.campaign_id = a.campaign_id AND i.customer_id = a.customer_id LIMIT 1) AS issue_id
    FROM campaign_assignments a
    WHERE a.campaign_id = ${options.campaignId} AND a."group" IN ('treatment', 'control')
    ORDER BY a.customer_id`;
  let upliftSum = 0;
  const buys: { customerId: number; at: Date; amount: number; issueId: number | null }[] = [];
  for (const r of rows) {
    const base = Math.min(1, Math.max(0, 1 - r.churn));
    const treatedP = Math.min(1, base + options.uplift);
    upliftSum += treatedP - base;
    const p = r.group === "treatment" ? treatedP : base;
    if (!rng.chance(p)) continue;
    const at = new Date(options.from.getTime() + (0.5 + rng.next() * (options.windowDays - 1)) * 86_400_000);
    const amount = Math.round(r.spend * (0.6 + 0.8 * rng.next()) * 100) / 100;
    const redeems = r.group === "treatment" && r.issue_id !== null && rng.chance(options.redemptionShare);
    buys.push({ customerId: r.customer_id, at, amount, issueId: redeems ? r.issue_id : null });
  }
  const inserted = await db.prisma.$queryRaw<{ id: number; ext: string }[]>`
    INSERT INTO purchases (external_id, customer_id, purchased_at, amount, quantity, created_at)
    SELECT 'sim-' || ${options.campaignId} || '-' || c, c, (t::timestamptz AT TIME ZONE 'UTC'), a, 1, ${sqlTimestamp(options.from)}
    FROM unnest(${buys.map((b) => b.customerId)}::int[], ${buys.map((b) => b.at.toISOString())}::text[], ${buys.map((b) => b.amount)}::float8[]) AS x(c, t, a)
    RETURNING id, external_id AS ext`;
  const purchaseByCustomer = new Map(inserted.map((p) => [Number(p.ext.split("-").pop()), p.id]));
  const redeem = buys.filter((b) => b.issueId !== null);
  await db.prisma.$executeRaw`
    INSERT INTO redemptions (offer_issue_id, customer_id, purchase_id, amount, redeemed_at)
    SELECT i, c, p, a, (t::timestamptz AT TIME ZONE 'UTC')
    FROM unnest(${redeem.map((b) => b.issueId!)}::int[], ${redeem.map((b) => b.customerId)}::int[],
                ${redeem.map((b) => purchaseByCustomer.get(b.customerId)!)}::int[], ${redeem.map((b) => b.amount)}::float8[],
                ${redeem.map((b) => b.at.toISOString())}::text[]) AS x(i, c, p, a, t)`;
  await db.prisma.$executeRaw`
    UPDATE offer_issues SET status = 'redeemed', responded_at = r.redeemed_at
    FROM redemptions r WHERE r.offer_issue_id = offer_issues.id AND offer_issues.campaign_id = ${options.campaignId}`;
  return {
    trueUplift: rows.length ? upliftSum / rows.length : 0,
    purchases: buys.length,
    redemptions: redeem.length,
    population: rows.map((r) => ({ treated: r.group === "treatment", base: Math.min(1, Math.max(0, 1 - r.churn)) })),
  };
}

/**
 * Repeats the whole experiment `replications` times in memory on the same customers: a fresh
 * random treatment/control split (same control share) and fresh outcomes each time. Returns
 * the share of 95% intervals for the retention lift that contain the true uplift: the check
 * that one lucky or unlucky run cannot give.
 */
export function liftCoverage(
  population: SimulationResult["population"],
  uplift: number,
  trueUplift: number,
  replications: number,
  seed: number,
): number {
  const rng = new Random(seed);
  const controlShare = population.filter((c) => !c.treated).length / Math.max(1, population.length);
  let covered = 0;
  for (let k = 0; k < replications; k++) {
    let xt = 0;
    let nt = 0;
    let xc = 0;
    let nc = 0;
    for (const c of population) {
      const treated = rng.next() >= controlShare;
      const p = treated ? Math.min(1, c.base + uplift) : c.base;
      const bought = rng.chance(p) ? 1 : 0;
      if (treated) {
        nt++;
        xt += bought;
      } else {
        nc++;
        xc += bought;
      }
    }
    const ci = twoProportionLift(xt, nt, xc, nc);
    if (ci.low <= trueUplift && trueUplift <= ci.high) covered++;
  }
  return covered / replications;
}
