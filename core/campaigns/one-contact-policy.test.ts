// The contact policy end to end: campaigns, survey waves and the send-time check on one store,
// planned at the same time and delivered through the outbox (only the Telegram call itself is
// left out: every message the check lets through is recorded as delivered).
import { afterEach, beforeEach, expect, it } from "vitest";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import type { Database } from "../db/client";
import { claimDueMessages, markSending, recordSendResult } from "../messaging/outbox";
import { planSurveyWave } from "../surveys/survey-wave";
import { createCampaign } from "./campaign";
import { lockMarketingQueue, type ContactPolicy } from "./contact-policy";
import { planCampaign } from "./plan";
import { checkBatchBeforeSend } from "./send-check";
import { insertScoredCustomers, upsertOffers } from "./test-fixtures";

const NOW = new Date("2026-05-04T10:00:00Z"); // daytime in UTC, outside quiet hours
const HOUR = 3_600_000;
const policy: ContactPolicy = {
  quietHoursStart: 21,
  quietHoursEnd: 9,
  offerCapDays: 14,
  surveyCapDays: 90,
  spacingHours: 24,
  declineCooldownDays: 60,
  businessTimeZone: "UTC",
};

describeEachDatabase("one contact policy for campaigns, survey waves and sending", (kind) => {
  let db: Database;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
    await upsertOffers(db, [
      { key: "winback", cost: 1, saveProbability: 0.2 },
      { key: "vip", cost: 2, saveProbability: 0.3 },
    ]);
  });
  afterEach(async () => {
    await db.close();
  });

  const customers = (n: number) =>
    insertScoredCustomers(
      db,
      Array.from({ length: n }, (_, i) => ({ externalId: `x${i}`, churnProbability: 0.9, clv: 200 })),
      NOW,
    );
  const campaign = async (name: string, offer: string) => {
    const created = await createCampaign(db, { name, offerKeys: [offer], controlShare: 0.1 }, { now: NOW });
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    return created.value.id;
  };
  const plan = async (campaignId: number, now: Date) => {
    const planned = await planCampaign(db, campaignId, { now, policy });
    if (!planned.ok) throw new Error(JSON.stringify(planned.error));
    return planned.value;
  };
  // The dispatcher's path: claim what is due, the send-time check, then a delivery per message.
  const deliverDue = async (now: Date) => {
    for (;;) {
      const batch = await claimDueMessages(db, { limit: 25, workerId: "w", now, leaseMs: 60_000 });
      if (batch.length === 0) return;
      const { toSend } = await checkBatchBeforeSend(db, batch, policy, now);
      for (const m of toSend) {
        await markSending(db, m, { now });
        await recordSendResult(db, m, { ok: true, providerId: String(m.outboxId) }, { now });
      }
    }
  };
  const marketing = () =>
    db.prisma.outboxMessage.findMany({
      where: { kind: { in: ["offer", "survey_nps", "survey_servqual"] } },
      orderBy: { id: "asc" },
    });
  const byCustomer = <T extends { customerId: number | null }>(rows: T[]) => {
    const map = new Map<number, T[]>();
    for (const r of rows) map.set(r.customerId!, [...(map.get(r.customerId!) ?? []), r]);
    return map;
  };

  it("two campaigns and a survey wave planned at once queue at most one marketing message per customer", async () => {
    await customers(40);
    const [a, b] = [await campaign("A", "winback"), await campaign("B", "vip")];
    const [planA, planB, wave] = await Promise.all([
      plan(a, NOW),
      plan(b, NOW),
      planSurveyWave(db, { now: NOW, policy, kind: "nps", sampleSize: 40 }),
    ]);
    const queued = await marketing();
    expect(queued.length).toBe(planA.messagesQueued + planB.messagesQueued + wave.queued);
    // 40 customers, all eligible: between them the three planners reached most, but nobody twice
    expect(queued.length).toBeGreaterThan(30);
    for (const [, rows] of byCustomer(queued)) expect(rows).toHaveLength(1);
  });

  // PGlite is one engine with one session: two planners there cannot overlap at all.
  it.skipIf(kind === "pglite")(
    "a survey wave waits for a planner holding the marketing queue and counts what it queued",
    async () => {
      const { ids } = await customers(3);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let signalLocked!: () => void;
      const locked = new Promise<void>((resolve) => (signalLocked = resolve));
      // a planner in progress: it holds the queue and queues an offer it has not committed yet
      const planner = db.prisma.$transaction(
        async (tx) => {
          await lockMarketingQueue(tx);
          signalLocked();
          await held;
          await tx.$executeRaw`
            INSERT INTO outbox_messages (idempotency_key, customer_id, kind, status, payload, not_before, created_at)
            VALUES ('held-offer', ${ids[0]}, 'offer', 'pending', '{}', now(), now())`;
        },
        { timeout: 600_000, maxWait: 60_000 },
      );
      await locked;
      const wave = planSurveyWave(db, { now: NOW, policy, sampleSize: 3 });
      // wait (for a condition, not a time) until the wave is blocked on the queue's lock
      for (let polls = 0; ; polls++) {
        const [waiting] = await db.prisma.$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`;
        if (waiting!.n > 0) break;
        if (polls > 3000) throw new Error("the survey wave never waited for the planner's lock");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      release();
      await planner;
      expect(await wave).toMatchObject({ eligible: 2, queued: 2 });
      const first = await db.prisma.outboxMessage.findMany({ where: { customerId: ids[0]! } });
      expect(first.map((m) => m.kind)).toEqual(["offer"]);
    },
  );

  it("queued but unsent messages count against the caps and the spacing", async () => {
    await customers(20);
    const a = await campaign("A", "winback");
    const planA = await plan(a, NOW);
    expect(planA.messagesQueued).toBe(planA.treatment);
    // nothing sent yet: a second campaign the same day finds A's treated customers capped
    const planB = await plan(await campaign("B", "vip"), new Date(NOW.getTime() + HOUR));
    expect(planB.excluded.offer_cap).toBe(planA.treatment);
    expect(planB.messagesQueued).toBe(planB.treatment);
    // and a survey wave the same day leaves everyone with a queued offer alone
    const wave = await planSurveyWave(db, { now: new Date(NOW.getTime() + 2 * HOUR), policy, sampleSize: 20 });
    expect(wave.eligible).toBe(20 - planA.treatment - planB.treatment);
    expect(wave.queued).toBe(wave.eligible);
    for (const [, rows] of byCustomer(await marketing())) expect(rows).toHaveLength(1);
  });

  it("over days of campaigns and survey waves, nobody receives more than the caps and the spacing allow", async () => {
    await customers(30);
    const [a, b] = [await campaign("A", "winback"), await campaign("B", "vip")];
    // day 1: both campaigns and an NPS wave in the morning, a SERVQUAL wave and re-plans later
    const rounds: [number, () => Promise<unknown>][] = [
      [0, () => Promise.all([plan(a, NOW), plan(b, NOW), planSurveyWave(db, { now: NOW, policy, sampleSize: 30 })])],
      [
        3,
        () => planSurveyWave(db, { now: new Date(NOW.getTime() + 3 * HOUR), policy, kind: "servqual", sampleSize: 30 }),
      ],
      [5, () => plan(b, new Date(NOW.getTime() + 5 * HOUR))],
      // day 2, 25 hours on: the spacing has passed, the caps have not
      [
        25,
        () =>
          planSurveyWave(db, { now: new Date(NOW.getTime() + 25 * HOUR), policy, kind: "servqual", sampleSize: 30 }),
      ],
      [26, () => plan(a, new Date(NOW.getTime() + 26 * HOUR))],
    ];
    for (const [hour, planRound] of rounds) {
      await planRound();
      await deliverDue(new Date(NOW.getTime() + hour * HOUR + 60_000));
    }
    const sent = (await marketing()).filter((m) => m.status === "sent");
    expect(sent.length).toBeGreaterThan(30);
    let bothKinds = 0;
    for (const [, rows] of byCustomer(sent)) {
      expect(rows.filter((r) => r.kind === "offer").length).toBeLessThanOrEqual(1);
      expect(rows.filter((r) => r.kind !== "offer").length).toBeLessThanOrEqual(1);
      for (let i = 1; i < rows.length; i++) {
        const gap = rows[i]!.sentAt!.getTime() - rows[i - 1]!.sentAt!.getTime();
        expect(Math.abs(gap)).toBeGreaterThanOrEqual(24 * HOUR);
      }
      if (rows.length === 2) bothKinds++;
    }
    // the day-2 SERVQUAL wave reached customers who had an offer on day 1
    expect(bothKinds).toBeGreaterThan(0);
  });

  it("consent is opt-in: a customer stored without one is not marketable", async () => {
    const created = await db.prisma.customer.create({ data: { externalId: "new", telegramChatId: 4242n } });
    expect(created).toMatchObject({ marketingConsent: false, consentAt: null, consentSource: null });
    // the database's own default, as a set-based insert without the column sees it
    await db.prisma
      .$executeRaw`INSERT INTO customers (external_id, telegram_chat_id, updated_at) VALUES ('raw', 4243, now())`;
    const raw = await db.prisma.customer.findUniqueOrThrow({ where: { externalId: "raw" } });
    expect(raw.marketingConsent).toBe(false);
    await db.prisma.$executeRaw`
      INSERT INTO score_runs (as_of, customers, started_at, finished_at) VALUES (now(), 2, now(), now())`;
    await db.prisma.$executeRaw`
      INSERT INTO scores (run_id, customer_id, as_of, churn_probability, risk_band, clv, segment)
      SELECT (SELECT max(id) FROM score_runs), id, now(), 0.9, 'high', 200, 'At risk' FROM customers`;
    const planned = await plan(await campaign("A", "winback"), NOW);
    expect(planned.excluded).toEqual({ no_consent: 2 });
    expect(await planSurveyWave(db, { now: NOW, policy, sampleSize: 10 })).toMatchObject({ eligible: 0, queued: 0 });

    // once they agree (recorded with when and where), they are
    await db.prisma.customer.update({
      where: { id: created.id },
      data: { marketingConsent: true, consentAt: NOW, consentSource: "telegram" },
    });
    expect(await planSurveyWave(db, { now: NOW, policy, sampleSize: 10 })).toMatchObject({ eligible: 1, queued: 1 });
  });
});
