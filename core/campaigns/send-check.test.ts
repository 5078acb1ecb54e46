import { afterEach, beforeEach, expect, it } from "vitest";
import type { Database } from "../db/client";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { claimDueMessages, enqueueMessages, markSending, recordSendResult } from "../messaging/outbox";
import type { ContactPolicy } from "./contact-policy";
import { checkBatchBeforeSend } from "./send-check";
import { insertScoredCustomers } from "./test-fixtures";

// 2026-03-29 06:30 UTC: 08:30 in Berlin on the morning clocks went forward (quiet until 09:00
// CEST = 07:00 UTC), 15:30 in Tokyo (fine), 02:30 in New York (quiet until 09:00 EDT = 13:00 UTC).
const NOW = new Date("2026-03-29T06:30:00Z");
const policy: ContactPolicy = {
  quietHoursStart: 21,
  quietHoursEnd: 9,
  offerCapDays: 14,
  surveyCapDays: 90,
  spacingHours: 24,
  declineCooldownDays: 60,
  businessTimeZone: "UTC",
};

describeEachDatabase("contact policy at send time", (kind) => {
  let db: Database;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await db.close();
  });

  it("re-checks consent, caps and quiet hours per customer zone for a claimed batch", async () => {
    const { ids } = await insertScoredCustomers(
      db,
      [
        { externalId: "tokyo", churnProbability: 0.9, clv: 100, timeZone: "Asia/Tokyo" },
        { externalId: "berlin", churnProbability: 0.9, clv: 100, timeZone: "Europe/Berlin" },
        { externalId: "newyork", churnProbability: 0.9, clv: 100, timeZone: "America/New_York" },
        { externalId: "optout", churnProbability: 0.9, clv: 100, timeZone: "Asia/Tokyo" },
        { externalId: "capped", churnProbability: 0.9, clv: 100, timeZone: "Asia/Tokyo" },
        { externalId: "unlinked", churnProbability: 0.9, clv: 100, timeZone: "Asia/Tokyo", linked: false },
      ],
      NOW,
    );
    const [tokyo, berlin, newyork, optout, capped, unlinked] = ids as [number, number, number, number, number, number];
    // "capped" got an offer 3 days ago; "optout" opted out after planning.
    await enqueueMessages(db, [{ idempotencyKey: "old-offer", customerId: capped, kind: "offer", payload: {} }], {
      now: new Date(NOW.getTime() - 3 * 86_400_000),
    });
    const [old] = await claimDueMessages(db, {
      limit: 1,
      workerId: "old",
      now: new Date(NOW.getTime() - 3 * 86_400_000),
      leaseMs: 60_000,
    });
    await markSending(db, old!, { now: NOW });
    await recordSendResult(db, old!, { ok: true, providerId: "1" }, { now: new Date(NOW.getTime() - 3 * 86_400_000) });
    await db.prisma.customer.update({ where: { id: optout }, data: { marketingConsent: false, optedOutAt: NOW } });

    const keys = { tokyo, berlin, newyork, optout, capped, unlinked };
    await enqueueMessages(
      db,
      Object.entries(keys).map(([name, id]) => ({
        idempotencyKey: `offer:${name}`,
        customerId: id,
        kind: "offer" as const,
        payload: {},
      })),
      { now: NOW },
    );
    // A ticket reply to the opted-out customer still goes: it answers what they asked.
    await enqueueMessages(
      db,
      [{ idempotencyKey: "reply:optout", customerId: optout, kind: "ticket_reply", payload: {} }],
      { now: NOW },
    );

    const batch = await claimDueMessages(db, { limit: 50, workerId: "w", now: NOW, leaseMs: 60_000 });
    const checked = await checkBatchBeforeSend(db, batch, policy, NOW);
    expect(checked.toSend.map((m) => m.idempotencyKey).sort()).toEqual(["offer:tokyo", "reply:optout"]);
    expect(checked.skipped).toEqual({ opted_out: 1, offer_cap: 1, not_linked: 1 });
    expect(checked.deferred).toBe(2);
    const rows = Object.fromEntries((await db.prisma.outboxMessage.findMany()).map((r) => [r.idempotencyKey, r]));
    expect(rows["offer:berlin"]).toMatchObject({
      status: "pending",
      notBefore: new Date("2026-03-29T07:00:00Z"),
      attempts: 0,
    });
    expect(rows["offer:newyork"]).toMatchObject({ status: "pending", notBefore: new Date("2026-03-29T13:00:00Z") });
    expect(rows["offer:optout"]).toMatchObject({ status: "skipped", skipReason: "opted_out" });
    expect(rows["offer:capped"]).toMatchObject({ status: "skipped", skipReason: "offer_cap" });
    expect(rows["offer:unlinked"]).toMatchObject({ status: "skipped", skipReason: "not_linked" });
  });

  it("counts a second offer to the same customer in one batch against the cap", async () => {
    const { ids } = await insertScoredCustomers(
      db,
      [{ externalId: "twice", churnProbability: 0.9, clv: 100, timeZone: "Asia/Tokyo" }],
      NOW,
    );
    await enqueueMessages(
      db,
      [
        { idempotencyKey: "campaign:1:customer:x:offer", customerId: ids[0]!, kind: "offer", payload: {} },
        { idempotencyKey: "campaign:2:customer:x:offer", customerId: ids[0]!, kind: "offer", payload: {} },
      ],
      { now: NOW },
    );
    const batch = await claimDueMessages(db, { limit: 10, workerId: "w", now: NOW, leaseMs: 60_000 });
    const checked = await checkBatchBeforeSend(db, batch, policy, NOW);
    expect(checked.toSend).toHaveLength(1);
    expect(checked.skipped).toEqual({ offer_cap: 1 });
  });

  it("refuses a marketing message that would break the spacing, whatever kind came before", async () => {
    const { ids } = await insertScoredCustomers(
      db,
      [
        { externalId: "surveyed", churnProbability: 0.9, clv: 100, timeZone: "Asia/Tokyo" },
        { externalId: "in-flight", churnProbability: 0.9, clv: 100, timeZone: "Asia/Tokyo" },
      ],
      NOW,
    );
    const [surveyed, inFlight] = ids as [number, number];
    // an NPS question reached "surveyed" 23 hours ago; another dispatcher is sending a survey to "in-flight"
    await db.prisma.outboxMessage.createMany({
      data: [
        {
          idempotencyKey: "nps:surveyed",
          customerId: surveyed,
          kind: "survey_nps",
          status: "sent",
          sentAt: new Date(NOW.getTime() - 23 * 3_600_000),
        },
        {
          idempotencyKey: "nps:in-flight",
          customerId: inFlight,
          kind: "survey_nps",
          status: "sending",
          lockedAt: NOW,
          lockedBy: "other",
        },
      ],
    });
    // offers queued around the planner (as a second path might), and a ticket reply
    await enqueueMessages(
      db,
      [
        { idempotencyKey: "offer:surveyed", customerId: surveyed, kind: "offer", payload: {} },
        { idempotencyKey: "offer:in-flight", customerId: inFlight, kind: "offer", payload: {} },
        { idempotencyKey: "reply:surveyed", customerId: surveyed, kind: "ticket_reply", payload: {} },
      ],
      { now: NOW },
    );
    const batch = await claimDueMessages(db, { limit: 10, workerId: "w", now: NOW, leaseMs: 60_000 });
    const checked = await checkBatchBeforeSend(db, batch, policy, NOW);
    expect(checked.toSend.map((m) => m.idempotencyKey)).toEqual(["reply:surveyed"]);
    expect(checked.skipped).toEqual({ spacing: 2 });
    const offers = await db.prisma.outboxMessage.findMany({ where: { kind: "offer" } });
    expect(offers.map((o) => [o.status, o.skipReason])).toEqual([
      ["skipped", "spacing"],
      ["skipped", "spacing"],
    ]);

    // 25 hours after the survey the spacing has passed: an offer goes
    const later = new Date(NOW.getTime() + 2 * 3_600_000);
    await enqueueMessages(
      db,
      [{ idempotencyKey: "offer:surveyed:2", customerId: surveyed, kind: "offer", payload: {} }],
      { now: later },
    );
    const [next] = await claimDueMessages(db, { limit: 10, workerId: "w", now: later, leaseMs: 60_000 });
    expect((await checkBatchBeforeSend(db, [next!], policy, later)).toSend).toHaveLength(1);
  });
});
