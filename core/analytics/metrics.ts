// Retention metrics over any period, with the formulas from the literature. The formulas are
// pure functions (unit-tested against hand-computed cases); `computeMetrics` feeds them from one
// set-based SQL query.
//
// Definitions (period = [from, to), inactivity window W, default 90 days):
//   member at t          a customer who signed up or bought before t (erased ones excluded)
//   active at t          a purchase in [t - W, t)
//   customers at start   members active at `from`
//   lost by end          customers at start with no purchase in [to - W, to)
//   churn rate           lost / customers at start
//   activity rate        members with a purchase in the 90 days before `to` / members at `to`
//   repeat-purchase rate buyers with 2+ purchases in the period / buyers in the period
//   AOV                  revenue in the period / purchases in the period
//   purchase frequency   purchases in the period / buyers in the period
//   gross margin         known margin / revenue of purchases with a known margin, else the default
//   LTV                  AOV x purchase frequency x gross margin x expected lifetime, where the
//                        lifetime in periods is 1 / churn rate, capped (default 20 periods)
//   NPS                  % promoters (9-10) - % detractors (0-6) of the answers in the period
import type { Database } from "../db/client";

export interface NpsResult {
  nps: number | null;
  promoters: number;
  passives: number;
  detractors: number;
  respondents: number;
}

/** NPS from answer counts: % promoters (9-10) minus % detractors (0-6); null without answers. */
export function nps(counts: { promoters: number; passives: number; detractors: number }): NpsResult {
  const respondents = counts.promoters + counts.passives + counts.detractors;
  return {
    ...counts,
    respondents,
    nps: respondents === 0 ? null : (100 * (counts.promoters - counts.detractors)) / respondents,
  };
}

/**
 * The 95% interval of an NPS from its answers (normal approximation of the difference of two
 * shares from one multinomial sample: var = (p + d - (p - d)^2) / n, in NPS points), clipped to
 * -100..100; null without answers. Ten answers give an interval about 60 points wide.
 */
export function npsInterval(r: NpsResult): { low: number; high: number } | null {
  if (r.respondents === 0 || r.nps === null) return null;
  const p = r.promoters / r.respondents;
  const d = r.detractors / r.respondents;
  const margin = 196 * Math.sqrt(Math.max(0, p + d - (p - d) ** 2) / r.respondents);
  return { low: Math.max(-100, r.nps - margin), high: Math.min(100, r.nps + margin) };
}

/** NPS from raw 0-10 scores (answers outside 0..10 are ignored). */
export function npsFromScores(scores: readonly number[]): NpsResult {
  let promoters = 0;
  let passives = 0;
  let detractors = 0;
  for (const s of scores) {
    if (!(s >= 0 && s <= 10)) continue;
    if (s >= 9) promoters++;
    else if (s >= 7) passives++;
    else detractors++;
  }
  return nps({ promoters, passives, detractors });
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

/** Lost customers / customers at the start of the period; null without customers at start. */
export const churnRate = (lost: number, customersAtStart: number) => ratio(lost, customersAtStart);
/** Customers active in the last 90 days / members. */
export const activityRate = (active: number, members: number) => ratio(active, members);
/** Buyers with two or more purchases / buyers. */
export const repeatPurchaseRate = (repeatBuyers: number, buyers: number) => ratio(repeatBuyers, buyers);
/** Average order value: revenue / purchases. */
export const averageOrderValue = (revenue: number, purchases: number) => ratio(revenue, purchases);
/** Purchases per buyer in the period. */
export const purchaseFrequency = (purchases: number, buyers: number) => ratio(purchases, buyers);

/** Expected lifetime in periods: 1 / churn rate per period, capped (also when nobody churned). */
export function expectedLifetime(churnRatePerPeriod: number | null, cap = 20): number | null {
  if (churnRatePerPeriod === null) return null;
  return churnRatePerPeriod <= 0 ? cap : Math.min(cap, 1 / churnRatePerPeriod);
}

/** LTV = AOV x purchases per period x gross margin x expected lifetime (in periods). */
export function lifetimeValue(input: {
  aov: number | null;
  purchasesPerPeriod: number | null;
  grossMargin: number;
  lifetimePeriods: number | null;
}): number | null {
  const { aov, purchasesPerPeriod, grossMargin, lifetimePeriods } = input;
  if (aov === null || purchasesPerPeriod === null || lifetimePeriods === null) return null;
  return aov * purchasesPerPeriod * grossMargin * lifetimePeriods;
}

/**
 * Loyalty-programme ROI on a randomised control group: (revenue of treated - revenue of control
 * - cost) / cost. Revenues must be comparable (per customer, or scaled to equal group sizes).
 * Null when the cost is zero.
 */
export function loyaltyRoi(input: { revenueTreated: number; revenueControl: number; cost: number }): number | null {
  if (input.cost === 0) return null;
  return (input.revenueTreated - input.revenueControl - input.cost) / input.cost;
}

export interface MetricsOptions {
  from: Date;
  to: Date;
  /** Only customers in this segment of the current scoring run. */
  segment?: string;
  /** Inactivity window W that defines active and lost (days). Default 90. */
  inactivityDays?: number;
  defaultGrossMargin?: number;
  /** Cap on the expected lifetime, in periods. Default 20. */
  lifetimeCapPeriods?: number;
}

export interface RetentionMetrics {
  from: Date;
  to: Date;
  segment: string | null;
  periodDays: number;
  members: number;
  customersAtStart: number;
  lost: number;
  churnRate: number | null;
  active90: number;
  activityRate: number | null;
  buyers: number;
  repeatBuyers: number;
  repeatPurchaseRate: number | null;
  purchases: number;
  /** Net revenue of the members in the period: gross purchases minus refunds. */
  revenue: number;
  grossRevenue: number;
  refunds: number;
  /** Net sales without a customer in the period (whole store only; 0 for a segment). */
  unattributedRevenue: number;
  aov: number | null;
  purchaseFrequency: number | null;
  grossMargin: number;
  expectedLifetimePeriods: number | null;
  ltv: number | null;
  nps: NpsResult;
}

interface MetricsRow {
  members: number;
  at_start: number;
  lost: number;
  active90: number;
  buyers: number;
  repeat_buyers: number;
  purchases: number;
  revenue: number | null;
  refunds: number | null;
  unattributed: number | null;
  margin: number | null;
  margin_base: number | null;
  promoters: number;
  passives: number;
  detractors: number;
}

/**
 * Retention metrics for [from, to), optionally for one segment of the current scoring run.
 * One set-based query; the arithmetic is the pure functions above.
 */
export async function computeMetrics(db: Database, options: MetricsOptions): Promise<RetentionMetrics> {
  const W = options.inactivityDays ?? 90;
  const segment = options.segment ?? null;
  const rows = await db.prisma.$queryRawUnsafe<MetricsRow[]>(
    `WITH run AS (SELECT id FROM score_runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1),
     pop AS (
       SELECT c.id, c.signed_up_at FROM customers c
        WHERE c.erased_at IS NULL
          AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM scores s, run WHERE s.run_id = run.id AND s.customer_id = c.id AND s.segment = $4::text))
     ),
     per AS (
       SELECT p.customer_id,
              min(p.purchased_at) AS first_at,
              max(p.purchased_at) FILTER (WHERE p.purchased_at < $1::timestamp) AS last_before_from,
              count(*) FILTER (WHERE p.purchased_at >= $1::timestamp AND p.purchased_at < $2::timestamp)::int AS n_period,
              sum(p.amount) FILTER (WHERE p.purchased_at >= $1::timestamp AND p.purchased_at < $2::timestamp)::float8 AS revenue,
              sum(p.gross_margin) FILTER (WHERE p.purchased_at >= $1::timestamp AND p.purchased_at < $2::timestamp)::float8 AS margin,
              sum(p.amount) FILTER (WHERE p.gross_margin IS NOT NULL AND p.purchased_at >= $1::timestamp AND p.purchased_at < $2::timestamp)::float8 AS margin_base,
              bool_or(p.purchased_at >= $2::timestamp - make_interval(days => $3::int) AND p.purchased_at < $2::timestamp) AS active_at_end,
              bool_or(p.purchased_at >= $2::timestamp - interval '90 days' AND p.purchased_at < $2::timestamp) AS active90
         FROM purchases p JOIN pop ON pop.id = p.customer_id
        WHERE p.purchased_at < $2::timestamp
        GROUP BY p.customer_id
     ),
     nps AS (
       SELECT count(*) FILTER (WHERE f.score >= 9)::int AS promoters,
              count(*) FILTER (WHERE f.score BETWEEN 7 AND 8)::int AS passives,
              count(*) FILTER (WHERE f.score BETWEEN 0 AND 6)::int AS detractors
         FROM feedback f
        WHERE f.kind = 'nps' AND f.score IS NOT NULL AND f.created_at >= $1::timestamp AND f.created_at < $2::timestamp
          AND ($4::text IS NULL OR f.customer_id IN (SELECT id FROM pop))
     )
     SELECT count(*) FILTER (WHERE per.customer_id IS NOT NULL OR pop.signed_up_at < $2::timestamp)::int AS members,
            count(*) FILTER (WHERE per.last_before_from >= $1::timestamp - make_interval(days => $3::int))::int AS at_start,
            count(*) FILTER (WHERE per.last_before_from >= $1::timestamp - make_interval(days => $3::int) AND NOT per.active_at_end)::int AS lost,
            count(*) FILTER (WHERE per.active90)::int AS active90,
            count(*) FILTER (WHERE per.n_period > 0)::int AS buyers,
            count(*) FILTER (WHERE per.n_period > 1)::int AS repeat_buyers,
            coalesce(sum(per.n_period), 0)::int AS purchases,
            coalesce(sum(per.revenue), 0)::float8 AS revenue,
            (SELECT coalesce(sum(r.amount), 0) FROM refunds r JOIN pop ON pop.id = r.customer_id
              WHERE r.refunded_at >= $1::timestamp AND r.refunded_at < $2::timestamp)::float8 AS refunds,
            CASE WHEN $4::text IS NULL THEN
              (SELECT coalesce(sum(a.amount), 0) FROM anonymous_sales a WHERE a.sold_at >= $1::timestamp AND a.sold_at < $2::timestamp)
              - (SELECT coalesce(sum(r.amount), 0) FROM refunds r
                  WHERE r.customer_id IS NULL AND r.refunded_at >= $1::timestamp AND r.refunded_at < $2::timestamp)
            ELSE 0 END::float8 AS unattributed,
            sum(per.margin)::float8 AS margin,
            sum(per.margin_base)::float8 AS margin_base,
            (SELECT promoters FROM nps) AS promoters, (SELECT passives FROM nps) AS passives, (SELECT detractors FROM nps) AS detractors
       FROM pop LEFT JOIN per ON per.customer_id = pop.id`,
    options.from.toISOString(),
    options.to.toISOString(),
    W,
    segment,
  );
  const r = rows[0]!;
  const periodDays = (options.to.getTime() - options.from.getTime()) / 86_400_000;
  const grossMargin =
    r.margin !== null && r.margin_base ? r.margin / r.margin_base : (options.defaultGrossMargin ?? 0.3);
  const churn = churnRate(r.lost, r.at_start);
  // Money is net: refunds in the period come off its revenue (and so off AOV and LTV).
  const netRevenue = (r.revenue ?? 0) - (r.refunds ?? 0);
  const aov = averageOrderValue(netRevenue, r.purchases);
  const frequency = purchaseFrequency(r.purchases, r.buyers);
  const lifetime = expectedLifetime(churn, options.lifetimeCapPeriods ?? 20);
  return {
    from: options.from,
    to: options.to,
    segment,
    periodDays,
    members: r.members,
    customersAtStart: r.at_start,
    lost: r.lost,
    churnRate: churn,
    active90: r.active90,
    activityRate: activityRate(r.active90, r.members),
    buyers: r.buyers,
    repeatBuyers: r.repeat_buyers,
    repeatPurchaseRate: repeatPurchaseRate(r.repeat_buyers, r.buyers),
    purchases: r.purchases,
    revenue: netRevenue,
    grossRevenue: r.revenue ?? 0,
    refunds: r.refunds ?? 0,
    unattributedRevenue: r.unattributed ?? 0,
    aov,
    purchaseFrequency: frequency,
    grossMargin,
    expectedLifetimePeriods: lifetime,
    ltv: lifetimeValue({ aov, purchasesPerPeriod: frequency, grossMargin, lifetimePeriods: lifetime }),
    nps: nps({ promoters: r.promoters, passives: r.passives, detractors: r.detractors }),
  };
}
