import { afterEach, beforeEach, expect, it } from "vitest";
import { insertScoredCustomers } from "../core/campaigns/test-fixtures";
import { loadConfig } from "../core/config/config";
import type { Database } from "../core/db/client";
import { silentLogger } from "../core/log";
import { decodeCallback } from "../core/messaging/callback-data";
import { claimDueMessages } from "../core/messaging/outbox";
import { renderMessage } from "../core/messaging/render";
import { createTestDatabase, describeEachDatabase } from "../test/helpers/db";
import type { AppContext } from "./context";
import { servqualSurveyJob, surveyJob } from "./survey.job";

const NOW = new Date("2026-05-05T10:00:00Z");

describeEachDatabase("survey jobs", (kind) => {
  let db: Database;
  let ctx: AppContext;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
    ctx = {
      config: loadConfig({ SURVEY_WAVE_SIZE: "8", CRON_SURVEY_SERVQUAL: "0 12 1 * *" }),
      db,
      log: silentLogger,
      now: () => NOW,
      close: async () => undefined,
    };
  });
  afterEach(async () => {
    await db.close();
  });

  it("invite a wave to SERVQUAL with a start button, within the caps and spacing, then NPS only to the rest", async () => {
    const { ids } = await insertScoredCustomers(
      db,
      Array.from({ length: 12 }, (_, i) => ({
        externalId: `sj${i}`,
        churnProbability: 0.5,
        clv: 10,
        consent: i !== 0,
        linked: i !== 1,
      })),
      NOW,
    );
    // customer 2 had an offer an hour ago: within the marketing spacing
    await db.prisma.outboxMessage.create({
      data: {
        idempotencyKey: "offer:2",
        customerId: ids[2]!,
        kind: "offer",
        status: "sent",
        sentAt: new Date(NOW.getTime() - 3_600_000),
      },
    });

    const servqual = await servqualSurveyJob.run(ctx);
    expect(servqual).toEqual({ kind: "servqual", waveId: "servqual-2026-05-05", eligible: 9, queued: 8 });
    expect(servqualSurveyJob.cronFrom(ctx.config)).toBe("0 12 1 * *");
    const invited = await db.prisma.outboxMessage.findMany({ where: { kind: "survey_servqual" } });
    expect(invited).toHaveLength(8);
    const excluded = new Set([ids[0], ids[1], ids[2]]);
    expect(invited.some((m) => excluded.has(m.customerId!))).toBe(false);

    // each invitation renders with a button that starts the survey for that very message
    const [claimed] = await claimDueMessages(db, { limit: 1, workerId: "t", now: NOW, leaseMs: 60_000 });
    const rendered = await renderMessage(claimed!, { locale: "en" });
    expect(decodeCallback(rendered.buttons?.[0]?.[0]?.data)).toEqual({
      type: "servqual_start",
      outboxId: claimed!.outboxId,
    });

    // the NPS job the same day reaches only the one eligible customer the SERVQUAL wave left out
    const nps = await surveyJob.run(ctx);
    expect(nps).toMatchObject({ kind: "nps", eligible: 1, queued: 1 });
    // and running it again the same day queues nothing more
    expect(await surveyJob.run(ctx)).toMatchObject({ queued: 0 });
  });
});
