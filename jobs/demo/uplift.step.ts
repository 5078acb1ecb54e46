// Demo: offers that learn who can be saved. Three campaign rounds, 35 days apart, in a world
// where some customers are persuadable, some not and some put off by offers (uplift-world.ts;
// the types are hidden from the product). Each round runs the product's own path: the uplift
// model is re-fitted from the finished campaigns, the campaign is planned by expected
// incremental value (with its random control group and exploring share), the offers are
// delivered (simulated), and what customers did is written to the database for the next fit.
// Beside it, risk-only targeting (highest churn probability first, the hand-typed best offer)
// spends the same money on the same eligible customers, and both are scored on the truth.
import { createCampaign } from "../../core/campaigns/campaign";
import { contactPolicyFromConfig, contactRefusalSql } from "../../core/campaigns/contact-policy";
import { assignmentHash, planCampaign } from "../../core/campaigns/plan";
import { campaignReport, formatPolicy } from "../../core/campaigns/report";
import { fitUpliftModel } from "../../core/campaigns/uplift-model";
import { sqlTimestamp } from "../../core/messaging/outbox";
import type { DemoStep } from "./demo-step";
import { simulateRound, UpliftWorld, type WorldCustomer } from "./uplift-world";

const ROUNDS = 3;
const ROUND_DAYS = 35;
const WINDOW_DAYS = 30;
const BUDGET = 1200;
const CONTROL_SHARE = 0.2;
const OFFER_KEYS = ["winback-10", "winback-20", "free-shipping"];
const RISK_BANDS = ["medium", "high"] as const;
const DAY = 86_400_000;

const per100 = (retained: number, sent: number) => (sent ? (100 * retained) / sent : 0);
const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;

interface EligibleRow {
  customer_id: number;
  churn: number;
  risk_band: string;
  segment: string;
  clv: number;
}

export const upliftStep: DemoStep = {
  title: "Offers that learn who can be saved (simulated persuadables, sure things, lost causes, sleeping dogs)",
  async run(ctx) {
    const world = new UpliftWorld(ctx.config.demo.seed);
    const policy = contactPolicyFromConfig(ctx.config);
    const offers = await ctx.db.prisma.offer.findMany({ where: { key: { in: OFFER_KEYS } } });
    if (offers.length !== OFFER_KEYS.length) throw new Error("the campaign step adds the demo offers first");
    const totals = { policySent: 0, policyRetained: 0, riskSent: 0, riskRetained: 0, control: 0 };
    let last = { policy: 0, risk: 0 };
    let lastCampaign = 0;

    for (let round = 1; round <= ROUNDS; round++) {
      const now = new Date(ctx.asOf.getTime() + round * ROUND_DAYS * DAY);
      const model = await fitUpliftModel(ctx.db, { now });
      const seed = `uplift-demo-${ctx.config.demo.seed}-${round}`;

      // The eligible customers as the planner will see them, read before it queues anything.
      const refusal = contactRefusalSql(policy, now, { customer: "c", kind: "offer" });
      const eligible = await ctx.db.prisma.$queryRaw<EligibleRow[]>`
        SELECT s.customer_id, s.churn_probability AS churn, s.risk_band, s.segment, coalesce(s.clv, 0) AS clv
        FROM scores s JOIN customers c ON c.id = s.customer_id
        WHERE s.run_id = (SELECT max(id) FROM score_runs WHERE finished_at IS NOT NULL)
          AND s.risk_band = ANY(${[...RISK_BANDS]}::text[]) AND ${refusal} IS NULL`;

      const created = await createCampaign(
        ctx.db,
        {
          name: `Learned offers, round ${round}`,
          offerKeys: OFFER_KEYS,
          controlShare: CONTROL_SHARE,
          exploreShare: 0.1,
          budget: BUDGET,
          seed,
          windowDays: WINDOW_DAYS,
          targeting: { riskBands: [...RISK_BANDS] },
        },
        { now },
      );
      if (!created.ok) throw new Error(JSON.stringify(created.error));
      const campaignId = created.value.id;
      lastCampaign = campaignId;
      const planned = await planCampaign(ctx.db, campaignId, { now, policy });
      if (!planned.ok) throw new Error(JSON.stringify(planned.error));
      // Simulated delivery: every queued offer counts as sent at once.
      await ctx.db.prisma.$executeRaw`
        UPDATE outbox_messages SET status = 'sent', sent_at = ${sqlTimestamp(now)} WHERE campaign_id = ${campaignId}`;
      const outcome = await simulateRound(ctx.db, world, { campaignId, round, from: now, windowDays: WINDOW_DAYS });
      const policyRetained = world.incrementalRetained(outcome.treated, round);

      // Risk-only at the same spend: the highest churn probabilities among the same eligible
      // customers outside this campaign's control group, each with the hand-typed best offer.
      const riskOnly: (WorldCustomer & { offerKey: string })[] = [];
      let spent = 0;
      const byRisk = eligible
        .filter((e) => assignmentHash(seed, e.customer_id) >= CONTROL_SHARE)
        .sort((a, b) => b.churn - a.churn || a.customer_id - b.customer_id);
      for (const e of byRisk) {
        const best = offers
          .map((o) => ({ o, ev: e.churn * o.saveProbability * e.clv - Number(o.cost) }))
          .reduce((a, b) => (b.ev > a.ev ? b : a));
        if (spent + Number(best.o.cost) > planned.value.committedCost) break;
        spent += Number(best.o.cost);
        riskOnly.push({
          customerId: e.customer_id,
          segment: e.segment,
          riskBand: e.risk_band,
          churnProbability: e.churn,
          offerKey: best.o.key,
        });
      }
      const riskRetained = world.incrementalRetained(riskOnly, round);

      const mix = new Map<string, number>();
      for (const t of outcome.treated) mix.set(t.offerKey, (mix.get(t.offerKey) ?? 0) + 1);
      ctx.print(
        `round ${round}: uplift model ${model ? `from ${model.campaigns} finished campaign(s), Qini on the newest held out ${model.qini === null ? "n/a" : model.qini.toFixed(2)}` : "none yet (hand-typed priors)"}; ` +
          `${outcome.treated.length} offers (${[...mix].map(([k, n]) => `${k} ${n}`).join(", ")}), ${outcome.control} control`,
      );
      ctx.print(
        `  realised incremental retention: policy ${signed(policyRetained)} (${signed(per100(policyRetained, outcome.treated.length))} per 100 messages), ` +
          `risk-only ${signed(riskRetained)} from ${riskOnly.length} messages (${signed(per100(riskRetained, riskOnly.length))} per 100), same spend ${Math.round(spent)} of ${Math.round(planned.value.committedCost)}`,
      );
      totals.policySent += outcome.treated.length;
      totals.policyRetained += policyRetained;
      totals.riskSent += riskOnly.length;
      totals.riskRetained += riskRetained;
      totals.control += outcome.control;
      last = {
        policy: per100(policyRetained, outcome.treated.length),
        risk: per100(riskRetained, riskOnly.length),
      };
    }

    // What `retention campaign report` says of the last round once its window has closed.
    const report = await campaignReport(ctx.db, lastCampaign, {
      now: new Date(ctx.asOf.getTime() + (ROUNDS * ROUND_DAYS + WINDOW_DAYS + 1) * DAY),
      defaultGrossMargin: ctx.config.analytics.defaultGrossMargin,
      bootstrapIterations: 200,
      seed: ctx.config.demo.seed,
    });
    if (report.ok)
      for (const line of formatPolicy(report.value.policy)) ctx.print(`  report, round ${ROUNDS}: ${line.trim()}`);

    const [leak] = await ctx.db.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM campaign_assignments a JOIN campaigns k ON k.id = a.campaign_id
      WHERE k.name LIKE 'Learned offers, round %' AND a."group" = 'control'
        AND (EXISTS (SELECT 1 FROM offer_issues i WHERE i.campaign_id = a.campaign_id AND i.customer_id = a.customer_id)
          OR EXISTS (SELECT 1 FROM outbox_messages m WHERE m.campaign_id = a.campaign_id AND m.customer_id = a.customer_id))`;
    const all = {
      policy: per100(totals.policyRetained, totals.policySent),
      risk: per100(totals.riskRetained, totals.riskSent),
    };
    ctx.print(
      `over the ${ROUNDS} rounds: policy ${signed(all.policy)} retained per 100 messages, risk-only ${signed(all.risk)}`,
    );
    ctx.print(
      `uplift policy (round ${ROUNDS}): ${signed(last.policy)} retained per 100 messages vs risk-only ${signed(last.risk)} ` +
        `(ratio ${last.risk > 0 ? `${(last.policy / last.risk).toFixed(2)}x` : "n/a, risk-only gained nothing"}), ` +
        `control groups: ${totals.control} customers, ${leak?.n ?? 0} of them sent an offer`,
    );
  },
};
