// The nightly clean-up job: handled-update ids and expired link tokens past keeping.
import type { Config } from "../core/config/config";
import { runHousekeeping } from "../core/db/housekeeping";
import type { AppContext } from "./context";

export const housekeepingJob = {
  name: "housekeeping",
  cronFrom: (config: Config) => config.schedule.cron.housekeeping,
  async run(ctx: AppContext): Promise<Record<string, unknown>> {
    const deleted = await runHousekeeping(ctx.db, { now: ctx.now() });
    ctx.log.info(deleted, "housekeeping done");
    return { ...deleted };
  },
};
