// The survey job: queues one NPS wave (SURVEY_WAVE_SIZE customers) per scheduled run; the
// dispatcher sends it. The wave id is the date, so a second run on the same day tops up only.
import type { Config } from "../core/config/config";
import { contactPolicyFromConfig } from "../core/campaigns/contact-policy";
import { planSurveyWave } from "../core/surveys/survey-wave";
import type { AppContext } from "./context";

export const surveyJob = {
  name: "survey",
  cronFrom: (config: Config) => config.schedule.cron.survey,
  async run(ctx: AppContext): Promise<Record<string, unknown>> {
    const summary = await planSurveyWave(ctx.db, {
      now: ctx.now(),
      policy: contactPolicyFromConfig(ctx.config),
      sampleSize: ctx.config.contact.surveyWaveSize,
    });
    ctx.log.info({ ...summary }, "survey wave queued");
    return { ...summary };
  },
};
