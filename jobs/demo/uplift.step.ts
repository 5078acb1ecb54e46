// Demo: offers that learn who can be saved. Three campaign rounds, 35 days apart (customers
// re-scored before each, as the nightly job would), in a world
// where some customers are persuadable, some not and some put off by offers (uplift-world.ts;
// the types are hidden from the product). Each round runs the product's own path twice, on two
// disjoint random halves of the customers (`targeting.split`): the learned policy (the uplift
// model re-fitted from the finished campaigns, its per-customer learner blended with the segment
// x risk band cells, Thompson sampling for the offer, an exploring share) and risk-only targeting
// (`targeting.rankBy = "risk"`: highest churn probability first, the hand-typed best offer), given
// the money the learned policy committed. Both are planned campaigns with their own random
// control group; the offers are delivered (simulated), what customers did is written to the
// database for the next fit (from both campaigns), and both are scored on the truth.
import { scoreAll } from "../../core/analytics/scoring";
import { createCampaign, type CampaignInput } from "../../core/campaigns/campaign";
import { contactPolicyFromConfig, type ContactPolicy } from "../../core/campaigns/contact-policy";
import { planCampaign } from "../../core/campaigns/plan";
import { campaignReport, formatPolicy } from "../../core/campaigns/report";
import { fitUpliftModel } from "../../core/campaigns/uplift-model";
import type { Database } from "../../core/db/client";
import { sqlTimestamp } from "../../core/messaging/outbox";
import type { DemoStep } from "./demo-step";
import { simulateRound, UpliftWorld, type HiddenType, type WorldCustomer } from "./uplift-world";

const ROUNDS = 3;
const ROUND_DAYS = 35;
const WINDOW_DAYS = 30;
const BUDGET = 1200;
const CONTROL_SHARE = 0.2;
const OFFER_KEYS = ["winback-10", "winback-20", "free-shipping"];
const RISK_BANDS = ["medium", "high"] as const;
const DAY = 86_400_000;
const ARMS_SEED = "uplift-demo-arms";

const per100 = (retained: number, sent: number) => (sent ? (100 * retained) / sent : 0);
const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;

/** Creates and plans one campaign, marks its messages sent, and writes what its customers did. */
async function runArm(
  db: Database,
  world: UpliftWorld,
  input: CampaignInput,
  options: { now: Date; round: number; policy: ContactPolicy; historyTo: Date },
): Promise<{
  campaignId: number;
  committed: number;
  treated: (WorldCustomer & { offerKey: string })[];
  control: number;
}> {
  const created = await createCampaign(db, input, { now: options.now });
  if (!created.ok) throw new Error(JSON.stringify(created.error));
  const campaignId = created.value.id;
  const planned = await planCampaign(db, campaignId, { now: options.now, policy: options.policy });
  if (!planned.ok) throw new Error(JSON.stringify(planned.error));
  // Simulated delivery: every queued offer counts as sent at once.
  await db.prisma.$executeRaw`
    UPDATE outbox_messages SET status = 'sent', sent_at = ${sqlTimestamp(options.now)} WHERE campaign_id = ${campaignId}`;
  const outcome = await simulateRound(db, world, {
    campaignId,
    round: options.round,
    from: options.now,
    windowDays: WINDOW_DAYS,
    historyTo: options.historyTo,
  });
  return { campaignId, committed: planned.value.committedCost, treated: outcome.treated, control: outcome.control };
}

function typeMix(world: UpliftWorld, customers: readonly WorldCustomer[]): string {
  const counts = new Map<HiddenType, number>();
  for (const c of customers) counts.set(world.typeOf(c), (counts.get(world.typeOf(c)) ?? 0) + 1);
  const n = Math.max(1, customers.length);
  return (["persuadable", "sure thing", "lost cause", "sleeping dog"] as const)
    .map((t) => `${t} ${Math.round((100 * (counts.get(t) ?? 0)) / n)}%`)
    .join(", ");
}

export const upliftStep: DemoStep = {
  title: "Offers that learn who can be saved (simulated persuadables, sure things, lost causes, sleeping dogs)",
  async run(ctx) {
    const world = new UpliftWorld(ctx.config.demo.seed);
    const policy = contactPolicyFromConfig(ctx.config);
    const offers = await ctx.db.prisma.offer.count({ where: { key: { in: OFFER_KEYS } } });
    if (offers !== OFFER_KEYS.length) throw new Error("the campaign step adds the demo offers first");
    const totals = { policySent: 0, policyRetained: 0, riskSent: 0, riskRetained: 0, control: 0 };
    let last = { policy: 0, risk: 0 };
    let lastCampaign = 0;

    for (let round = 1; round <= ROUNDS; round++) {
      const now = new Date(ctx.asOf.getTime() + round * ROUND_DAYS * DAY);
      // The nightly scoring job has run since the last round: scores see what customers did.
      await scoreAll(ctx.db, { asOf: now, config: ctx.config.analytics, log: ctx.log, now: () => now });
      const model = await fitUpliftModel(ctx.db, {
        now,
        learnerShrinkage: ctx.config.analytics.upliftLearnerShrinkage,
      });
      const seed = `uplift-demo-${ctx.config.demo.seed}-${round}`;
      const common = {
        offerKeys: OFFER_KEYS,
        controlShare: CONTROL_SHARE,
        windowDays: WINDOW_DAYS,
      };
      const learned = await runArm(
        ctx.db,
        world,
        {
          ...common,
          name: `Learned offers, round ${round}`,
          exploreShare: 0.1,
          budget: BUDGET,
          seed,
          targeting: { riskBands: [...RISK_BANDS], rankBy: "uplift", split: { seed: ARMS_SEED, part: 0, parts: 2 } },
        },
        { now, round, policy, historyTo: ctx.asOf },
      );
      lastCampaign = learned.campaignId;
      // Risk-only on the other half, with the money the learned policy committed.
      const risk = await runArm(
        ctx.db,
        world,
        {
          ...common,
          name: `Risk-only, round ${round}`,
          exploreShare: 0,
          budget: Math.max(1, learned.committed),
          seed: `${seed}:risk`,
          targeting: { riskBands: [...RISK_BANDS], rankBy: "risk", split: { seed: ARMS_SEED, part: 1, parts: 2 } },
        },
        { now, round, policy, historyTo: ctx.asOf },
      );
      const policyRetained = world.incrementalRetained(learned.treated, round);
      const riskRetained = world.incrementalRetained(risk.treated, round);
      const spent = risk.committed;

      const mix = new Map<string, number>();
      for (const t of learned.treated) mix.set(t.offerKey, (mix.get(t.offerKey) ?? 0) + 1);
      const learner = model?.learner;
      ctx.print(
        `round ${round}: uplift model ${model ? `from ${model.campaigns} finished campaign(s), cells' Qini on the newest held out ${model.qini === null ? "n/a" : model.qini.toFixed(2)}` : "none yet (hand-typed priors)"}` +
          `${learner ? `; per-customer learner Qini ${learner.qini === null ? "n/a" : learner.qini.toFixed(2)} (${learner.heldOut ?? "not measurable"}), weight ${learner.weight.toFixed(2)} against the cells` : ""}`,
      );
      ctx.print(
        `  learned policy: ${learned.treated.length} offers (${[...mix].map(([k, n]) => `${k} ${n}`).join(", ")}), ${learned.control} control; ` +
          `treated were ${typeMix(world, learned.treated)}`,
      );
      ctx.print(
        `  risk-only: ${risk.treated.length} offers, ${risk.control} control; treated were ${typeMix(world, risk.treated)}`,
      );
      ctx.print(
        `  realised incremental retention: policy ${signed(policyRetained)} (${signed(per100(policyRetained, learned.treated.length))} per 100 messages), ` +
          `risk-only ${signed(riskRetained)} from ${risk.treated.length} messages (${signed(per100(riskRetained, risk.treated.length))} per 100), same spend ${Math.round(spent)} of ${Math.round(learned.committed)}`,
      );
      totals.policySent += learned.treated.length;
      totals.policyRetained += policyRetained;
      totals.riskSent += risk.treated.length;
      totals.riskRetained += riskRetained;
      totals.control += learned.control + risk.control;
      last = {
        policy: per100(policyRetained, learned.treated.length),
        risk: per100(riskRetained, risk.treated.length),
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
      WHERE (k.name LIKE 'Learned offers, round %' OR k.name LIKE 'Risk-only, round %') AND a."group" = 'control'
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
