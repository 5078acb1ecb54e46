// The assistant's read-only tools over metrics and campaign results (aggregates only, no
// personal data).
import { z } from "zod";
import { computeMetrics } from "../analytics/metrics";
import { campaignReport } from "../campaigns/report";
import { defineTool, isoDate, parseIsoDate, toolSegment } from "./toolbox";

const DAY = 86_400_000;

export const metricsTool = defineTool({
  name: "retention_metrics",
  description:
    "Retention metrics for a period [from, to) and optionally one segment: NPS (with promoters, passives, detractors, respondents), churn rate (lost / customers at start), activity rate (active in 90 days / members), LTV, AOV, repeat purchase rate, purchases and revenue. Call it for two periods to compare them (e.g. why NPS dropped).",
  schema: z.object({
    from: isoDate.optional().describe("first day, YYYY-MM-DD; default 30 days before `to`"),
    to: isoDate.optional().describe("the day after the last day, YYYY-MM-DD; default tomorrow"),
    segment: z.string().max(60).optional().describe("segment name, e.g. Champions; omit for all customers"),
  }),
  run: async (input, ctx) => {
    const tomorrow = new Date(Date.UTC(ctx.now.getUTCFullYear(), ctx.now.getUTCMonth(), ctx.now.getUTCDate() + 1));
    const to = input.to ? parseIsoDate(input.to) : tomorrow;
    const from = input.from ? parseIsoDate(input.from) : new Date(to.getTime() - 30 * DAY);
    if (from >= to) return { error: "`from` must be before `to`" };
    return computeMetrics(ctx.db, {
      from,
      to,
      segment: toolSegment(input.segment),
      defaultGrossMargin: ctx.defaultGrossMargin,
    });
  },
});

export const campaignTool = defineTool({
  name: "campaign_results",
  description:
    "Results of a retention campaign against its randomised control group: retention and revenue per arm, lift with a 95% confidence interval and p-value, incremental revenue, cost, ROI, NPV and payback, overall and per risk band. Without campaignId: the list of campaigns with ids.",
  schema: z.object({ campaignId: z.number().int().positive().optional() }),
  run: async (input, ctx) => {
    if (input.campaignId === undefined) {
      const campaigns = await ctx.db.prisma.campaign.findMany({
        orderBy: { id: "desc" },
        take: 20,
        select: { id: true, name: true, status: true, startsAt: true, endsAt: true },
      });
      return { campaigns };
    }
    const report = await campaignReport(ctx.db, input.campaignId, {
      now: ctx.now,
      defaultGrossMargin: ctx.defaultGrossMargin,
    });
    return report.ok
      ? report.value
      : {
          error:
            report.error.type === "not_found"
              ? "no campaign with that id"
              : `campaign cannot be reported: ${report.error.type}`,
        };
  },
});

export const analyticsTools = [metricsTool, campaignTool];
