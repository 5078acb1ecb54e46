// The nightly scoring job: every customer scored as of now with the active churn model.
import type { Config } from "../core/config/config";
import { scoreAll } from "../core/analytics/scoring";
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
    return { ...summary };
  },
};
