// Send hours, learned from the store's own answers and timed purchases and used by the real
// dispatcher (jobs/dispatch.job.ts) with an injected clock and the dry-run channel.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { loadConfig, type Config } from "../config/config";
import type { Database } from "../db/client";
import { silentLogger } from "../log";
import { DryRunChannel } from "../messaging/dry-run-channel";
import { enqueueMessages } from "../messaging/outbox";
import { runDispatch } from "../../jobs/dispatch.job";
import type { AppContext } from "../../jobs/context";
import { contactPolicyFromConfig } from "./contact-policy";
import { learnSendHours, sendableDefaultHour, sendHourHoldUntil } from "./send-hour";
import { insertScoredCustomers } from "./test-fixtures";

const config: Config = loadConfig({ BUSINESS_TIME_ZONE: "UTC", LOG_LEVEL: "silent" }); // quiet 21-9, hold 24 h
const policy = contactPolicyFromConfig(config);
const at = (iso: string) => new Date(iso);

function learn(db: Database, now: Date) {
  return learnSendHours(db, {
    now,
    policy,
    defaultHour: config.contact.sendHour.defaultHour,
    priorEvents: config.contact.sendHour.priorEvents,
  });
}

/** Runs the dispatcher once at `now`; returns the keys it sent. */
async function dispatchAt(db: Database, now: Date): Promise<{ sent: string[]; held: number }> {
  const ctx: AppContext = { config, db, log: silentLogger, now: () => now, close: async () => undefined };
  const before = new Set(
    (await db.prisma.outboxMessage.findMany({ where: { status: "sent" } })).map((m) => m.idempotencyKey),
  );
  const stats = await runDispatch(ctx, new DryRunChannel(silentLogger), { concurrency: 1 });
  const sent = (await db.prisma.outboxMessage.findMany({ where: { status: "sent" } }))
    .map((m) => m.idempotencyKey)
    .filter((k) => !before.has(k));
  return { sent: sent.sort(), held: stats.held };
}

function offer(customerId: number, key: string) {
  return { idempotencyKey: key, customerId, kind: "offer" as const, payload: { offerIssueId: 1, title: "15% off" } };
}

describeEachDatabase("send hour", (kind) => {
  let db: Database;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await db.close();
  });

  it("learns each customer's hour in their zone and the dispatcher holds offers until it, never in quiet hours", async () => {
    const { ids } = await insertScoredCustomers(
      db,
      [
        { externalId: "evening", churnProbability: 0.9, clv: 100, timeZone: "Europe/Berlin" },
        { externalId: "shopper1", churnProbability: 0.9, clv: 100, timeZone: "Europe/Berlin" },
        { externalId: "shopper2", churnProbability: 0.9, clv: 100, timeZone: "Europe/Berlin" },
        { externalId: "dates", churnProbability: 0.9, clv: 100, timeZone: "Asia/Tokyo" },
        { externalId: "nohistory", churnProbability: 0.9, clv: 100, timeZone: "Europe/Berlin" },
        { externalId: "nightowl", churnProbability: 0.9, clv: 100, timeZone: "Europe/Berlin" },
      ],
      at("2026-01-01T00:00:00Z"),
    );
    const [evening, shopper1, shopper2, dates, nohistory, nightowl] = ids as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    // "evening" answers the bot at 19:xx Berlin time (18:xx UTC in winter): NPS answers and a
    // ticket message.
    await db.prisma.feedback.createMany({
      data: [10, 11, 12].map((d) => ({
        customerId: evening,
        kind: "nps",
        score: 8,
        source: "telegram",
        createdAt: at(`2026-01-${d}T18:05:00Z`),
      })),
    });
    await db.prisma.ticket.create({
      data: {
        reference: "T-1",
        customerId: evening,
        source: "message",
        messages: { create: { author: "customer", text: "hello", createdAt: at("2026-01-13T18:40:00Z") } },
      },
    });
    // The store buys at 15:xx Berlin time, with times of day.
    await db.prisma.purchase.createMany({
      data: [shopper1, shopper2].flatMap((customerId) =>
        [5, 6, 7].map((d) => ({
          externalId: `p-${customerId}-${d}`,
          customerId,
          purchasedAt: at(`2026-01-0${d}T14:20:00Z`),
          amount: 20,
        })),
      ),
    });
    // Purchases with a date only (stored at midnight): 09:00 in Tokyo, but no time of day at all.
    await db.prisma.purchase.createMany({
      data: [1, 2, 3, 4].map((d) => ({
        externalId: `date-${d}`,
        customerId: dates,
        purchasedAt: at(`2026-01-0${d}T00:00:00Z`),
        amount: 20,
      })),
    });
    // The night owl answers only at 23:xx, inside quiet hours.
    await db.prisma.feedback.createMany({
      data: [10, 11, 12].map((d) => ({
        customerId: nightowl,
        kind: "nps",
        score: 9,
        source: "telegram",
        createdAt: at(`2026-01-${d}T22:10:00Z`),
      })),
    });

    const summary = await learn(db, at("2026-01-20T02:00:00Z"));
    expect(summary).toMatchObject({ storeHour: 15, source: "store", events: 13, customers: 4, ownHour: 1 });
    const hours = Object.fromEntries((await db.prisma.customerSendHour.findMany()).map((r) => [r.customerId, r.hour]));
    expect(hours).toEqual({ [evening]: 19, [shopper1]: 15, [shopper2]: 15, [nightowl]: 15 });

    // Offers queued at 10:00 Berlin; a ticket reply to the same customers goes at once.
    const t0 = at("2026-01-20T09:00:00Z");
    await enqueueMessages(
      db,
      [
        offer(evening, "offer:evening"),
        offer(dates, "offer:dates"),
        offer(nohistory, "offer:nohistory"),
        offer(nightowl, "offer:nightowl"),
        { idempotencyKey: "reply:evening", customerId: evening, kind: "ticket_reply", payload: { reference: "T-1" } },
      ],
      { now: t0 },
    );
    expect(await dispatchAt(db, t0)).toEqual({ sent: ["reply:evening"], held: 4 });
    // 15:00 Berlin: the customers on the store's hour.
    expect(await dispatchAt(db, at("2026-01-20T13:59:00Z"))).toEqual({ sent: [], held: 0 });
    expect((await dispatchAt(db, at("2026-01-20T14:00:00Z"))).sent).toEqual(["offer:nightowl", "offer:nohistory"]);
    // 19:00 Berlin: the customer who answers in the evening.
    expect((await dispatchAt(db, at("2026-01-20T18:00:00Z"))).sent).toEqual(["offer:evening"]);
    // 15:00 in Tokyo the next day: the dated purchases taught nothing, so the store's hour.
    expect((await dispatchAt(db, at("2026-01-21T06:00:00Z"))).sent).toEqual(["offer:dates"]);
    const due = await db.prisma.outboxMessage.findUnique({ where: { idempotencyKey: "offer:evening" } });
    expect(due?.dueAt).toEqual(t0);
    expect(due?.sentAt).toEqual(at("2026-01-20T18:00:00Z"));
  });

  it("with no history anywhere uses the configured default hour", async () => {
    const { ids } = await insertScoredCustomers(
      db,
      [{ externalId: "new", churnProbability: 0.9, clv: 100, timeZone: null }],
      at("2026-01-01T00:00:00Z"),
    );
    const summary = await learn(db, at("2026-01-20T02:00:00Z"));
    expect(summary).toMatchObject({ storeHour: 12, source: "default", events: 0, customers: 0 });
    const t0 = at("2026-01-20T09:30:00Z");
    await enqueueMessages(db, [offer(ids[0]!, "offer:new")], { now: t0 });
    expect(await dispatchAt(db, t0)).toEqual({ sent: [], held: 1 });
    expect(await dispatchAt(db, at("2026-01-20T12:00:00Z"))).toEqual({ sent: ["offer:new"], held: 0 });
  });

  it("holds nothing before send hours were learned, and nothing due longer ago than the bound", async () => {
    const { ids } = await insertScoredCustomers(
      db,
      [
        { externalId: "a", churnProbability: 0.9, clv: 100, timeZone: null },
        { externalId: "b", churnProbability: 0.9, clv: 100, timeZone: null },
      ],
      at("2026-01-01T00:00:00Z"),
    );
    const t0 = at("2026-01-20T10:00:00Z");
    await enqueueMessages(db, [offer(ids[0]!, "offer:a")], { now: t0 });
    expect(await dispatchAt(db, t0)).toEqual({ sent: ["offer:a"], held: 0 });
    // Learned now (default 12:00); an offer due since yesterday 09:00 whose next 12:00 would be
    // 51 hours after it became due goes at once (the dispatcher was down).
    await learn(db, t0);
    await enqueueMessages(db, [offer(ids[1]!, "offer:b")], { now: at("2026-01-19T09:00:00Z") });
    expect(await dispatchAt(db, at("2026-01-20T13:30:00Z"))).toEqual({ sent: ["offer:b"], held: 0 });
  });
});

describe("send hour rules", () => {
  const hold = { quietHoursStart: 21, quietHoursEnd: 9, sendHourMaxHoldHours: 24 };
  it("holds until the hour on the local wall clock, bounded after the message became due", () => {
    const due = at("2026-01-20T09:00:00Z"); // 10:00 in Berlin
    expect(sendHourHoldUntil(due, "Europe/Berlin", 19, due, hold)).toEqual(at("2026-01-20T18:00:00Z"));
    // In the hour: now.
    expect(sendHourHoldUntil(at("2026-01-20T18:59:00Z"), "Europe/Berlin", 19, due, hold)).toBeNull();
    // Missed (a retry pushed it past 20:00): the next 19:00 is 33 hours after it became due.
    expect(sendHourHoldUntil(at("2026-01-20T19:15:00Z"), "Europe/Berlin", 19, due, hold)).toBeNull();
    // A send hour inside quiet hours, holding switched off, or no hour: never held.
    expect(sendHourHoldUntil(due, "Europe/Berlin", 23, due, hold)).toBeNull();
    expect(sendHourHoldUntil(due, "Europe/Berlin", 19, due, { ...hold, sendHourMaxHoldHours: 0 })).toBeNull();
    expect(sendHourHoldUntil(due, "Europe/Berlin", null, due, hold)).toBeNull();
  });

  it("moves a default hour inside quiet hours to their end", () => {
    expect(sendableDefaultHour(22, { quietHoursStart: 21, quietHoursEnd: 9 })).toBe(9);
    expect(sendableDefaultHour(12, { quietHoursStart: 21, quietHoursEnd: 9 })).toBe(12);
  });
});
