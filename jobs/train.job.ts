// The weekly training job: a new churn model on the latest history, made active if it trains.
import type { Config } from "../core/config/config";
import { trainChurnModel } from "../core/analytics/training";
import type { AppContext } from "./context";

export const trainJob = {
  name: "train",
  cronFrom: (config: Config) => config.schedule.cron.train,
  async run(ctx: AppContext): Promise<Record<string, unknown>> {
    const result = await trainChurnModel(ctx.db, {
      asOf: ctx.now(),
      horizonDays: ctx.config.analytics.churnHorizonDays,
      log: ctx.log,
      now: ctx.now,
    });
    if (!result.ok) {
      // Not enough history is an expected outcome: the previous model stays active.
      ctx.log.warn({ reason: result.error.message }, "churn model not trained");
      return { trained: false, reason: result.error.message };
    }
    const { modelId, metrics, trainingMs, cutoff, activated } = result.value;
    return {
      trained: true,
      activated,
      chosen: metrics.chosen,
      bgnbd: metrics.bgnbd.method,
      modelId,
      auc: metrics.auc,
      heldOut: metrics.heldOut,
      trainRows: metrics.trainRows,
      positives: metrics.positives,
      trainingMs,
      cutoff: cutoff.toISOString(),
    };
  },
};
