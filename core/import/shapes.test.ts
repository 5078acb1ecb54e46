// Real export shapes imported with no options: the UCI Online Retail lines (read from
// ../shared/data, never copied), Shopify, WooCommerce and a 1C file in Windows-1251; and the bad
// inputs that must stop with a message saying what to do.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "csv-parse/sync";
import iconv from "iconv-lite";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeEachDatabase, withTestDatabase } from "../../test/helpers/db";
import type { Database } from "../db/client";
import { importFile, type ImportOptions } from "./importer";

const FIXTURES = path.resolve(import.meta.dirname, "fixtures");
// ../shared/data beside the project root (a worktree sits one folder deeper)
const UCI =
  ["../../../shared/data", "../../../../shared/data"]
    .map((p) => path.resolve(import.meta.dirname, p, "online_retail_first_week.csv"))
    .find((p) => existsSync(p)) ?? "online_retail_first_week.csv (missing)";
const NOW = new Date("2026-12-02T12:00:00Z");
const dir = mkdtempSync(path.join(os.tmpdir(), "import-shapes-"));
let fileNo = 0;
function file(content: string | Buffer): string {
  const p = path.join(dir, `f${++fileNo}.csv`);
  writeFileSync(p, content);
  return p;
}
const options = (kind: ImportOptions["kind"], f: string, extra: Partial<ImportOptions> = {}): ImportOptions => ({
  kind,
  file: f,
  timeZone: "UTC",
  now: NOW,
  createCustomers: true,
  ...extra,
});

/** Each customer's net revenue in cents: purchases minus refunds, from the store. */
async function netByCustomer(db: Database): Promise<Map<string, number>> {
  const rows = await db.prisma.$queryRaw<{ external_id: string; net: string }[]>`
    SELECT c.external_id,
           (coalesce((SELECT sum(amount) FROM purchases p WHERE p.customer_id = c.id), 0)
            - coalesce((SELECT sum(amount) FROM refunds r WHERE r.customer_id = c.id), 0))::text AS net
      FROM customers c`;
  return new Map(rows.map((r) => [r.external_id, Math.round(Number(r.net) * 100)]));
}

describeEachDatabase("import shapes", (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(() => db?.close());

  it.skipIf(!existsSync(UCI))(
    `UCI Online Retail lines with no option: orders, net revenue per customer, refunds and anonymous sales match an independent count (needs ${UCI})`,
    async () => {
      await withTestDatabase(kind, async (fresh) => {
        const report = await importFile(fresh, options("orders", UCI));
        expect(report.detected.shape).toBe("lines");
        expect(report.detected.dateFormat).toBe("M/d/yy H:mm");
        expect(report.detected.mapping).toMatchObject({
          externalId: "InvoiceNo",
          customer: "CustomerID",
          purchasedAt: "InvoiceDate",
          quantity: "Quantity",
          unitPrice: "UnitPrice",
        });
        // the only rejected row is the cut last line
        expect(report.rejected).toBe(1);
        expect(report.rejectionsByReason[0]!.reason).toMatch(/last line is cut short/);
        expect(report.tooManyRejected).toBe(false);

        // The independent count: the CSV read with csv-parse, money in cents per line.
        const rows = parse(readFileSync(UCI, "latin1"), { columns: true, relax_column_count: true }) as Record<
          string,
          string
        >[];
        const complete = rows.filter((r) => r.Country !== undefined);
        const expected = new Map<string, number>();
        const invoices = new Set<string>();
        let anonymous = 0;
        for (const r of complete) {
          const cents = Math.round(Number(r.Quantity) * Number(r.UnitPrice) * 100);
          const customer = r.CustomerID!.trim().replace(/\.0+$/, "");
          if (customer === "") {
            anonymous += cents;
            continue;
          }
          expected.set(customer, (expected.get(customer) ?? 0) + cents);
          if (!r.InvoiceNo!.startsWith("C") && Number(r.Quantity) > 0) invoices.add(r.InvoiceNo!);
        }
        expect(await fresh.prisma.purchase.count()).toBe(invoices.size);
        expect(report.totals!.orders).toBe(invoices.size);
        const stored = await netByCustomer(fresh);
        expect(stored.size).toBe(expected.size);
        for (const [customer, cents] of expected) {
          // each order's amount is rounded to cents once: allow a cent per order
          const orders = await fresh.prisma.purchase.count({ where: { customer: { externalId: customer } } });
          expect(Math.abs(stored.get(customer)! - cents), customer).toBeLessThanOrEqual(Math.max(1, orders));
        }
        // customers whose cancellations were in the file have refunds, not lower order amounts
        expect(await fresh.prisma.refund.count({ where: { customerId: { not: null } } })).toBe(
          report.totals!.refundCount,
        );
        const anon = await fresh.prisma.$queryRaw<{ net: string }[]>`
          SELECT ((SELECT coalesce(sum(amount), 0) FROM anonymous_sales)
                - (SELECT coalesce(sum(amount), 0) FROM refunds WHERE customer_id IS NULL))::text AS net`;
        expect(Math.abs(Math.round(Number(anon[0]!.net) * 100) - anonymous)).toBeLessThanOrEqual(
          report.totals!.anonymousSales,
        );
        // the scoring path's purchase totals are net too
        const drift = await fresh.prisma.$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS n FROM customer_purchase_stats s
            JOIN customers c ON c.id = s.customer_id
           WHERE s.revenue <> (SELECT sum(amount) FROM purchases p WHERE p.customer_id = c.id)
                             - coalesce((SELECT sum(amount) FROM refunds r WHERE r.customer_id = c.id), 0)`;
        expect(drift[0]!.n).toBe(0);
        // nobody imported without a consent column may be marketed to
        expect(report.marketableCustomers).toBe(0);
        // a second import changes nothing
        const again = await importFile(fresh, options("orders", UCI));
        expect(again.written.inserted + again.written.updated).toBe(0);
        expect(again.refundsWritten.inserted + again.refundsWritten.updated).toBe(0);
        expect(again.anonymousWritten.inserted + again.anonymousWritten.updated).toBe(0);
      });
    },
    300_000,
  );

  it("a Shopify orders export: lines grouped by Name, customers by email, refunded amounts and cancellations as refunds, guest orders anonymous", async () => {
    const report = await importFile(db, options("orders", path.join(FIXTURES, "shopify_orders.csv")));
    expect(report.errors).toEqual([]);
    expect(report.detected.shape).toBe("lines");
    const ann = await db.prisma.purchase.findUniqueOrThrow({ where: { externalId: "#1001" } });
    expect(Number(ann.amount)).toBe(45); // 2 x 12.50 + 20.00
    expect(ann.lines).toBe(2);
    expect(ann.quantity).toBe(3);
    expect(ann.purchasedAt.toISOString()).toBe("2024-03-04T10:15:20.000Z");
    const net = await netByCustomer(db);
    expect(net.get("ann@example.com")).toBe(4500); // #1003 cancelled and refunded in full
    expect(net.get("boris@example.com")).toBe(2000); // 30.00 - 10.00 refunded
    const refund = await db.prisma.refund.findUniqueOrThrow({ where: { externalId: "#1002:refund" } });
    expect(refund.orderExternalId).toBe("#1002");
    expect(await db.prisma.anonymousSale.findUnique({ where: { externalId: "#1004" } })).toMatchObject({
      lines: 1,
    });
    expect(report.totals).toMatchObject({ gross: "83.00", refunds: "18.00", net: "65.00", anonymousGross: "5.50" });
  });

  it("a WooCommerce export: currency signs and thousands separators, a refunded order", async () => {
    const report = await importFile(db, options("orders", path.join(FIXTURES, "woocommerce_orders.csv")));
    expect(report.errors).toEqual([]);
    const order = await db.prisma.purchase.findUniqueOrThrow({ where: { externalId: "2001" } });
    expect(Number(order.amount)).toBe(2580.5); // 2 x $1,250.00 + $80.50
    const net = await netByCustomer(db);
    expect(net.get("17")).toBe(259350);
    expect(net.get("18")).toBe(0);
  });

  it("the totals count as the orders' customers only those with an order; a customer with refunds only is counted apart", async () => {
    const f = file(
      [
        "order_id,customer_id,date,amount",
        "T1,tot-ann,2024-01-01,10.00",
        "T2,tot-ann,2024-01-02,5.00",
        "T3,tot-boris,2024-01-03,7.00",
        "C4,tot-vera,2024-01-04,-4.00", // a refund of an order imported before, and nothing else
        "C5,tot-boris,2024-01-05,-2.00",
      ].join("\n"),
    );
    const report = await importFile(db, options("orders", f));
    expect(report.errors).toEqual([]);
    expect(report.totals).toMatchObject({ orders: 3, customers: 2, refundOnlyCustomers: 1, refundCount: 2 });
    expect(report.customersInFile).toBe(3);
  });

  it("a 1C export in Windows-1251 with ; and decimal commas: Russian headers, day-first dates, a return linked to its order", async () => {
    const report = await importFile(db, options("orders", path.join(FIXTURES, "1c_orders_cp1251.csv")));
    expect(report.errors).toEqual([]);
    expect(report.detected.encoding).toMatch(/windows-1251/);
    expect(report.detected.delimiter).toBe(";");
    expect(report.detected.decimalMark).toBe("decimal comma");
    expect(report.detected.dateFormat).toBe("d.M.yyyy H:mm:ss");
    const order = await db.prisma.purchase.findUniqueOrThrow({
      where: { externalId: "ЗК-001" },
      include: { customer: true },
    });
    expect(order.customer.externalId).toBe("ООО Ромашка");
    expect(Number(order.amount)).toBe(5901); // 2 x 1 250,50 + 3 400,00
    expect(order.purchasedAt.toISOString()).toBe("2024-12-01T10:15:00.000Z");
    const ret = await db.prisma.refund.findUniqueOrThrow({ where: { externalId: "ЗК-003:return" } });
    expect(ret.orderExternalId).toBe("ЗК-001");
    expect(Number(ret.amount)).toBe(1250.5);
    expect((await netByCustomer(db)).get("ООО Ромашка")).toBe(465050);
    expect(report.totals!.anonymousSales).toBe(1);
  });

  it("a Latin-1 file is detected and decoded; --encoding overrides", async () => {
    const text = "Customer ID;Name;Email\nlat1;Zoé Müller;zoe@example.com\n";
    const f = file(iconv.encode(text, "latin1"));
    const report = await importFile(db, options("customers", f));
    expect(report.errors).toEqual([]);
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { externalId: "lat1" } })).name).toBe("Zoé Müller");
    const given = await importFile(db, options("customers", f, { encoding: "latin1" }));
    expect(given.detected.encoding).toBe("latin1 (given)");
    expect(given.written.unchanged).toBe(1);
  });

  it("an ambiguous date sample stops with the two --date-format values to choose from; given one, it imports", async () => {
    const f = file("order_id,customer_id,date,amount\na1,d1,01/02/2024,5\na2,d1,03/04/2024,6\na3,d2,05/06/2024,7\n");
    await expect(importFile(db, options("orders", f))).rejects.toThrow(
      /day-first or month-first.*--date-format d\/M\/yyyy or --date-format M\/d\/yyyy/,
    );
    expect(await db.prisma.purchase.count({ where: { externalId: "a1" } })).toBe(0);
    const report = await importFile(db, options("orders", f, { dateFormat: "d/M/yyyy" }));
    expect(report.errors).toEqual([]);
    const a1 = await db.prisma.purchase.findUniqueOrThrow({ where: { externalId: "a1" } });
    expect(a1.purchasedAt.toISOString()).toBe("2024-02-01T00:00:00.000Z");
  });

  it("a customer file with an id on several rows is refused as transactional, and nothing is written", async () => {
    const f = file("CustomerID,InvoiceNo,StockCode\n900,1,A\n901,2,B\n900,3,C\n");
    await expect(importFile(db, options("customers", f))).rejects.toThrow(
      /customer id "900" is on line 2 and again on line 4: this looks like a transactional file.*import orders/,
    );
    expect(await db.prisma.customer.count({ where: { externalId: "901" } })).toBe(0);
  });

  it("a file with every row rejected fails, counts every reason and names the option that helps", async () => {
    const f = file("order_id,customer_id,date,amount\nz1,nobody1,2024-01-01,5\nz2,nobody2,2024-01-02,6\n");
    const report = await importFile(db, options("orders", f, { createCustomers: false }));
    expect(report.rejected).toBe(2);
    expect(report.tooManyRejected).toBe(true);
    expect(report.rejectionsByReason).toEqual([
      { reason: expect.stringMatching(/unknown customer/), count: 2, firstLine: 2 },
    ]);
    expect(report.hints.join("\n")).toMatch(/--create-customers/);
  });

  it("--dry-run states the shape, columns, dates and totals and writes nothing", async () => {
    const before = await db.prisma.purchase.count();
    const f = file('Invoice,Customer,Date,Qty,Price\nx1,dr1,2024-01-01,2,"1,50"\nx1,dr1,2024-01-01,1,"2,00"\n');
    const report = await importFile(db, options("orders", f, { dryRun: true }));
    expect(report.dryRun).toBe(true);
    expect(report.detected.shape).toBe("lines");
    expect(report.totals!.gross).toBe("5.00");
    expect(report.preview[0]).toMatchObject({ kind: "purchase", order: "x1", amount: "5.00", lines: 2 });
    expect(await db.prisma.purchase.count()).toBe(before);
    expect(await db.prisma.customer.count({ where: { externalId: "dr1" } })).toBe(0);
  });
});
