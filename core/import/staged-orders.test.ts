// The orders import as a stream staged through COPY: line numbers after the first batches of the
// stream, totals of a file of many batches, the date layout read from the whole file, and nothing
// left behind by an import that fails or is stopped before it writes.
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Database } from "../db/client";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { purchaseStatsDrift } from "../db/purchase-stats";
import { importFile, type ImportOptions } from "./importer";

const NOW = new Date("2026-11-22T12:00:00Z");
const dir = mkdtempSync(path.join(os.tmpdir(), "staged-orders-test-"));
let fileNo = 0;

function file(lines: string[]): string {
  const p = path.join(dir, `f${++fileNo}.csv`);
  writeFileSync(p, lines.join("\n") + "\n");
  return p;
}

const orders = (f: string, extra: Partial<ImportOptions> = {}): ImportOptions => ({
  kind: "orders",
  file: f,
  timeZone: "UTC",
  now: NOW,
  ...extra,
});

/** Tables an import staged into and should have dropped (PGlite's one session outlives it). */
async function stagingTables(db: Database): Promise<string[]> {
  const rows = await db.queryRows<{ relname: string }>(
    `SELECT relname FROM pg_class WHERE relname LIKE 'import\\_%' AND relkind = 'r'`,
  );
  return rows.map((r) => r.relname);
}

describeEachDatabase("staged orders import", (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(() => db?.close());

  it("12,000 product lines: rejections far into the stream keep their line numbers; totals, stored sums and a re-import agree", async () => {
    // 4,000 orders of three lines each (three read batches); customer k(i % 500); line amounts
    // 1.25, 2.50 and 3.75.
    const lines = ["order_id,customer_id,date,quantity,unit_price,product"];
    const bad = new Map<number, RegExp>();
    let grossCents = 0;
    for (let o = 0; o < 4_000; o++)
      for (let l = 0; l < 3; l++) {
        const line = lines.length + 1;
        const day = `2025-0${1 + (o % 9)}-${String(1 + (o % 28)).padStart(2, "0")}`;
        if (line === 2_501) {
          lines.push(`n${o},k${o % 500},${day},1,abc,p${l}`); // not a number, in the second batch read
          bad.set(line, /unit price "abc" is not a number/);
        } else if (line === 8_234) {
          lines.push(`n${o},k${o % 500},2025-02-30,1,1.25,p${l}`); // no such day
          bad.set(line, /date "2025-02-30" is not a date/);
        } else if (line === 11_110) {
          lines.push(`n${o},someone-else,${day},1,1.25,p${l}`); // another customer than its order's
          bad.set(line, /order "n\d+" is for customer "k\d+" on line \d+, not "someone-else"/);
        } else {
          lines.push(`n${o},k${o % 500},${day},${l + 1},1.25,"product ${l}, ""quoted"""`);
          grossCents += 125 * (l + 1);
        }
      }
    // A quoted field over two lines at the very end: the line after it is line count + 2.
    lines.push(`z1,k1,2025-03-01,1,"1.00",p0`, `z2,k1,2025-03-02,1,1.00,"two`, `lines"`, `z3,k1,2025-03-03,1,x,p0`);
    bad.set(12_005, /unit price "x" is not a number/);
    const f = file(lines);
    await db.execScript(
      `INSERT INTO customers (external_id, marketing_consent) SELECT 'k' || i, i < 100 FROM generate_series(0, 499) i`,
    );

    const report = await importFile(db, orders(f));
    expect(report.rows).toBe(12_003);
    expect(report.errors.map((e) => e.line)).toEqual([...bad.keys()]);
    for (const e of report.errors) expect(e.reason).toMatch(bad.get(e.line)!);
    expect(report.rejected).toBe(4);
    expect(report.detected.shape).toBe("lines");
    const gross = (grossCents + 200) / 100; // and z1, z2
    expect(report.totals).toMatchObject({ orders: 4_002, customers: 500, gross: gross.toFixed(2) });
    expect(report.written).toEqual({ inserted: 4_002, updated: 0, unchanged: 0 });
    expect(report.marketableCustomers).toBe(100);
    const [stored] = await db.queryRows<{ n: number; total: string; lines: number }>(
      `SELECT count(*)::int AS n, sum(amount)::text AS total, sum(lines)::int AS lines FROM purchases`,
    );
    expect(stored).toEqual({ n: 4_002, total: gross.toFixed(2), lines: 12_000 - 3 + 2 });
    const first = await db.prisma.purchase.findUniqueOrThrow({ where: { externalId: "n0" } });
    expect(Number(first.amount)).toBe(1.25 + 2.5 + 3.75);
    expect(first.quantity).toBe(6);
    expect(await stagingTables(db)).toEqual([]);
    expect(await purchaseStatsDrift(db)).toEqual([]);

    const again = await importFile(db, orders(f));
    expect(again.errors.map((e) => e.line)).toEqual([...bad.keys()]);
    expect(again.written).toEqual({ inserted: 0, updated: 0, unchanged: 4_002 });
  });

  it("a file of new, changed and moved orders: counted as inserted, updated and unchanged; every customer's totals stay exact", async () => {
    await db.execScript(
      `INSERT INTO customers (external_id) SELECT 'm' || i FROM generate_series(0, 9) i ON CONFLICT DO NOTHING`,
    );
    const first = ["order_id,customer_id,date,amount"];
    for (let i = 0; i < 300; i++)
      first.push(`mo${i},m${i % 10},2025-06-${String(1 + (i % 28)).padStart(2, "0")},10.00`);
    const one = await importFile(db, orders(file(first), { batchSize: 120 }));
    expect(one.written).toEqual({ inserted: 300, updated: 0, unchanged: 0 });
    expect(await purchaseStatsDrift(db)).toEqual([]);

    // mo0..mo49 move to customer m9, mo50..mo99 change amount, 100 new orders, the rest as they were.
    const second = ["order_id,customer_id,date,amount"];
    for (let i = 0; i < 400; i++) {
      const day = `2025-06-${String(1 + (i % 28)).padStart(2, "0")}`;
      if (i < 50) second.push(`mo${i},m9,${day},10.00`);
      else if (i < 100) second.push(`mo${i},m${i % 10},${day},12.50`);
      else second.push(`mo${i},m${i % 10},${day},10.00`);
    }
    const two = await importFile(db, orders(file(second), { batchSize: 120 }));
    const moved = 50 - 5; // mo9, mo19... were m9's already
    expect(two.written).toEqual({ inserted: 100, updated: moved + 50, unchanged: 400 - 100 - moved - 50 });
    expect(await purchaseStatsDrift(db)).toEqual([]);
    const [m0] = await db.queryRows<{ n: number; revenue: string }>(
      `SELECT s.purchase_count AS n, s.revenue::text AS revenue FROM customer_purchase_stats s
         JOIN customers c ON c.id = s.customer_id WHERE c.external_id = 'm0'`,
    );
    // m0: mo0..mo390 step 10 = 40 orders, less mo0..mo40 (5 moved), mo50..mo90 at 12.50
    expect(m0).toEqual({ n: 35, revenue: (30 * 10 + 5 * 12.5).toFixed(2) });
  });

  it.each([false, true])(
    "orders stored before met in a late batch (strict %s): the earlier batches stay, the stored ones are updated or kept, none twice",
    async (strict) => {
      const p = strict ? "ls" : "ln";
      await db.execScript(
        `INSERT INTO customers (external_id) SELECT '${p}c' || i FROM generate_series(0, 9) i ON CONFLICT DO NOTHING`,
      );
      const line = (i: number, amount: string) =>
        `${p}${i},${p}c${i % 10},2025-07-${String(1 + (i % 28)).padStart(2, "0")},${amount}`;
      // Ten orders of the third batch are stored already, five of them with another amount.
      const stored = ["order_id,customer_id,date,amount"];
      for (let i = 250; i < 260; i++) stored.push(line(i, i < 255 ? "9.00" : "10.00"));
      expect((await importFile(db, orders(file(stored)))).written.inserted).toBe(10);

      const all = ["order_id,customer_id,date,amount"];
      for (let i = 0; i < 300; i++) all.push(line(i, "10.00"));
      const report = await importFile(db, orders(file(all), { batchSize: 100, strict }));
      expect(report.written).toEqual({ inserted: 290, updated: 5, unchanged: 5 });
      const [row] = await db.queryRows<{ n: number; ids: number; sum: string }>(
        `SELECT count(*)::int AS n, count(DISTINCT external_id)::int AS ids, sum(amount)::text AS sum
           FROM purchases WHERE external_id LIKE '${p}%'`,
      );
      expect(row).toEqual({ n: 300, ids: 300, sum: "3000.00" });
      expect(await purchaseStatsDrift(db)).toEqual([]);
    },
  );

  it("purchases of several batches go in customer by customer: a stopped import leaves the first customers' orders whole, their totals exact, and running it again writes the rest", async () => {
    // 300 orders of 30 customers in turn: every stretch of 100 lines names all 30.
    await db.execScript(
      `INSERT INTO customers (external_id) SELECT 'bc' || lpad(i::text, 2, '0') FROM generate_series(0, 29) i ON CONFLICT DO NOTHING`,
    );
    const lines = ["order_id,customer_id,date,amount"];
    for (let i = 0; i < 300; i++)
      lines.push(`bo${i},bc${String(i % 30).padStart(2, "0")},2025-08-${String(1 + (i % 28)).padStart(2, "0")},10.00`);
    const f = file(lines);
    const abort = new AbortController();
    const stopped = await importFile(
      db,
      orders(f, { batchSize: 100, signal: abort.signal, onProgress: () => abort.abort() }),
    );
    expect(stopped.aborted).toBe(true);
    const byCustomer = () =>
      db.queryRows<{ customer: string; n: number }>(
        `SELECT c.external_id AS customer, count(*)::int AS n FROM purchases p JOIN customers c ON c.id = p.customer_id
          WHERE p.external_id LIKE 'bo%' GROUP BY 1 ORDER BY 1`,
      );
    // One batch: the first ten customers, each with all ten orders (in file order, 100 lines would
    // have given all 30 customers three or four each).
    expect(await byCustomer()).toEqual(
      Array.from({ length: 10 }, (_, k) => ({ customer: `bc${String(k).padStart(2, "0")}`, n: 10 })),
    );
    expect(await purchaseStatsDrift(db)).toEqual([]);
    const rest = await importFile(db, orders(f, { batchSize: 100 }));
    expect(rest.written).toEqual({ inserted: 200, updated: 0, unchanged: 100 });
    expect((await byCustomer()).map((r) => r.n)).toEqual(Array(30).fill(10));
    expect(await purchaseStatsDrift(db)).toEqual([]);
  });

  it("the date layout comes from the whole file: ambiguous first rows are read again once a later row settles it", async () => {
    // 50,001 rows of one date whose day and month are both at most 12, then one with a first part
    // over 12: day first.
    const lines = ["order_id,customer_id,date,amount"];
    for (let i = 0; i < 50_001; i++) lines.push(`d${i},dc${i % 10},01/02/2025,1.00`);
    lines.push("last,dc1,13/02/2025,1.00");
    const report = await importFile(db, orders(file(lines), { createCustomers: true, dryRun: true }));
    expect(report.errors).toEqual([]);
    expect(report.detected.dateFormat).toBe("d/M/yyyy");
    expect(report.preview[0]).toMatchObject({ order: "d0", at: "2025-02-01T00:00:00.000Z" });
    expect(report.totals?.orders).toBe(50_002);
    expect(await db.prisma.purchase.count({ where: { externalId: { startsWith: "d" } } })).toBe(0);
  });

  it("the decimal mark comes from the whole file: rows read with the early verdict of the first rows are read again when later rows outvote it", async () => {
    // 1,000 rows settle a decimal point (every amount votes for it), then 1,500 vote for a comma.
    const lines = ["order_id,customer_id,date,amount"];
    for (let i = 0; i < 1_000; i++) lines.push(`m${i},mc${i % 10},2025-03-01,2.50`);
    for (let i = 1_000; i < 2_500; i++) lines.push(`m${i},mc${i % 10},2025-03-02,"3,25"`);
    const report = await importFile(db, orders(file(lines), { createCustomers: true, dryRun: true }));
    expect(report.errors).toEqual([]);
    expect(report.detected.decimalMark).toBe("decimal comma");
    expect(report.totals).toMatchObject({ orders: 2_500, gross: "7375.00" });
  });

  it("--strict: a write that fails in a late batch leaves nothing, not even the customers it created", async () => {
    // The last order's quantity is more than a purchase can hold (int).
    const lines = ["order_id,customer_id,date,quantity,unit_price"];
    for (let i = 0; i < 300; i++) lines.push(`s${i},sc${i},2025-04-01,1,10.00`);
    lines.push("big,sc-big,2025-04-02,3000000000,0.001");
    const before = { purchases: await db.prisma.purchase.count(), customers: await db.prisma.customer.count() };
    await expect(
      importFile(db, orders(file(lines), { strict: true, createCustomers: true, batchSize: 50 })),
    ).rejects.toThrow(/out of range/);
    expect(await db.prisma.purchase.count()).toBe(before.purchases);
    expect(await db.prisma.customer.count()).toBe(before.customers);
    expect(await stagingTables(db)).toEqual([]);
  });

  it("stopped while the file is still being read: nothing is written", async () => {
    const lines = ["order_id,customer_id,date,amount"];
    for (let i = 0; i < 60_000; i++) lines.push(`r${i},rc${i % 100},2025-05-01,1.00`);
    const abort = new AbortController();
    const phases: number[] = [];
    const report = await importFile(
      db,
      orders(file(lines), {
        createCustomers: true,
        signal: abort.signal,
        onProgress: (p) => {
          phases.push(p.rows);
          abort.abort();
        },
      }),
    );
    expect(report.aborted).toBe(true);
    expect(phases).toEqual([50_000]); // the first report comes from reading, after one staged batch
    expect(await db.prisma.purchase.count({ where: { externalId: { startsWith: "r" } } })).toBe(0);
    expect(await db.prisma.customer.count({ where: { externalId: { startsWith: "rc" } } })).toBe(0);
    expect(await stagingTables(db)).toEqual([]);
  });
});
