// Money means net money: after an import with cancellations, returns and guest sales, the
// features scoring and training read, the metrics and the purchase totals all count purchases
// minus refunds, and sales without a customer appear only as "not attributed".
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { computeFeatures } from "../analytics/features";
import { computeMetrics } from "../analytics/metrics";
import type { Database } from "../db/client";
import { importFile } from "./importer";

const NOW = new Date("2025-03-01T00:00:00Z");
const CSV = `InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID
100,A,2,2025-01-10 10:00,10.00,n1
100,B,1,2025-01-10 10:00,5.00,n1
101,A,1,2025-02-10 09:00,10.00,n1
C102,A,-1,2025-02-12 12:00,10.00,n1
103,A,3,2025-02-15 12:00,10.00,n2
104,B,4,2025-02-16 12:00,5.00,
C105,B,-1,2025-02-17 12:00,5.00,
`;

describeEachDatabase("net money", (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    const dir = mkdtempSync(path.join(os.tmpdir(), "net-money-"));
    const file = path.join(dir, "retail.csv");
    writeFileSync(file, CSV);
    const report = await importFile(db, {
      kind: "orders",
      file,
      timeZone: "UTC",
      now: NOW,
      createCustomers: true,
    });
    expect(report.errors).toEqual([]);
  });
  afterAll(() => db?.close());

  it("features are net of refunds, read from the purchases (any cut-off) and from the stored totals alike", async () => {
    for (const source of ["purchases", "stats"] as const) {
      const { rows } = await computeFeatures(db, { asOf: NOW, source });
      const n1 = rows.find((r) => r.purchaseCount === 2)!;
      expect(n1.monetaryTotal, source).toBe(25); // 25 + 10 - 10
      expect(n1.spendLast90, source).toBe(25);
      expect(n1.purchaseCount, source).toBe(2); // a cancellation is not a purchase
      expect(n1.monetaryMean, source).toBe(12.5);
    }
    // before the cancellation, the customer's money is what was bought
    const { rows } = await computeFeatures(db, { asOf: new Date("2025-02-11T00:00:00Z"), source: "purchases" });
    expect(rows.find((r) => r.purchaseCount === 2)!.monetaryTotal).toBe(35);
  });

  it("metrics show gross, refunds and net, and the sales not attributed to a customer", async () => {
    const m = await computeMetrics(db, { from: new Date("2025-01-01T00:00:00Z"), to: NOW });
    expect(m.grossRevenue).toBe(65); // 25 + 10 + 30
    expect(m.refunds).toBe(10);
    expect(m.revenue).toBe(55);
    expect(m.unattributedRevenue).toBe(15); // 20 - 5, left out of the members' figures
    expect(m.purchases).toBe(3);
  });
});
