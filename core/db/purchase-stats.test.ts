import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createBlankPGlite, createTestDatabase, describeEachDatabase, withTestDatabase } from "../../test/helpers/db";
import { makeCustomers } from "../../test/helpers/analytics-fixtures";
import type { Database } from "./client";
import { applyMigrations, readMigrations } from "./migrate";
import { upsertPurchases, type PurchaseRow } from "../import/store";
import { purchaseStatsDrift, rebuildPurchaseStats, settlePurchaseStats } from "./purchase-stats";

interface Stats {
  purchase_count: number;
  purchase_days: number;
  first_purchase_at: Date;
  last_purchase_at: Date;
  revenue: string;
  margin: string | null;
  margin_revenue: string | null;
}

describeEachDatabase("customer purchase totals, noted by triggers and settled", (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    await makeCustomers(db, [{ externalId: "ps-a" }, { externalId: "ps-b" }, { externalId: "ps-c" }]);
  });
  afterAll(() => db.close());

  const idOf = async (externalId: string) =>
    (await db.queryRows<{ id: number }>(`SELECT id FROM customers WHERE external_id = $1`, [externalId]))[0]!.id;
  /** The customer's totals after settling. */
  const statsOf = async (externalId: string): Promise<Stats | undefined> => {
    await settlePurchaseStats(db);
    return (
      await db.queryRows<Stats>(
        `SELECT s.purchase_count, s.purchase_days, s.first_purchase_at, s.last_purchase_at,
                s.revenue::text AS revenue, s.margin::text AS margin, s.margin_revenue::text AS margin_revenue
           FROM customer_purchase_stats s JOIN customers c ON c.id = s.customer_id WHERE c.external_id = $1`,
        [externalId],
      )
    )[0];
  };
  /** The customers whose totals differ from their purchases after settling (none). */
  const drift = async () => {
    await settlePurchaseStats(db);
    return purchaseStatsDrift(db);
  };
  const purchase = (
    externalId: string,
    customer: string,
    iso: string,
    amount: number,
    grossMargin?: number,
  ): PurchaseRow => ({
    externalId,
    customerExternalId: customer,
    purchasedAt: new Date(iso),
    amount,
    grossMargin: grossMargin ?? null,
  });

  it("count purchases, days with a purchase once, and exact sums", async () => {
    await upsertPurchases(db.prisma, [
      purchase("o1", "ps-a", "2025-03-01T09:00:00Z", 10.1, 2),
      purchase("o2", "ps-a", "2025-03-01T18:00:00Z", 20.2),
      purchase("o3", "ps-a", "2025-03-05T12:00:00Z", 30.3, 3),
      purchase("o4", "ps-b", "2025-04-01T12:00:00Z", 5),
    ]);
    // a later statement: one more purchase on a day already counted, one on a new day
    await upsertPurchases(db.prisma, [
      purchase("o5", "ps-a", "2025-03-05T20:00:00Z", 0.4),
      purchase("o6", "ps-a", "2025-02-01T08:00:00Z", 1),
    ]);
    expect(await statsOf("ps-a")).toEqual({
      purchase_count: 5,
      purchase_days: 3,
      first_purchase_at: new Date("2025-02-01T08:00:00Z"),
      last_purchase_at: new Date("2025-03-05T20:00:00Z"),
      revenue: "62.00",
      margin: "5.00",
      margin_revenue: "40.40",
    });
    expect(await statsOf("ps-b")).toMatchObject({
      purchase_count: 1,
      purchase_days: 1,
      margin: null,
      margin_revenue: null,
    });
    expect(await statsOf("ps-c")).toBeUndefined();
    expect(await drift()).toEqual([]);
  });

  it("follow an upsert that updates and inserts in one statement", async () => {
    // o3 moves to a new day with a new amount and loses its margin; o7 is new, on that same day
    const counts = await upsertPurchases(db.prisma, [
      purchase("o3", "ps-a", "2025-03-09T12:00:00Z", 100),
      purchase("o7", "ps-a", "2025-03-09T13:00:00Z", 1),
      purchase("o1", "ps-a", "2025-03-01T09:00:00Z", 10.1, 2), // unchanged
    ]);
    expect(counts).toEqual({ inserted: 1, updated: 1, unchanged: 1 });
    expect(await statsOf("ps-a")).toMatchObject({
      purchase_count: 6,
      purchase_days: 4, // 02-01, 03-01, 03-05 (o5), 03-09
      last_purchase_at: new Date("2025-03-09T13:00:00Z"),
      revenue: "132.70",
      margin: "2.00",
      margin_revenue: "10.10",
    });
    expect(await drift()).toEqual([]);
  });

  it("follow purchases moved to another customer and deleted", async () => {
    const b = await idOf("ps-b");
    await db.prisma.$executeRawUnsafe(`UPDATE purchases SET customer_id = $1 WHERE external_id IN ('o6', 'o7')`, b);
    expect(await statsOf("ps-a")).toMatchObject({
      purchase_count: 4,
      purchase_days: 3,
      first_purchase_at: new Date("2025-03-01T09:00:00Z"),
    });
    expect(await statsOf("ps-b")).toMatchObject({ purchase_count: 3, purchase_days: 3, revenue: "7.00" });
    await db.prisma.$executeRawUnsafe(`DELETE FROM purchases WHERE customer_id = $1`, b);
    expect(await statsOf("ps-b")).toBeUndefined(); // no purchases left, no row
    expect(await drift()).toEqual([]);
  });

  it("note the customers a write touched, and catch up when settled", async () => {
    const a = await idOf("ps-a");
    const before = (await statsOf("ps-a"))!;
    await upsertPurchases(db.prisma, [
      purchase("t1", "ps-a", "2025-03-20T10:00:00Z", 2),
      purchase("t2", "ps-a", "2025-03-20T11:00:00Z", 3),
    ]);
    expect(await purchaseStatsDrift(db)).toEqual([a]); // noted, not yet recounted
    expect(await settlePurchaseStats(db)).toBe(1);
    expect(await purchaseStatsDrift(db)).toEqual([]);
    expect(await settlePurchaseStats(db)).toBe(0);
    expect(await statsOf("ps-a")).toMatchObject({
      purchase_count: before.purchase_count + 2,
      purchase_days: before.purchase_days + 1,
    });
  });

  it("go with a deleted customer and with truncated purchases", async () => {
    await upsertPurchases(db.prisma, [purchase("o8", "ps-c", "2025-05-01T12:00:00Z", 8)]);
    expect(await statsOf("ps-c")).toMatchObject({ purchase_count: 1 });
    await db.prisma.$executeRawUnsafe(`DELETE FROM customers WHERE external_id = 'ps-c'`);
    expect(
      await db.queryRows(`SELECT 1 FROM customer_purchase_stats WHERE customer_id NOT IN (SELECT id FROM customers)`),
    ).toEqual([]);
    expect(await drift()).toEqual([]);

    await db.prisma.$executeRawUnsafe(`TRUNCATE purchases CASCADE`);
    expect(await db.queryRows(`SELECT 1 FROM customer_purchase_stats`)).toEqual([]);
  });

  it("are recounted in full after a load with the triggers off, and differ until then", async () => {
    await db.execScript(`ALTER TABLE purchases DISABLE TRIGGER customer_purchase_stats_insert`);
    try {
      await upsertPurchases(db.prisma, [
        purchase("o9", "ps-a", "2025-06-01T12:00:00Z", 9),
        purchase("o10", "ps-b", "2025-06-02T12:00:00Z", 10),
      ]);
    } finally {
      await db.execScript(`ALTER TABLE purchases ENABLE TRIGGER customer_purchase_stats_insert`);
    }
    expect(await purchaseStatsDrift(db)).toEqual([await idOf("ps-a"), await idOf("ps-b")]);
    await rebuildPurchaseStats(db);
    expect(await drift()).toEqual([]);
    expect(await statsOf("ps-b")).toMatchObject({ purchase_count: 1, revenue: "10.00" });
  });

  it("a settle of many customers at once (some, then more than a quarter of all) counts them exactly and leaves the session's trigger setting as it was", async () => {
    const ids = await makeCustomers(
      db,
      Array.from({ length: 10_500 }, () => ({})),
    );
    const buy = (from: number, to: number, day: string) =>
      db.prisma.$executeRawUnsafe(
        `INSERT INTO purchases (external_id, customer_id, purchased_at, amount, gross_margin, quantity)
         SELECT 'many-${day}-' || c, c, '${day}'::timestamp + (c % 7) * interval '1 hour', (c % 50) + 0.25, CASE WHEN c % 2 = 0 THEN 1 END, c % 3
           FROM unnest($1::int[]) c`,
        ids.slice(from, to),
      );
    await buy(0, 1_500, "2025-08-01");
    await buy(0, 500, "2025-08-02");
    await db.withSession(async (session) => {
      // 1,500 customers: their own totals recounted
      expect(await session.query(`SELECT customer_purchase_stats_settle() AS n`)).toEqual([{ n: 1_500 }]);
      expect(await session.query(`SHOW session_replication_role`)).toEqual([{ session_replication_role: "origin" }]);
    });
    expect(await purchaseStatsDrift(db)).toEqual([]);
    await buy(0, 10_500, "2025-08-03");
    await db.withSession(async (session) => {
      // more than 10,000 customers and a quarter of those with totals: every total recounted
      expect(await session.query(`SELECT customer_purchase_stats_settle() AS n`)).toEqual([{ n: 10_500 }]);
      expect(await session.query(`SHOW session_replication_role`)).toEqual([{ session_replication_role: "origin" }]);
    });
    expect(await purchaseStatsDrift(db)).toEqual([]);
    expect(
      (
        await db.queryRows<{ n: number }>(
          `SELECT purchase_count AS n FROM customer_purchase_stats WHERE customer_id = $1`,
          [ids[0]],
        )
      )[0],
    ).toEqual({ n: 3 });
  });

  it.runIf(kind === "postgres")("leave a purchase committed during a settle noted for the next one", async () => {
    // A writer on its own connection, as an importer would be, commits after the settle began.
    if (db.target.kind !== "postgres") return;
    await makeCustomers(db, [{ externalId: "ps-d" }]);
    const insert = (externalId: string, time: string) =>
      `INSERT INTO purchases (external_id, customer_id, purchased_at, amount)
       SELECT '${externalId}', id, '2025-07-01 ${time}', 1 FROM customers WHERE external_id = 'ps-d'`;
    await db.execScript(insert("d1", "09:00"));
    const writer = new pg.Client(db.target.url);
    await writer.connect();
    try {
      await writer.query("BEGIN");
      await writer.query(insert("d2", "10:00"));
      await settlePurchaseStats(db); // counts d1; d2 is not committed yet
      await writer.query("COMMIT");
    } finally {
      await writer.end();
    }
    expect(await purchaseStatsDrift(db)).toEqual([await idOf("ps-d")]);
    expect(await statsOf("ps-d")).toMatchObject({ purchase_count: 2, purchase_days: 1 });
    expect(await drift()).toEqual([]);
  });
});

it("the migration that adds the totals counts the purchases already stored", async () => {
  const db = await createBlankPGlite();
  try {
    const migrations = readMigrations();
    const adding = migrations.findIndex((m) => m.name.endsWith("_purchase_stats"));
    expect(adding).toBeGreaterThan(0);
    await applyMigrations(db, { migrations: migrations.slice(0, adding) });
    const [a, b] = await makeCustomers(db, [{}, {}]);
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO purchases (external_id, customer_id, purchased_at, amount, gross_margin)
       VALUES ('m1', $1, '2025-01-01 10:00', 10, 3), ('m2', $1, '2025-01-01 11:00', 5, NULL), ('m3', $2, '2025-02-01 10:00', 7, NULL)`,
      a,
      b,
    );
    await applyMigrations(db);
    expect(
      await db.queryRows(
        `SELECT customer_id, purchase_count, purchase_days, revenue::text AS revenue, margin::text AS margin FROM customer_purchase_stats ORDER BY 1`,
      ),
    ).toEqual([
      { customer_id: a, purchase_count: 2, purchase_days: 1, revenue: "15.00", margin: "3.00" },
      { customer_id: b, purchase_count: 1, purchase_days: 1, revenue: "7.00", margin: null },
    ]);
    expect(await purchaseStatsDrift(db)).toEqual([]);
  } finally {
    await db.close();
  }
});

it("a settle of many customers refreshes the planner's statistics (PGlite has no autovacuum)", async () => {
  await withTestDatabase("pglite", async (db) => {
    const reltuples = async () =>
      (
        await db.queryRows<{ t: number }>(
          `SELECT reltuples::float8 AS t FROM pg_class WHERE relname = 'customer_purchase_stats'`,
        )
      )[0]!.t;
    const ids = await makeCustomers(
      db,
      Array.from({ length: 1_200 }, () => ({})),
    );
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO purchases (external_id, customer_id, purchased_at, amount) SELECT 'an-' || c, c, '2025-01-01', 1 FROM unnest($1::int[]) c`,
      ids,
    );
    expect(await reltuples()).toBe(-1); // never analysed
    expect(await settlePurchaseStats(db)).toBe(1_200);
    expect(await reltuples()).toBe(1_200);
  });
});
