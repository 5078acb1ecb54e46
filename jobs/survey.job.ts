// The survey jobs: each scheduled run queues one wave of survey invitations (SURVEY_WAVE_SIZE
// customers, within the contact policy): `survey` the NPS question (CRON_SURVEY_NPS),
// `survey-servqual` the SERVQUAL survey (CRON_SURVEY_SERVQUAL). The dispatcher sends them. The
// wave id is the kind and the date, so a second run on the same day tops up only.
import type { Config } from "../core/config/config";
import { contactPolicyFromConfig } from "../core/campaigns/contact-policy";
import { planSurveyWave, type SurveyWaveKind } from "../core/surveys/survey-wave";
import type { AppContext } from "./context";

function surveyJobFor(kind: SurveyWaveKind, name: string, cronFrom: (config: Config) => string) {
  return {
    name,
    cronFrom,
    async run(ctx: AppContext): Promise<Record<string, unknown>> {
      const summary = await planSurveyWave(ctx.db, {
        kind,
        now: ctx.now(),
        policy: contactPolicyFromConfig(ctx.config),
        sampleSize: ctx.config.contact.surveyWaveSize,
      });
      ctx.log.info({ ...summary }, "survey wave queued");
      return { ...summary };
    },
  };
}

export const surveyJob = surveyJobFor("nps", "survey", (config) => config.schedule.cron.surveyNps);
export const servqualSurveyJob = surveyJobFor(
  "servqual",
  "survey-servqual",
  (config) => config.schedule.cron.surveyServqual,
);

/** The job `retention run survey --kind <kind>` runs. */
export const SURVEY_JOB_BY_KIND = { nps: "survey", servqual: "survey-servqual" } as const satisfies Record<
  SurveyWaveKind,
  string
>;
