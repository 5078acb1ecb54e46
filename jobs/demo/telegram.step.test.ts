import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../core/config/config";
import { Prisma, type Database } from "../../core/db/client";
import { silentLogger } from "../../core/log";
import { createTestDatabase } from "../../test/helpers/db";
import { telegramStep } from "./telegram.step";

let db: Database;
beforeAll(async () => {
  db = await createTestDatabase("pglite");
});
afterAll(async () => db?.close());

it("prints rendered offers for the most at-risk customers in their own language (EN and RU) and the surveys, without a token", async () => {
  const asOf = new Date("2026-11-20T00:00:00Z");
  const ids: number[] = [];
  for (const [i, name] of ["Maria Lopez", "Ivan Petrov", "Li Wei", "Safe Customer"].entries()) {
    // Ivan reads Russian; the others have no stored language (the default, English)
    const c = await db.prisma.customer.create({
      data: { externalId: `d${i}`, name, locale: i === 1 ? "ru" : null, marketingConsent: true },
    });
    ids.push(c.id);
    await db.prisma.purchase.create({
      data: {
        externalId: `dp${i}`,
        customerId: c.id,
        purchasedAt: asOf,
        amount: new Prisma.Decimal(20),
        category: i === 1 ? "classical" : "jazz",
      },
    });
  }
  const run = await db.prisma.scoreRun.create({ data: { asOf } });
  const churn = [0.91, 0.85, 0.7, 0.05];
  for (const [i, id] of ids.entries()) {
    await db.prisma.score.create({
      data: {
        runId: run.id,
        customerId: id,
        asOf,
        churnProbability: churn[i]!,
        riskBand: churn[i]! > 0.5 ? "high" : "low",
        segment: "At risk",
        reasons: [
          {
            code: "overdue",
            text: "no purchase for 120 days; usually every 30",
            weight: 1,
            values: { daysSince: 120, usualGapDays: 30 },
          },
        ],
      },
    });
  }
  const lines: string[] = [];
  const config = loadConfig({ LOG_LEVEL: "silent" });
  await telegramStep.run({
    config,
    db,
    log: silentLogger,
    now: () => asOf,
    close: async () => undefined,
    asOf,
    print: (l = "") => lines.push(l),
    outputDir: "/tmp",
  });
  const out = lines.join("\n");
  expect(out).toContain("no TELEGRAM_BOT_TOKEN");
  expect(out).toContain("Hello, Maria!");
  expect(out).toContain("It has been 120 days since your last order, and we miss you.");
  expect(out).toContain("прошло 120 дней, и мы скучаем.");
  expect(out).toContain("Здравствуйте, Ivan!");
  expect(out).toContain("classical");
  expect(out).toContain("Hello, Li!");
  expect(out).not.toContain("Safe");
  expect(out).toContain("[Use the offer]");
  expect(out).toContain("порекомендуете");
  expect(out).toContain("[Начать]");
});
