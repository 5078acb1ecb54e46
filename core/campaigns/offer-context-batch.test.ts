import { afterAll, beforeAll, expect, it } from "vitest";
import type { Database } from "../db/client";
import { createTestDatabase } from "../../test/helpers/db";
import type { ClaimedMessage } from "../messaging/outbox";
import { renderMessage } from "../messaging/render";
import { withOfferContext } from "./offer-context-batch";

let db: Database;
beforeAll(async () => {
  db = await createTestDatabase("pglite");
});
afterAll(() => db?.close());

it("adds the customer's context to offers in a batch, keeping reason numbers for the customer's text", async () => {
  const customer = await db.prisma.customer.create({ data: { externalId: "ctx-1", name: "Anna Smith", locale: "en" } });
  await db.prisma.purchase.createMany({
    data: [
      {
        externalId: "ctx-p1",
        customerId: customer.id,
        purchasedAt: new Date("2026-06-01"),
        amount: 10,
        category: "tea",
      },
      {
        externalId: "ctx-p2",
        customerId: customer.id,
        purchasedAt: new Date("2026-07-01"),
        amount: 12,
        category: "tea",
      },
    ],
  });
  const run = await db.prisma.scoreRun.create({
    data: { asOf: new Date("2026-10-01"), finishedAt: new Date("2026-10-01") },
  });
  await db.prisma.score.create({
    data: {
      runId: run.id,
      customerId: customer.id,
      asOf: run.asOf,
      churnProbability: 0.9,
      riskBand: "high",
      segment: "At risk",
      reasons: [
        {
          code: "overdue",
          text: "no purchase for 92 days; usually every 30",
          weight: 1.2,
          values: { daysSince: 92, usualGap: 30 },
        },
      ],
    },
  });
  const message: ClaimedMessage = {
    outboxId: 1,
    idempotencyKey: "campaign:1:customer:1:offer",
    customerId: customer.id,
    chatId: 42n,
    locale: "en",
    kind: "offer",
    payload: {
      offerIssueId: 1,
      code: "ABC123",
      title: "15% off your next order",
      expiresAt: "2026-10-15T00:00:00.000Z",
    },
    campaignId: 1,
    attempts: 1,
    lockedBy: "test",
    notBefore: new Date(),
    customer: null,
  };
  const survey = { ...message, kind: "survey_nps" as const, payload: {} };
  const [offer, untouched] = await withOfferContext(db, [message, survey]);
  expect(offer!.payload).toMatchObject({
    customerName: "Anna Smith",
    segment: "At risk",
    topCategory: "tea",
    reasons: [{ code: "overdue", values: { daysSince: 92, usualGap: 30 } }],
  });
  expect(untouched).toBe(survey);
  const rendered = await renderMessage(offer!, { locale: "en" });
  expect(rendered.text).toContain("Anna");
  expect(rendered.text).toMatch(/92 days since your last order/);
});
