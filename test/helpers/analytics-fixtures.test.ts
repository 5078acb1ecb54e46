// The generated store is the test data several model tests compare across engines and runs: one
// seed must give one store, whatever the planner's statistics are when it is written (on a
// PostgreSQL server, autovacuum may or may not have analysed the table by then).
import { describe, expect, it } from "vitest";
import { describeEachDatabase, withTestDatabase } from "./db";
import { makeCustomers, makeGeneratedStore } from "./analytics-fixtures";

const asOf = new Date("2025-06-01T00:00:00.000Z");

describeEachDatabase("the generated store", (kind) => {
  it("is the same for one seed whether or not the planner has statistics of the customers", async () => {
    const stores: string[][] = [];
    for (const analyze of [false, true]) {
      await withTestDatabase(kind, async (db) => {
        const signedUpAt = new Date("2024-01-01T00:00:00Z");
        await makeCustomers(db, [{ signedUpAt }, { signedUpAt }, { signedUpAt }]);
        if (analyze) await db.prisma.$executeRawUnsafe(`ANALYZE customers`);
        await makeGeneratedStore(db, { customers: 60, asOf, seed: 3 });
        const rows = await db.queryRows<{ row: string }>(
          `SELECT c.external_id || ' ' || p.purchased_at || ' ' || p.amount AS row
             FROM purchases p JOIN customers c ON c.id = p.customer_id ORDER BY 1`,
        );
        stores.push(rows.map((r) => r.row));
      });
    }
    expect(stores[0]!.length).toBeGreaterThan(500);
    expect(stores[1]).toEqual(stores[0]);
  });
});

describe("the generated store's seed", () => {
  it("changes the store", async () => {
    const counts: number[] = [];
    for (const seed of [3, 4]) {
      await withTestDatabase("pglite", async (db) => {
        await makeGeneratedStore(db, { customers: 60, asOf, seed });
        const [row] = await db.queryRows<{ total: string }>(`SELECT sum(amount)::text AS total FROM purchases`);
        counts.push(Number(row!.total));
      });
    }
    expect(counts[1]).not.toBe(counts[0]);
  });
});
