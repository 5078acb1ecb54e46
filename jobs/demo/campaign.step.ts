// Demo: a retention campaign on the synthetic at-risk customers with a KNOWN true uplift.
// Plan (treatment/control recorded first), dry-run the sends, simulate what customers do over
// the attribution window, then check that the report's 95% interval for the lift contains the
// truth, and print incremental revenue, cost, ROI, NPV and payback.
import { scoreAll } from "../../core/analytics/scoring";
import { createCampaign } from "../../core/campaigns/campaign";
import { contactPolicyFromConfig } from "../../core/campaigns/contact-policy";
import { upsertOffer } from "../../core/campaigns/offer-catalogue";
import { planCampaign } from "../../core/campaigns/plan";
import { campaignReport } from "../../core/campaigns/report";
import { DryRunChannel } from "../../core/messaging/dry-run-channel";
import { defaultTranslator } from "../../core/messaging/locales";
import { runDispatch } from "../dispatch.job";
import { liftCoverage, simulateCampaignOutcomes } from "./campaign-simulation";
import type { DemoStep } from "./demo-step";

const TRUE_UPLIFT = 0.1; // +10 percentage points of customers buying within the window
const WINDOW_DAYS = 30;
const HOUR = 3_600_000;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const money = (x: number) => x.toLocaleString("en", { maximumFractionDigits: 0 });

export const campaignStep: DemoStep = {
  title: "A retention campaign with a control group (simulated, true uplift +10 points)",
  async run(ctx) {
    const t0 = Date.now();
    const runs = await ctx.db.prisma.scoreRun.count({ where: { finishedAt: { not: null } } });
    if (runs === 0) {
      // Only when no earlier step scored the customers: BG/NBD scores, no model training.
      const scored = await scoreAll(ctx.db, {
        asOf: ctx.asOf,
        config: ctx.config.analytics,
        log: ctx.log,
        now: ctx.now,
        trainIfMissing: false,
      });
      ctx.print(
        `scored ${scored.customers} customers first (${scored.method}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
      );
    }

    for (const offer of [
      {
        key: "winback-10",
        title: "10% off your next order",
        translations: { ru: { title: "скидка 10% на следующий заказ" } },
        kind: "percent_off" as const,
        value: 10,
        cost: 4,
        saveProbability: 0.12,
      },
      {
        key: "winback-20",
        title: "20% off your next order",
        translations: { ru: { title: "скидка 20% на следующий заказ" } },
        kind: "percent_off" as const,
        value: 20,
        cost: 9,
        saveProbability: 0.2,
      },
      {
        key: "free-shipping",
        title: "Free shipping on your next order",
        translations: { ru: { title: "бесплатная доставка следующего заказа" } },
        kind: "free_shipping" as const,
        value: 0,
        cost: 2,
        saveProbability: 0.06,
      },
    ]) {
      const saved = await upsertOffer(ctx.db, offer);
      if (!saved.ok) throw new Error(saved.error.problems.join("; "));
    }
    const created = await createCampaign(
      ctx.db,
      {
        name: "Win back at-risk customers",
        offerKeys: ["winback-10", "winback-20", "free-shipping"],
        controlShare: 0.2,
        budget: 6000,
        seed: `demo-${ctx.config.demo.seed}`,
        windowDays: WINDOW_DAYS,
        targeting: { riskBands: ["medium", "high"] },
      },
      { now: ctx.asOf },
    );
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    const campaignId = created.value.id;
    const policy = contactPolicyFromConfig(ctx.config);
    const planned = await planCampaign(ctx.db, campaignId, { now: ctx.asOf, policy });
    if (!planned.ok) throw new Error(JSON.stringify(planned.error));
    const p = planned.value;
    ctx.print(
      `planned in ${p.durationMs} ms: treatment ${p.treatment}, control ${p.control} (recorded before sending), offers issued ${p.offersIssued}, committed offer cost ${money(p.committedCost)} of 6,000 budget`,
    );
    ctx.print(
      `not in the experiment: ${
        Object.entries(p.excluded)
          .map(([k, n]) => `${k} ${n}`)
          .join(", ") || "nobody"
      }`,
    );

    // Dry-run delivery. Quiet hours hold messages until 9:00 in each customer's own zone, and
    // each offer waits for its customer's send hour, so the dispatcher runs every hour for two days.
    const channel = new DryRunChannel(ctx.log, {
      translate: defaultTranslator({ brand: ctx.config.business.brandName }),
    });
    const sent = { sent: 0, deferred: 0, held: 0, skipped: 0 };
    for (let hours = 1; hours <= 48; hours++) {
      const at = new Date(ctx.asOf.getTime() + hours * HOUR);
      const stats = await runDispatch({ ...ctx, now: () => at }, channel, { batchSize: 500 });
      sent.sent += stats.sent;
      sent.deferred += stats.deferred;
      sent.held += stats.held;
      sent.skipped += Object.values(stats.skipped).reduce((s, n) => s + n, 0);
    }
    ctx.print(
      `dry-run dispatch: ${sent.sent} offers rendered and logged (deferred for quiet hours along the way: ${sent.deferred}, held for the customer's send hour: ${sent.held}, skipped: ${sent.skipped})`,
    );

    const simulated = await simulateCampaignOutcomes(ctx.db, {
      campaignId,
      from: ctx.asOf,
      windowDays: WINDOW_DAYS,
      uplift: TRUE_UPLIFT,
      redemptionShare: 0.6,
      seed: ctx.config.demo.seed,
    });
    ctx.print(
      `simulated ${WINDOW_DAYS} days: ${simulated.purchases} returning buyers, ${simulated.redemptions} codes redeemed; true average uplift ${pct(simulated.trueUplift)}`,
    );

    const result = await campaignReport(ctx.db, campaignId, {
      now: new Date(ctx.asOf.getTime() + (WINDOW_DAYS + 1) * 24 * HOUR),
      defaultGrossMargin: ctx.config.analytics.defaultGrossMargin,
      seed: ctx.config.demo.seed,
    });
    if (!result.ok) throw new Error(JSON.stringify(result.error));
    const r = result.value;
    const o = r.overall;
    const l = o.retentionLift;
    const covered = l.low <= simulated.trueUplift && simulated.trueUplift <= l.high;
    ctx.print(
      `treatment ${o.treatment.customers} customers: retention ${pct(o.treatment.retentionRate)}; control ${o.control.customers}: ${pct(o.control.retentionRate)}`,
    );
    ctx.print(
      `lift ${pct(l.estimate)} [95% CI ${pct(l.low)}, ${pct(l.high)}], p = ${l.pValue?.toFixed(4)}; true uplift ${pct(simulated.trueUplift)} ${covered ? "IS inside the interval" : "is NOT inside the interval"}`,
    );
    const coverage = liftCoverage(
      simulated.population,
      TRUE_UPLIFT,
      simulated.trueUplift,
      1000,
      ctx.config.demo.seed + 1,
    );
    ctx.print(
      `the experiment replayed 1,000 times (fresh split and outcomes): the 95% interval contained the true uplift in ${pct(coverage)} of them`,
    );
    for (const [band, b] of Object.entries(r.byRiskBand)) {
      ctx.print(
        `  ${band.padEnd(6)} treated ${b.treatment.customers}, control ${b.control.customers}: lift ${pct(b.retentionLift.estimate)} [${pct(b.retentionLift.low)}, ${pct(b.retentionLift.high)}], ROI ${b.roi === null ? "n/a" : b.roi.toFixed(2)}`,
      );
    }
    ctx.print(
      `revenue per customer ${o.treatment.revenuePerCustomer.toFixed(2)} vs ${o.control.revenuePerCustomer.toFixed(2)} ` +
        `(lift ${o.revenuePerCustomerLift.estimate.toFixed(2)} [bootstrap 95% CI ${o.revenuePerCustomerLift.low.toFixed(2)}, ${o.revenuePerCustomerLift.high.toFixed(2)}])`,
    );
    ctx.print(
      `incremental revenue ${money(o.incrementalRevenue)}, cost of redeemed offers ${money(o.cost)} (${o.redemptions}), ROI ${o.roi === null ? "n/a" : o.roi.toFixed(2)}`,
    );
    const v = r.value;
    ctx.print(
      `NPV of incremental margin over ${v.horizonMonths} months (${pct(v.annualDiscountRate)} a year, ${pct(v.monthlyPersistence)} of the effect kept monthly): ${money(v.npv)}; ` +
        `payback ${v.paybackMonths === null ? "not within the horizon" : `${v.paybackMonths.toFixed(1)} months`}`,
    );
  },
};
