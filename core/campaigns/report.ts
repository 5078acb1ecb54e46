// What a campaign really earned. Purchases and redemptions inside the attribution window
// [campaign start, start + window days) are attributed to the treatment and control groups
// (intent to treat: every treated customer counts, whether or not the message got through).
// Reported per campaign and per risk band, with 95% intervals for the lift, ROI on a
// randomised control, and NPV / payback of the incremental margin over a horizon.
import type { Database } from "../db/client";
import { ok, type Result } from "../result";
import { getCampaign, type CampaignError } from "./campaign";
import {
  bootstrapMeanDiff,
  campaignRoi,
  npv,
  paybackPeriods,
  projectMonthlyMargin,
  twoProportionLift,
  type Interval,
  type ProportionLift,
} from "./stats";

export interface ArmStats {
  customers: number;
  retained: number;
  retentionRate: number;
  revenue: number;
  revenuePerCustomer: number;
  margin: number;
}

export interface LiftReport {
  treatment: ArmStats;
  control: ArmStats;
  /** Treated customers whose message was delivered. */
  delivered: number;
  redemptions: number;
  /** Cost of the redeemed offers. */
  cost: number;
  retentionLift: ProportionLift;
  revenuePerCustomerLift: Interval;
  /** (revenue per treated - revenue per control) x treated customers. */
  incrementalRevenue: number;
  incrementalMargin: number;
  roi: number | null;
}

/** What the targeting policy expected of one planning run, and the offers it chose. */
export interface PolicyRound {
  plannedAt: Date;
  treated: number;
  /** Treated customers chosen by the exploring share. */
  explored: number;
  /** Sum of the expected gains in retention probability: customers the policy expected to add. */
  expectedRetained: number;
  /** Sum of expected incremental value (uplift x CLV - offer cost). */
  expectedValue: number;
  /** Treated customers per offer key. */
  offerMix: Record<string, number>;
}

export interface PolicyReport {
  rounds: PolicyRound[];
  expectedRetained: number;
  expectedValue: number;
  /** Lift x treated customers, with its 95% interval: customers the campaign really added. */
  realisedRetained: Interval;
  /** Incremental margin minus the cost of redeemed offers. */
  realisedValue: number;
}

export interface CampaignReport {
  campaignId: number;
  name: string;
  window: { from: Date; to: Date; complete: boolean };
  overall: LiftReport;
  policy: PolicyReport;
  byRiskBand: Record<string, LiftReport>;
  value: {
    horizonMonths: number;
    annualDiscountRate: number;
    monthlyPersistence: number;
    npv: number;
    paybackMonths: number | null;
  };
}

export interface ReportOptions {
  now: Date;
  /** Margin share for purchases without a recorded gross margin (config.analytics.defaultGrossMargin). */
  defaultGrossMargin: number;
  horizonMonths?: number;
  annualDiscountRate?: number;
  /** Share of the monthly incremental margin that persists into the next month (default 0.8). */
  monthlyPersistence?: number;
  bootstrapIterations?: number;
  seed?: number;
}

interface CustomerRow {
  group: string;
  band: string;
  retained: boolean;
  revenue: number;
  margin: number;
  delivered: boolean;
}

function arm(rows: CustomerRow[]): ArmStats {
  const customers = rows.length;
  const retained = rows.filter((r) => r.retained).length;
  const revenue = rows.reduce((s, r) => s + r.revenue, 0);
  const margin = rows.reduce((s, r) => s + r.margin, 0);
  return {
    customers,
    retained,
    retentionRate: customers ? retained / customers : Number.NaN,
    revenue,
    revenuePerCustomer: customers ? revenue / customers : Number.NaN,
    margin,
  };
}

function lift(rows: CustomerRow[], redemptions: { n: number; cost: number }, options: ReportOptions): LiftReport {
  const t = rows.filter((r) => r.group === "treatment");
  const c = rows.filter((r) => r.group === "control");
  const treatment = arm(t);
  const control = arm(c);
  // Large campaigns: fewer resamples keep the report interactive (the interval is stable by then).
  const iterations = options.bootstrapIterations ?? (rows.length > 200_000 ? 200 : 2000);
  const perCustomer = (xs: CustomerRow[]) => Float64Array.from(xs, (r) => r.revenue);
  const both = t.length > 0 && c.length > 0;
  const incrementalRevenue = both
    ? (treatment.revenuePerCustomer - control.revenuePerCustomer) * treatment.customers
    : 0;
  const incrementalMargin = both
    ? (treatment.margin / treatment.customers - control.margin / control.customers) * treatment.customers
    : 0;
  return {
    treatment,
    control,
    delivered: t.filter((r) => r.delivered).length,
    redemptions: redemptions.n,
    cost: redemptions.cost,
    retentionLift: twoProportionLift(treatment.retained, treatment.customers, control.retained, control.customers),
    revenuePerCustomerLift: bootstrapMeanDiff(perCustomer(t), perCustomer(c), { iterations, seed: options.seed ?? 1 }),
    incrementalRevenue,
    incrementalMargin,
    roi: campaignRoi({
      treatedRevenue: treatment.revenue,
      treatedCustomers: treatment.customers,
      controlRevenue: control.revenue,
      controlCustomers: control.customers,
      cost: redemptions.cost,
    }),
  };
}

/**
 * Builds the report of one campaign. The window starts at the campaign's start (or when it
 * was planned); `complete` says whether the window has ended at `now`.
 * @returns the report, or `not_found`.
 */
export async function campaignReport(
  db: Database,
  campaignId: number,
  options: ReportOptions,
): Promise<Result<CampaignReport, CampaignError>> {
  const found = await getCampaign(db, campaignId);
  if (!found.ok) return found;
  const campaign = found.value;
  const from = campaign.startsAt ?? campaign.plannedAt ?? campaign.createdAt;
  const to = new Date(from.getTime() + campaign.windowDays * 86_400_000);
  const fromIso = from.toISOString();
  const toIso = to.toISOString();

  const rows = await db.prisma.$queryRaw<CustomerRow[]>`
    SELECT a."group", coalesce(a.risk_band, 'unknown') AS band,
      coalesce(p.n, 0) > 0 AS retained,
      (coalesce(p.revenue, 0) - coalesce(rf.refunded, 0))::float8 AS revenue,
      (coalesce(p.margin, 0) - coalesce(rf.refunded, 0) * ${options.defaultGrossMargin}::float8)::float8 AS margin,
      EXISTS (SELECT 1 FROM outbox_messages m WHERE m.campaign_id = a.campaign_id AND m.customer_id = a.customer_id AND m.status = 'sent') AS delivered
    FROM campaign_assignments a
    LEFT JOIN LATERAL (
      SELECT count(*) AS n, sum(pu.amount) AS revenue, sum(coalesce(pu.gross_margin, pu.amount * ${options.defaultGrossMargin}::float8)) AS margin
      FROM purchases pu
      WHERE pu.customer_id = a.customer_id
        AND pu.purchased_at >= (${fromIso}::timestamptz AT TIME ZONE 'UTC') AND pu.purchased_at < (${toIso}::timestamptz AT TIME ZONE 'UTC')
    ) p ON true
    -- money is net: refunds in the window come off the revenue (and their margin off the margin)
    LEFT JOIN LATERAL (
      SELECT sum(r.amount) AS refunded FROM refunds r
      WHERE r.customer_id = a.customer_id
        AND r.refunded_at >= (${fromIso}::timestamptz AT TIME ZONE 'UTC') AND r.refunded_at < (${toIso}::timestamptz AT TIME ZONE 'UTC')
    ) rf ON true
    WHERE a.campaign_id = ${campaignId} AND a."group" IN ('treatment', 'control')`;
  const redeemed = await db.prisma.$queryRaw<{ band: string; n: number; cost: number }[]>`
    SELECT coalesce(a.risk_band, 'unknown') AS band, count(*)::int AS n, coalesce(sum(o.cost), 0)::float8 AS cost
    FROM redemptions r
    JOIN offer_issues i ON i.id = r.offer_issue_id
    JOIN offers o ON o.id = i.offer_id
    JOIN campaign_assignments a ON a.campaign_id = i.campaign_id AND a.customer_id = i.customer_id
    WHERE i.campaign_id = ${campaignId}
      AND r.redeemed_at >= (${fromIso}::timestamptz AT TIME ZONE 'UTC') AND r.redeemed_at < (${toIso}::timestamptz AT TIME ZONE 'UTC')
    GROUP BY 1`;
  const total = redeemed.reduce((s, r) => ({ n: s.n + r.n, cost: s.cost + r.cost }), { n: 0, cost: 0 });
  const overall = lift(rows, total, options);
  const byRiskBand: Record<string, LiftReport> = {};
  for (const band of [...new Set(rows.map((r) => r.band))].sort()) {
    const r = redeemed.find((x) => x.band === band);
    byRiskBand[band] = lift(
      rows.filter((x) => x.band === band),
      { n: r?.n ?? 0, cost: r?.cost ?? 0 },
      options,
    );
  }

  const policy = await policyReport(db, campaignId, overall);

  const horizonMonths = options.horizonMonths ?? 12;
  const annualDiscountRate = options.annualDiscountRate ?? 0.1;
  const monthlyPersistence = options.monthlyPersistence ?? 0.8;
  const monthlyRate = (1 + annualDiscountRate) ** (1 / 12) - 1;
  const flows = projectMonthlyMargin(overall.incrementalMargin, campaign.windowDays, horizonMonths, monthlyPersistence);
  return ok({
    campaignId,
    name: campaign.name,
    window: { from, to, complete: options.now >= to },
    overall,
    policy,
    byRiskBand,
    value: {
      horizonMonths,
      annualDiscountRate,
      monthlyPersistence,
      npv: npv(overall.cost, flows, monthlyRate),
      paybackMonths: paybackPeriods(overall.cost, flows, monthlyRate),
    },
  });
}

async function policyReport(db: Database, campaignId: number, overall: LiftReport): Promise<PolicyReport> {
  const rows = await db.prisma.$queryRaw<
    { planned_at: Date; key: string; n: number; explored: number; expected_retained: number; expected_value: number }[]
  >`
    SELECT a.assigned_at AS planned_at, o.key, count(*)::int AS n, count(*) FILTER (WHERE a.explore)::int AS explored,
      coalesce(sum(a.expected_uplift), 0)::float8 AS expected_retained, coalesce(sum(a.expected_value), 0)::float8 AS expected_value
    FROM campaign_assignments a JOIN offers o ON o.id = a.offer_id
    WHERE a.campaign_id = ${campaignId} AND a."group" = 'treatment'
    GROUP BY 1, 2 ORDER BY 1, 2`;
  const rounds: PolicyRound[] = [];
  for (const r of rows) {
    let round = rounds.find((x) => x.plannedAt.getTime() === r.planned_at.getTime());
    if (!round) {
      round = { plannedAt: r.planned_at, treated: 0, explored: 0, expectedRetained: 0, expectedValue: 0, offerMix: {} };
      rounds.push(round);
    }
    round.treated += r.n;
    round.explored += r.explored;
    round.expectedRetained += r.expected_retained;
    round.expectedValue += r.expected_value;
    round.offerMix[r.key] = r.n;
  }
  const treated = overall.treatment.customers;
  const l = overall.retentionLift;
  return {
    rounds,
    expectedRetained: rounds.reduce((s, r) => s + r.expectedRetained, 0),
    expectedValue: rounds.reduce((s, r) => s + r.expectedValue, 0),
    realisedRetained: { estimate: l.estimate * treated, low: l.low * treated, high: l.high * treated },
    realisedValue: overall.incrementalMargin - overall.cost,
  };
}

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "n/a");
const money = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "n/a");
const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(1)}` : "n/a");
const count = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");

/** The report as readable lines (CLI, demo). Numbers only, no customer data. */
export function formatCampaignReport(report: CampaignReport): string[] {
  const line = (label: string, l: LiftReport) =>
    `${label.padEnd(9)} treated ${l.treatment.customers} (delivered ${l.delivered}), control ${l.control.customers}; ` +
    `retention ${pct(l.treatment.retentionRate)} vs ${pct(l.control.retentionRate)}, lift ${pct(l.retentionLift.estimate)} ` +
    `[95% CI ${pct(l.retentionLift.low)}, ${pct(l.retentionLift.high)}]; revenue/customer ${money(l.treatment.revenuePerCustomer)} vs ` +
    `${money(l.control.revenuePerCustomer)} (lift ${money(l.revenuePerCustomerLift.estimate)} [${money(l.revenuePerCustomerLift.low)}, ` +
    `${money(l.revenuePerCustomerLift.high)}]); incremental revenue ${money(l.incrementalRevenue)}, cost ${money(l.cost)} ` +
    `(${l.redemptions} redemptions), ROI ${l.roi === null ? "n/a" : l.roi.toFixed(2)}`;
  const v = report.value;
  return [
    `Campaign ${report.campaignId} "${report.name}": window ${report.window.from.toISOString().slice(0, 10)} .. ${report.window.to.toISOString().slice(0, 10)}${report.window.complete ? "" : " (still open)"}`,
    line("overall", report.overall),
    ...Object.entries(report.byRiskBand).map(([band, l]) => line(band, l)),
    ...formatPolicy(report.policy),
    `NPV over ${v.horizonMonths} months (${pct(v.annualDiscountRate)} a year, ${pct(v.monthlyPersistence)} of the effect kept each month): ${money(v.npv)}; payback ${v.paybackMonths === null ? "not within the horizon" : `${v.paybackMonths.toFixed(1)} months`}`,
  ];
}

/** The policy's expectations beside what the experiment measured, and the offer mix per planning run. */
export function formatPolicy(policy: PolicyReport): string[] {
  const r = policy.realisedRetained;
  return [
    `policy    expected ${signed(policy.expectedRetained)} customers retained, value ${money(policy.expectedValue)}; ` +
      `realised ${signed(r.estimate)} [95% CI ${count(r.low)}, ${count(r.high)}], value ${money(policy.realisedValue)} (incremental margin - redeemed cost)`,
    ...policy.rounds.map(
      (round) =>
        `  planned ${round.plannedAt.toISOString().slice(0, 16).replace("T", " ")}: ${round.treated} treated (${round.explored} exploring), ` +
        `expected ${signed(round.expectedRetained)}; offers ${Object.entries(round.offerMix)
          .map(([k, n]) => `${k} ${n}`)
          .join(", ")}`,
    ),
  ];
}
