// The weekly digest for staff: at-risk movement, NPS with its trend, campaign results and open
// tickets, as text lines plus one chart (weekly NPS with answer counts).
import { sqlTimestamp } from "../messaging/outbox";
import { nps, npsInterval, type NpsResult } from "../analytics/metrics";
import { campaignReport } from "../campaigns/report";
import type { Database } from "../db/client";
import { segmentOverview, type SegmentOverview } from "./segments";

const DAY = 86_400_000;

export interface DigestWeek extends NpsResult {
  weekStart: Date;
  /** The week's 95% interval (few answers, wide interval); null without answers. */
  interval: { low: number; high: number } | null;
}

export interface DigestCampaign {
  id: number;
  name: string;
  treated: number;
  control: number;
  lift: { estimate: number; low: number; high: number };
  roi: number | null;
  incrementalRevenue: number;
  complete: boolean;
}

export interface WeeklyDigest {
  /** The digest covers [from, to): the seven days before `to` (midnight UTC of the run day). */
  from: Date;
  to: Date;
  segments: SegmentOverview;
  npsWeeks: DigestWeek[];
  campaigns: DigestCampaign[];
  tickets: {
    open: number;
    pending: number;
    openedThisWeek: number;
    resolvedThisWeek: number;
    oldestOpenDays: number | null;
    medianFirstResponseMinutes: number | null;
    avgCsat: number | null;
  };
  /** Slack mrkdwn lines, no personal data. */
  lines: string[];
}

export interface DigestOptions {
  now: Date;
  riskHigh: number;
  defaultGrossMargin: number;
  currency: string;
  /** Weeks of NPS history in the trend (default 12). */
  weeks?: number;
}

const pct = (x: number | null | undefined, d = 1) =>
  x === null || x === undefined || !Number.isFinite(x) ? "n/a" : `${(x * 100).toFixed(d)}%`;
const signed = (x: number) => (x > 0 ? `+${x}` : `${x}`);

/**
 * NPS for each of `weeks` weeks from `from` (oldest first, a week without answers included with
 * zero respondents): answers of kind `nps`, as `computeMetrics` counts them, customers who asked to
 * be forgotten left out. The digest and the staff Home tab draw the same series from it.
 */
export async function weeklyNps(
  db: Database,
  options: { from: Date; weeks: number },
): Promise<(NpsResult & { weekStart: Date })[]> {
  const { from, weeks } = options;
  const to = new Date(from.getTime() + weeks * 7 * DAY);
  const rows = await db.prisma.$queryRaw<{ week: number; promoters: number; passives: number; detractors: number }[]>`
    SELECT floor(extract(epoch FROM (f.created_at - ${sqlTimestamp(from)})) / (7 * 86400))::int AS week,
           count(*) FILTER (WHERE f.score >= 9)::int AS promoters,
           count(*) FILTER (WHERE f.score BETWEEN 7 AND 8)::int AS passives,
           count(*) FILTER (WHERE f.score BETWEEN 0 AND 6)::int AS detractors
    FROM feedback f LEFT JOIN customers c ON c.id = f.customer_id
    WHERE f.kind = 'nps' AND f.score IS NOT NULL AND c.erased_at IS NULL
      AND f.created_at >= ${sqlTimestamp(from)} AND f.created_at < ${sqlTimestamp(to)}
    GROUP BY 1`;
  const byWeek = new Map(rows.map((r) => [r.week, r]));
  return Array.from({ length: weeks }, (_, i) => ({
    weekStart: new Date(from.getTime() + i * 7 * DAY),
    ...nps(byWeek.get(i) ?? { promoters: 0, passives: 0, detractors: 0 }),
  }));
}

/**
 * Builds the weekly digest from the store. NPS per week uses the same definition as
 * `computeMetrics` (answers of kind `nps` in each week); campaigns are those started in the
 * last 120 days, reported with `campaignReport`. About ten queries; no personal data.
 */
export async function buildWeeklyDigest(db: Database, options: DigestOptions): Promise<WeeklyDigest> {
  const to = new Date(Date.UTC(options.now.getUTCFullYear(), options.now.getUTCMonth(), options.now.getUTCDate()));
  const from = new Date(to.getTime() - 7 * DAY);
  const weeks = options.weeks ?? 12;
  const seriesFrom = new Date(to.getTime() - weeks * 7 * DAY);

  const [segments, npsSeries, ticketRows, campaignRows] = await Promise.all([
    segmentOverview(db, { highRisk: options.riskHigh }),
    weeklyNps(db, { from: seriesFrom, weeks }),
    db.prisma.$queryRaw<
      {
        open: number;
        pending: number;
        opened: number;
        resolved: number;
        oldest: Date | null;
        median_frt: number | null;
        avg_csat: number | null;
      }[]
    >`
      SELECT count(*) FILTER (WHERE status = 'open')::int AS open,
             count(*) FILTER (WHERE status = 'pending')::int AS pending,
             count(*) FILTER (WHERE created_at >= ${sqlTimestamp(from)} AND created_at < ${sqlTimestamp(to)})::int AS opened,
             count(*) FILTER (WHERE resolved_at >= ${sqlTimestamp(from)} AND resolved_at < ${sqlTimestamp(to)})::int AS resolved,
             min(created_at) FILTER (WHERE status <> 'resolved') AS oldest,
             (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM (first_response_at - created_at)) / 60)
               FILTER (WHERE first_response_at >= ${sqlTimestamp(from)} AND first_response_at < ${sqlTimestamp(to)}))::float8 AS median_frt,
             (avg(csat_score) FILTER (WHERE resolved_at >= ${sqlTimestamp(from)} AND resolved_at < ${sqlTimestamp(to)}))::float8 AS avg_csat
      FROM tickets`,
    db.prisma.campaign.findMany({
      where: {
        OR: [
          { startsAt: { gte: new Date(to.getTime() - 120 * DAY) } },
          { startsAt: null, createdAt: { gte: new Date(to.getTime() - 120 * DAY) } },
        ],
      },
      orderBy: { id: "desc" },
      take: 3,
      select: { id: true },
    }),
  ]);

  const npsWeeks: DigestWeek[] = npsSeries.map((week) => ({ ...week, interval: npsInterval(week) }));

  const campaigns: DigestCampaign[] = [];
  for (const c of campaignRows) {
    const report = await campaignReport(db, c.id, {
      now: options.now,
      defaultGrossMargin: options.defaultGrossMargin,
      bootstrapIterations: 200,
      seed: 1,
    });
    if (!report.ok) continue;
    const o = report.value.overall;
    campaigns.push({
      id: c.id,
      name: report.value.name,
      treated: o.treatment.customers,
      control: o.control.customers,
      lift: { estimate: o.retentionLift.estimate, low: o.retentionLift.low, high: o.retentionLift.high },
      roi: o.roi,
      incrementalRevenue: o.incrementalRevenue,
      complete: report.value.window.complete,
    });
  }

  const t = ticketRows[0]!;
  const tickets = {
    open: t.open,
    pending: t.pending,
    openedThisWeek: t.opened,
    resolvedThisWeek: t.resolved,
    oldestOpenDays: t.oldest ? Math.floor((options.now.getTime() - t.oldest.getTime()) / DAY) : null,
    medianFirstResponseMinutes: t.median_frt === null ? null : Math.round(Number(t.median_frt)),
    avgCsat: t.avg_csat === null ? null : Math.round(Number(t.avg_csat) * 10) / 10,
  };
  const digest = { from, to, segments, npsWeeks, campaigns, tickets, lines: [] as string[] };
  digest.lines = digestLines(digest, options.currency);
  return digest;
}

function digestLines(d: Omit<WeeklyDigest, "lines">, currency: string): string[] {
  const day = (x: Date) => x.toISOString().slice(0, 10);
  const lines = [`*Weekly retention digest* · ${day(d.from)} to ${day(new Date(d.to.getTime() - DAY))}`];
  const h = d.segments.highRisk;
  if (!d.segments.asOf) lines.push("*At risk*: nothing scored yet.");
  else {
    const delta =
      h.previous === null
        ? ""
        : ` (${signed(h.current - h.previous)} since the run before: ${h.newlyHigh} newly high, ${h.noLongerHigh} recovered)`;
    lines.push(`*At risk*: ${h.current} customers at high risk${delta}, scored ${day(d.segments.asOf)}.`);
    const top = [...d.segments.segments]
      .sort((a, b) => b.highRisk - a.highRisk)
      .slice(0, 3)
      .filter((s) => s.highRisk > 0);
    if (top.length) lines.push(`   most in ${top.map((s) => `${s.segment} ${s.highRisk}`).join(", ")}`);
    const move = d.segments.moves[0];
    if (move) lines.push(`   biggest move: ${move.from} → ${move.to} (${move.customers})`);
  }
  const current = d.npsWeeks.at(-1)!;
  const previous = d.npsWeeks.at(-2);
  // The trend's baseline pools every answer of the period (not a mean of weekly scores).
  const avg = nps({
    promoters: d.npsWeeks.reduce((s, w) => s + w.promoters, 0),
    passives: d.npsWeeks.reduce((s, w) => s + w.passives, 0),
    detractors: d.npsWeeks.reduce((s, w) => s + w.detractors, 0),
  }).nps;
  lines.push(
    current.nps === null
      ? `*NPS*: no answers this week${avg === null ? "" : ` (${d.npsWeeks.length}-week NPS ${avg.toFixed(1)})`}.`
      : `*NPS*: ${current.nps.toFixed(1)} this week from ${current.respondents} answers` +
          (current.interval
            ? ` (95% interval ${current.interval.low.toFixed(0)} to ${current.interval.high.toFixed(0)})`
            : "") +
          (previous?.nps !== null && previous?.nps !== undefined
            ? ` (${signed(Math.round((current.nps - previous.nps) * 10) / 10)} vs last week)`
            : "") +
          (avg === null ? "" : `; ${d.npsWeeks.length}-week NPS ${avg.toFixed(1)}`) +
          ".",
  );
  if (!d.campaigns.length) lines.push("*Campaigns*: none in the last 120 days.");
  for (const c of d.campaigns)
    lines.push(
      `*Campaign ${c.id}* ${c.name}: lift ${pct(c.lift.estimate)} [95% CI ${pct(c.lift.low)} to ${pct(c.lift.high)}], ` +
        `incremental revenue ${currency} ${Math.round(c.incrementalRevenue).toLocaleString("en-US")}, ROI ${c.roi === null ? "n/a" : c.roi.toFixed(2)}` +
        ` (${c.treated} treated / ${c.control} control${c.complete ? "" : ", window still open"})`,
    );
  const t = d.tickets;
  lines.push(
    `*Tickets*: ${t.open} open, ${t.pending} awaiting the customer; ${t.openedThisWeek} opened and ${t.resolvedThisWeek} resolved this week` +
      (t.medianFirstResponseMinutes === null ? "" : `; median first response ${t.medianFirstResponseMinutes} min`) +
      (t.avgCsat === null ? "" : `; CSAT ${t.avgCsat}/5`) +
      (t.oldestOpenDays === null ? "" : `; oldest open ${t.oldestOpenDays} days`) +
      ".",
  );
  return lines;
}
