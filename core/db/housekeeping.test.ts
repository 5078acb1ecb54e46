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
  expect(await runHousekeeping(db, { now })).toEqual({ processedUpdates: 2, linkTokens: 1, analyzed: [] });
  expect((await db.prisma.processedUpdate.findMany()).map((u) => u.updateId)).toEqual(["2"]);
  expect((await db.prisma.linkToken.findMany({ orderBy: { token: "asc" } })).map((t) => t.token)).toEqual([
    "live",
    "recent",
  ]);
  expect(await runHousekeeping(db, { now })).toEqual({ processedUpdates: 0, linkTokens: 0, analyzed: [] });
});

it("on PGlite, which has no autovacuum, refreshes the statistics of the tables that grew, and only those", async () => {
  const now = new Date("2026-11-22T12:00:00Z");
  const relation = async (name: string) =>
    (
      await db.queryRows<{ reltuples: number }>(
        `SELECT reltuples::float8 AS reltuples FROM pg_class WHERE relname = $1`,
        [name],
      )
    )[0]!.reltuples;
  await runHousekeeping(db, { now });
  await db.execScript(`INSERT INTO processed_updates (source, update_id, processed_at)
    SELECT 'telegram', 'u' || i, '2026-11-22T11:00:00Z' FROM generate_series(1, 5000) i`);
  expect(await relation("processed_updates")).toBeLessThan(5000);

  const { analyzed } = await runHousekeeping(db, { now });
  expect(analyzed).toEqual(["processed_updates"]);
  expect(await relation("processed_updates")).toBeGreaterThanOrEqual(5000);
  expect((await runHousekeeping(db, { now })).analyzed).toEqual([]);
});
