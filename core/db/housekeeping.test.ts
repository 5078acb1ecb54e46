import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase } from "../../test/helpers/db";
import type { Database } from "./client";
import { runHousekeeping } from "./housekeeping";

let db: Database;
beforeAll(async () => {
  db = await createTestDatabase("pglite");
});
afterAll(() => db?.close());

it("forgets handled updates after a week and link tokens a month after they expired, nothing newer", async () => {
  const now = new Date("2026-11-22T12:00:00Z");
  const daysAgo = (n: number) => new Date(now.getTime() - n * 86_400_000);
  await db.prisma.processedUpdate.createMany({
    data: [
      { source: "telegram", updateId: "1", processedAt: daysAgo(8) },
      { source: "slack", updateId: "Ev1", processedAt: daysAgo(10) },
      { source: "telegram", updateId: "2", processedAt: daysAgo(6) },
    ],
  });
  const customer = await db.prisma.customer.create({ data: { externalId: "hk-1" } });
  await db.prisma.linkToken.createMany({
    data: [
      { token: "old", customerId: customer.id, expiresAt: daysAgo(31) },
      { token: "recent", customerId: customer.id, expiresAt: daysAgo(29) },
      { token: "live", customerId: customer.id, expiresAt: daysAgo(-2) },
    ],
  });
  expect(await runHousekeeping(db, { now })).toEqual({ processedUpdates: 2, linkTokens: 1 });
  expect((await db.prisma.processedUpdate.findMany()).map((u) => u.updateId)).toEqual(["2"]);
  expect((await db.prisma.linkToken.findMany({ orderBy: { token: "asc" } })).map((t) => t.token)).toEqual([
    "live",
    "recent",
  ]);
  expect(await runHousekeeping(db, { now })).toEqual({ processedUpdates: 0, linkTokens: 0 });
});
