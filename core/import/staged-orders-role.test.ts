// The orders import as a role that is not a superuser: it cannot set session_replication_role, so
// the purchases keep their per-row foreign-key checks and statement triggers. The same files
// imported by the superuser into another database must give the same report and the same rows.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openDatabase, type Database } from "../db/client";
import { purchaseStatsDrift } from "../db/purchase-stats";
import { createTestDatabase } from "../../test/helpers/db";
import { sharedDataFile } from "../../test/helpers/shared-data";
import { importFile, type ImportOptions, type ImportReport } from "./importer";

const NOW = new Date("2026-11-22T12:00:00Z");
const UCI = sharedDataFile("online_retail_first_week.csv");
const dir = mkdtempSync(path.join(os.tmpdir(), "staged-orders-role-"));
const unavailable = inject("pgUnavailable");

function file(name: string, lines: string[]): string {
  const p = path.join(dir, name);
  writeFileSync(p, lines.join("\n") + "\n");
  return p;
}

const orders = (f: string, extra: Partial<ImportOptions> = {}): ImportOptions => ({
  kind: "orders",
  file: f,
  timeZone: "UTC",
  now: NOW,
  createCustomers: true,
  ...extra,
});

/** What a report says about the rows, without the timing. */
function outcome(report: ImportReport) {
  const { written, refundsWritten, anonymousWritten, customersCreated, rejected, totals, rejectionsByReason } = report;
  return { written, refundsWritten, anonymousWritten, customersCreated, rejected, totals, rejectionsByReason };
}

/** Every stored row the import writes, by external ids (serial ids left out). */
async function stored(db: Database) {
  const q = (sql: string) => db.queryRows(sql);
  return {
    customers: await q(`SELECT external_id, marketing_consent FROM customers ORDER BY external_id`),
    purchases: await q(`SELECT p.external_id, c.external_id AS customer, p.purchased_at, p.amount::text AS amount,
        p.gross_margin::text AS margin, p.quantity, p.category, p.lines
      FROM purchases p JOIN customers c ON c.id = p.customer_id ORDER BY p.external_id`),
    refunds: await q(`SELECT r.external_id, c.external_id AS customer, r.order_external_id, r.refunded_at,
        r.amount::text AS amount, r.quantity
      FROM refunds r LEFT JOIN customers c ON c.id = r.customer_id ORDER BY r.external_id`),
    anonymous: await q(`SELECT external_id, sold_at, amount::text AS amount, quantity, lines, category
      FROM anonymous_sales ORDER BY external_id`),
    totals: await q(`SELECT c.external_id, s.purchase_count, s.purchase_days, s.first_purchase_at, s.last_purchase_at,
        s.revenue::text AS revenue, s.margin::text AS margin, s.items::text AS items
      FROM customer_purchase_stats s JOIN customers c ON c.id = s.customer_id ORDER BY c.external_id`),
  };
}

describe.skipIf(!!unavailable)(
  `staged orders import as a role that is not a superuser [postgres${unavailable ? `: skipped, ${unavailable}` : ""}]`,
  () => {
    const role = `importer_${randomBytes(4).toString("hex")}`;
    let owner: Database; // the superuser's handle on the database the role imports into
    let asRole: Database;
    let asSuperuser: Database;

    beforeAll(async () => {
      asSuperuser = await createTestDatabase("postgres");
      owner = await createTestDatabase("postgres");
      if (owner.target.kind !== "postgres") throw new Error("needs PostgreSQL");
      await owner.execScript(`CREATE ROLE ${role} LOGIN NOSUPERUSER;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role};
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role};`);
      const url = new URL(owner.target.url);
      url.username = role;
      asRole = await openDatabase({ kind: "postgres", url: url.toString() });
    });
    afterAll(async () => {
      await asRole?.close();
      await asSuperuser?.close();
      await owner?.execScript(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
      await owner?.close();
    });

    it("the role really is not a superuser (the foreign-key checks and triggers stay on)", async () => {
      const [row] = await asRole.queryRows<{ superuser: string; user: string }>(
        `SELECT current_setting('is_superuser') AS superuser, current_user AS user`,
      );
      expect(row).toEqual({ superuser: "off", user: role });
    });

    it("the UCI export, then new, changed and moved orders over several batches: same reports and rows as the superuser's", async () => {
      const head = "order_id,customer_id,date,amount";
      const day = (i: number) => `2025-06-${String(1 + (i % 28)).padStart(2, "0")}`;
      const first = [head];
      for (let i = 0; i < 300; i++) first.push(`ro${i},rc${i % 10},${day(i)},10.00`);
      // ro0..ro49 move to rc9, ro50..ro99 change amount, 100 new orders, the rest as they were.
      const second = [head];
      for (let i = 0; i < 400; i++)
        second.push(`ro${i},${i < 50 ? "rc9" : `rc${i % 10}`},${day(i)},${i >= 50 && i < 100 ? "12.50" : "10.00"}`);
      const files = [
        orders(UCI),
        orders(file("first.csv", first), { batchSize: 100 }),
        orders(file("second.csv", second), { batchSize: 120 }),
        orders(UCI), // again: every row as it was
      ];
      const reports: ImportReport[] = [];
      for (const options of files) {
        const byRole = await importFile(asRole, options);
        const bySuperuser = await importFile(asSuperuser, options);
        expect(outcome(byRole)).toEqual(outcome(bySuperuser));
        reports.push(byRole);
      }
      // The second file changed stored orders (ro9, ro19... were rc9's already), and the UCI file
      // again changed nothing.
      expect(reports[2]!.written).toEqual({ inserted: 100, updated: 45 + 50, unchanged: 205 });
      expect(reports[3]!.written.inserted + reports[3]!.written.updated).toBe(0);
      expect(reports[3]!.written.unchanged).toBe(reports[0]!.written.inserted);

      const roleRows = await stored(asRole);
      expect(roleRows.purchases.length).toBeGreaterThan(400); // the UCI invoices and the 400 of the second file
      expect(roleRows.refunds.length).toBeGreaterThan(0);
      expect(roleRows.anonymous.length).toBeGreaterThan(0);
      expect(roleRows).toEqual(await stored(asSuperuser));
      expect(await purchaseStatsDrift(asRole)).toEqual([]);
    });
  },
);
