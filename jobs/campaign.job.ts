// The campaign job: plans every campaign due for planning (drafts, and active ones with a
// schedule). Planning is idempotent, so a re-run only adds newly eligible customers.
// One failing campaign is logged and does not stop the others. The uplift estimate is re-fitted
// from the finished campaigns first, so planning uses what the last experiments taught.
import type { Config } from "../core/config/config";
import { campaignsDueForPlanning } from "../core/campaigns/campaign";
import { contactPolicyFromConfig } from "../core/campaigns/contact-policy";
import { planCampaign } from "../core/campaigns/plan";
import { fitUpliftModel } from "../core/campaigns/uplift-model";
import type { AppContext } from "./context";

export const campaignJob = {
  name: "campaign",
  cronFrom: (config: Config) => config.schedule.cron.campaign,
  async run(ctx: AppContext): Promise<Record<string, unknown>> {
    const policy = contactPolicyFromConfig(ctx.config);
    const results: Record<string, unknown>[] = [];
    // Campaigns whose window has ended since the last run teach the policy before it plans.
    const uplift = await fitUpliftModel(ctx.db, {
      now: ctx.now(),
      learnerShrinkage: ctx.config.analytics.upliftLearnerShrinkage,
    });
    if (uplift)
      ctx.log.info(
        {
          upliftModelId: uplift.id,
          qini: uplift.qini,
          learnerQini: uplift.learner?.qini ?? null,
          learnerWeight: uplift.learner?.weight ?? 0,
          campaigns: uplift.campaigns,
        },
        "uplift re-fitted",
      );
    for (const campaign of await campaignsDueForPlanning(ctx.db)) {
      try {
        const planned = await planCampaign(ctx.db, campaign.id, { now: ctx.now(), policy });
        if (planned.ok) {
          ctx.log.info({ ...planned.value }, "campaign planned");
          results.push({ ...planned.value });
        } else {
          ctx.log.warn({ campaignId: campaign.id, error: planned.error }, "campaign not planned");
          results.push({ campaignId: campaign.id, error: planned.error.type });
        }
      } catch (error) {
        ctx.log.error({ err: error, campaignId: campaign.id }, "campaign planning failed");
        results.push({ campaignId: campaign.id, error: "failed" });
      }
    }
    return { upliftModelId: uplift?.id ?? null, campaigns: results };
  },
};
