import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../core/config/config";
import type { Database } from "../core/db/client";
import { silentLogger } from "../core/log";
import { makeGeneratedStore } from "../test/helpers/analytics-fixtures";
import { createTestDatabase } from "../test/helpers/db";
import type { AppContext } from "./context";
import { scoreJob } from "./score.job";
import { trainJob } from "./train.job";

const asOf = new Date("2025-06-01T00:00:00.000Z");

describe("train and score jobs", () => {
  let db: Database;
  let ctx: AppContext;
  beforeAll(async () => {
    db = await createTestDatabase("pglite");
    ctx = {
      config: loadConfig({ CRON_SCORE: "5 2 * * *" }),
      db,
      log: silentLogger,
      now: () => asOf,
      close: async () => undefined,
    };
  });
  afterAll(() => db.close());

  it("reports 'not trained' on an empty store instead of failing", async () => {
    const stats = await trainJob.run(ctx);
    expect(stats).toMatchObject({ trained: false });
  });

  it("trains, then scores every customer, returning stats; cron comes from the config", async () => {
    await makeGeneratedStore(db, { customers: 150, asOf, seed: 5 });
    const trained = await trainJob.run(ctx);
    expect(trained).toMatchObject({ trained: true });
    expect(trained.auc).toBeGreaterThan(0.5);
    const scored = await scoreJob.run(ctx);
    expect(scored).toMatchObject({ customers: 150, method: "logistic", modelId: trained.modelId });
    expect(scoreJob.cronFrom(ctx.config)).toBe("5 2 * * *");
    expect(trainJob.cronFrom(ctx.config)).toBe(ctx.config.schedule.cron.train);
  });
});
