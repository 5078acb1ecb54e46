import { staleHistory } from "../../core/import/freshness";
import type { buildContext } from "../context";

/**
 * `score` and `train` without --as-of: warns on stderr when the newest purchase is older than the
 * churn horizon, suggesting --as-of with the day after it (see staleHistory). `metrics` without
 * --to passes its period's length, and is told --to instead.
 */
export async function warnIfStale(
  ctx: Awaited<ReturnType<typeof buildContext>>,
  command: string,
  periodDays?: number,
): Promise<void> {
  const stale = await staleHistory(ctx.db, {
    now: ctx.now(),
    maxDaysBehind: periodDays ?? ctx.config.analytics.churnHorizonDays,
    command,
    option: periodDays === undefined ? "--as-of" : "--to",
  });
  if (stale) {
    ctx.log.warn({ lastPurchaseAt: stale.lastPurchaseAt, daysBehind: stale.daysBehind }, "history ends long ago");
    process.stderr.write(`${stale.message}\n`);
  }
}
