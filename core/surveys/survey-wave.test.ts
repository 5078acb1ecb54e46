import { afterEach, beforeEach, expect, it } from "vitest";
import type { Database } from "../db/client";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import type { ContactPolicy } from "../campaigns/contact-policy";
import { insertScoredCustomers } from "../campaigns/test-fixtures";
import { claimDueMessages, markSending, recordSendResult } from "../messaging/outbox";
import { planSurveyWave } from "./survey-wave";

const NOW = new Date("2026-05-04T12:00:00Z");
const policy: ContactPolicy = {
  quietHoursStart: 21,
  quietHoursEnd: 9,
  offerCapDays: 14,
  surveyCapDays: 90,
  spacingHours: 24,
  declineCooldownDays: 60,
  businessTimeZone: "UTC",
};

describeEachDatabase("survey waves", (kind) => {
  let db: Database;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await db.close();
  });

  it("samples linked consenting customers, respects the survey cap, and is idempotent", async () => {
    const people = Array.from({ length: 100 }, (_, i) => ({
      externalId: `s${i}`,
      churnProbability: 0.5,
      clv: 10,
      linked: i % 5 !== 0, // 80 linked
      consent: i % 10 !== 1, // 10 of those opted out
    }));
    const { ids } = await insertScoredCustomers(db, people, NOW);
    const first = await planSurveyWave(db, { now: NOW, policy, waveId: "w1", sampleSize: 30 });
    expect(first).toEqual({ kind: "nps", waveId: "w1", eligible: 70, queued: 30 });
    const rows = await db.prisma.outboxMessage.findMany({ where: { kind: "survey_nps" } });
    for (const r of rows) {
      const p = people[ids.indexOf(r.customerId!)]!;
      expect(p.linked && p.consent).toBe(true);
      expect(r.idempotencyKey).toBe(`survey:w1:customer:${r.customerId}`);
    }
    // the same wave again queues nothing new (those 30 are pending, the sample is the same)
    expect((await planSurveyWave(db, { now: NOW, policy, waveId: "w1", sampleSize: 30 })).queued).toBe(0);

    // send them all; a new wave a month later skips everyone surveyed within the cap
    const batch = await claimDueMessages(db, { limit: 100, workerId: "w", now: NOW, leaseMs: 60_000 });
    for (const m of batch) {
      await markSending(db, m, { now: NOW });
      await recordSendResult(db, m, { ok: true, providerId: "x" }, { now: NOW });
    }
    const later = new Date(NOW.getTime() + 30 * 86_400_000);
    const second = await planSurveyWave(db, { now: later, policy, waveId: "w2", sampleSize: 100 });
    expect(second).toEqual({ kind: "nps", waveId: "w2", eligible: 40, queued: 40 });
    const w2 = await db.prisma.outboxMessage.findMany({ where: { idempotencyKey: { startsWith: "survey:w2:" } } });
    const surveyed = new Set(rows.map((r) => r.customerId));
    expect(w2.some((r) => surveyed.has(r.customerId))).toBe(false);
    // after the 90-day cap they are eligible again
    const muchLater = new Date(NOW.getTime() + 91 * 86_400_000);
    expect((await planSurveyWave(db, { now: muchLater, policy, waveId: "w3", sampleSize: 100 })).eligible).toBe(30);
  });
});
