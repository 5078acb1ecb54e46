// The nightly scoring job: every customer scored as of now with the active churn model, then
// what the offers use learned afresh from the same history: each customer's send hour and the
// categories bought together.
import type { Config } from "../core/config/config";
import { scoreAll } from "../core/analytics/scoring";
import { contactPolicyFromConfig } from "../core/campaigns/contact-policy";
import { learnSendHours } from "../core/campaigns/send-hour";
import { learnCategoryAssociations } from "../core/offers/category-recommendation";
import type { AppContext } from "./context";

export const scoreJob = {
  name: "score",
  cronFrom: (config: Config) => config.schedule.cron.score,
  async run(ctx: AppContext): Promise<Record<string, unknown>> {
    const summary = await scoreAll(ctx.db, {
      asOf: ctx.now(),
      config: ctx.config.analytics,
      log: ctx.log,
      now: ctx.now,
    });
    const sendHours = await learnSendHours(ctx.db, {
      now: ctx.now(),
      policy: contactPolicyFromConfig(ctx.config),
      defaultHour: ctx.config.contact.sendHour.defaultHour,
      priorEvents: ctx.config.contact.sendHour.priorEvents,
    });
    const categories = await learnCategoryAssociations(ctx.db, { now: ctx.now() });
    return { ...summary, sendHours, categories };
  },
};
