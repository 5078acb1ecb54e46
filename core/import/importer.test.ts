import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { until } from "../../test/helpers/wait";
import type { Database } from "../db/client";
import { createTestDatabase, describeEachDatabase, withTestDatabase } from "../../test/helpers/db";
import { importFile, ImportFileError, type ImportOptions } from "./importer";

// ../shared/data beside the project root (a worktree sits one folder deeper)
const DATA =
  ["../../../shared/data", "../../../../shared/data"]
    .map((p) => path.resolve(import.meta.dirname, p))
    .find((p) => existsSync(p)) ?? path.resolve(import.meta.dirname, "../../../shared/data");
const CDNOW_MASTER = path.join(DATA, "CDNOW_master.txt");
const CDNOW_SAMPLE = path.join(DATA, "CDNOW_sample.txt");
const NOW = new Date("2026-11-22T12:00:00Z");
const dir = mkdtempSync(path.join(os.tmpdir(), "import-test-"));
let fileNo = 0;

function file(content: string | Buffer): string {
  const p = path.join(dir, `f${++fileNo}.csv`);
  writeFileSync(p, content);
  return p;
}

const base = (kind: ImportOptions["kind"], f: string, extra: Partial<ImportOptions> = {}): ImportOptions => ({
  kind,
  file: f,
  timeZone: "UTC",
  now: NOW,
  ...extra,
});

const CUSTOMERS = `Customer ID,Full Name,E-mail,Phone,Language,Timezone,Signup Date,Tier,Visits,VIP
c1,Ann Lee,ANN@example.com,+44 20 7946 0018,en,Europe/London,2024-03-01,gold,12,true
c2,Борис Петров,boris@example.ru,+7 912 000-11-22,ru,Europe/Moscow,2024-05-10,silver,3.5,false
c3,Cleo,,,,,,bronze,,
`;

describeEachDatabase("import", (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(() => db?.close());

  it("maps customer columns by name, keeps the rest as typed attributes, and re-importing changes nothing", async () => {
    const f = file(CUSTOMERS);
    const first = await importFile(db, base("customers", f));
    expect(first.errors).toEqual([]);
    expect(first.written).toEqual({ inserted: 3, updated: 0, unchanged: 0 });
    const ann = await db.prisma.customer.findUniqueOrThrow({ where: { externalId: "c1" } });
    expect(ann).toMatchObject({
      name: "Ann Lee",
      email: "ann@example.com",
      phone: "+442079460018",
      locale: "en",
      timeZone: "Europe/London",
    });
    expect(ann.signedUpAt?.toISOString()).toBe("2024-03-01T00:00:00.000Z");
    expect(ann.attributes).toEqual({ tier: "gold", visits: 12, vip: true });
    const boris = await db.prisma.customer.findUniqueOrThrow({ where: { externalId: "c2" } });
    expect(boris.attributes).toEqual({ tier: "silver", visits: 3.5, vip: false });

    const before = await db.prisma.customer.findMany({ orderBy: { id: "asc" } });
    const again = await importFile(db, base("customers", f));
    expect(again.written).toEqual({ inserted: 0, updated: 0, unchanged: 3 });
    expect(await db.prisma.customer.findMany({ orderBy: { id: "asc" } })).toEqual(before);
  });

  it("--map overrides the name matching", async () => {
    const f = file("Kundennummer,Nom\nk1,Zoé\n");
    await expect(importFile(db, base("customers", f))).rejects.toThrow(/no column for "externalId"/);
    const report = await importFile(db, base("customers", f, { map: { Kundennummer: "externalId", Nom: "name" } }));
    expect(report.written.inserted).toBe(1);
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { externalId: "k1" } })).name).toBe("Zoé");
    await expect(importFile(db, base("customers", f, { map: { Missing: "externalId" } }))).rejects.toThrow(
      ImportFileError,
    );
  });

  it("reports each bad order row with its line number and imports the rest", async () => {
    const bigField = "x".repeat(1024 * 1024);
    const lines = [
      "order_id,customer_id,date,amount,category", // 1
      "o1,c1,2025-01-05,19.90,tea", // 2 good
      "o2,c1,2025-01-06", // 3 wrong column count
      "o3,c1,2025-13-45,5.00,tea", // 4 bad date
      "o4,c1,2025-01-07,-3.00,tea", // 5 negative: a refund
      "o5,c1,2025-01-08,ten,tea", // 6 not a number
      "o6,nobody,2025-01-09,5.00,tea", // 7 unknown customer
      `o7,c1,2025-01-10,5.00,${bigField}`, // 8 1 MB field
      "o8,c2,2025-01-11 14:30:00,7.25,coffee", // 9 good
      "o9,c1,2031-01-01,5.00,tea", // 10 future
      "o10,,2025-01-12,5.00,tea", // 11 no customer: an anonymous sale
      "o1,c1,2025-01-05,19.90,tea", // 12 duplicate order id (one row per order forced)
    ];
    const f = file(lines.join("\n") + "\n");
    const before = await db.prisma.purchase.count();
    const report = await importFile(db, base("orders", f, { shape: "orders" }));
    expect(report.errors.map((e) => e.line)).toEqual([3, 4, 6, 7, 8, 10, 12]);
    const reason = (line: number) => report.errors.find((e) => e.line === line)?.reason;
    expect(reason(3)).toMatch(/expected 5 columns, found 3/);
    expect(reason(4)).toMatch(/not a date/);
    expect(reason(6)).toMatch(/amount "ten" is not a number/);
    expect(reason(7)).toMatch(/unknown customer "nobody"/);
    expect(reason(8)).toMatch(/1048576 characters long/);
    expect(reason(10)).toMatch(/in the future/);
    expect(reason(12)).toMatch(/duplicate order id "o1" \(first on line 2\)/);
    expect(report.written.inserted).toBe(2);
    expect(report.refundsWritten.inserted).toBe(1);
    expect(report.anonymousWritten.inserted).toBe(1);
    expect(report.tooManyRejected).toBe(true); // 7 of 12 rows
    expect(report.rejectionsByReason.reduce((s, r) => s + r.count, 0)).toBe(7);
    expect(await db.prisma.purchase.count()).toBe(before + 2);
    const o8 = await db.prisma.purchase.findUniqueOrThrow({ where: { externalId: "o8" } });
    expect(o8.purchasedAt.toISOString()).toBe("2025-01-11T14:30:00.000Z");
    expect(Number(o8.amount)).toBe(7.25);
    const refund = await db.prisma.refund.findUniqueOrThrow({ where: { externalId: "o4:return" } });
    expect(Number(refund.amount)).toBe(3);
  });

  it("--strict refuses the whole file and writes nothing", async () => {
    const f = file(
      "order_id,customer_id,date,amount\ns1,c1,2025-02-01,10\ns2,c1,2025-02-02,abc\ns3,c2,2025-02-03,12\n",
    );
    const before = await db.prisma.purchase.count();
    const report = await importFile(db, base("orders", f, { strict: true }));
    expect(report.refused).toBe(true);
    expect(report.errors).toEqual([{ line: 3, reason: 'amount "abc" is not a number' }]);
    expect(await db.prisma.purchase.count()).toBe(before);
    const good = file("order_id,customer_id,date,amount\ns1,c1,2025-02-01,10\ns3,c2,2025-02-03,12\n");
    const ok = await importFile(db, base("orders", good, { strict: true, batchSize: 1 }));
    expect(ok.refused).toBe(false);
    expect(await db.prisma.purchase.count()).toBe(before + 2);
  });

  it("an interrupted import keeps whole batches only, and running it again completes it without duplicates", async () => {
    const rows = [
      "order_id,customer_id,date,amount",
      ...Array.from({ length: 250 }, (_, i) => `b${i},c3,2025-03-01T10:00:00Z,${i}.50`),
    ];
    const f = file(rows.join("\n"));
    const abort = new AbortController();
    const before = await db.prisma.purchase.count();
    const report = await importFile(
      db,
      base("orders", f, { batchSize: 100, signal: abort.signal, onProgress: () => abort.abort() }),
    );
    expect(report.aborted).toBe(true);
    expect(await db.prisma.purchase.count()).toBe(before + 100);
    const rest = await importFile(db, base("orders", f, { batchSize: 100 }));
    expect(rest.written).toEqual({ inserted: 150, updated: 0, unchanged: 100 });
    expect(await db.prisma.purchase.count()).toBe(before + 250);
  });

  // The whole master file on the server; on PGlite its published 1/10 sample (the same reader and
  // writer, a tenth of the engine's CPU in a suite that runs every database test on both).
  const cdnow =
    kind === "postgres"
      ? { file: CDNOW_MASTER, name: "CDNOW_master", customers: 23_570, purchases: 69_659 }
      : { file: CDNOW_SAMPLE, name: "CDNOW_sample", customers: 2_357, purchases: 6_919 };
  it.skipIf(!existsSync(cdnow.file))(
    `loads ${cdnow.name}: ${cdnow.customers.toLocaleString("en")} customers and ${cdnow.purchases.toLocaleString("en")} purchases; a second import changes no row`,
    async () => {
      await withTestDatabase(kind, async (fresh) => {
        const first = await importFile(fresh, base("orders", cdnow.file, { format: "cdnow" }));
        expect(first.errors).toEqual([]);
        expect(first.customersCreated).toBe(cdnow.customers);
        expect(first.written.inserted).toBe(cdnow.purchases);
        expect(await fresh.prisma.customer.count()).toBe(cdnow.customers);
        const [sum] = await fresh.prisma.$queryRaw<
          { n: number; total: string }[]
        >`SELECT count(*)::int AS n, sum(amount)::text AS total FROM purchases`;
        expect(sum!.n).toBe(cdnow.purchases);
        const second = await importFile(fresh, base("orders", cdnow.file, { format: "cdnow" }));
        expect(second.written).toEqual({ inserted: 0, updated: 0, unchanged: cdnow.purchases });
        expect(second.customersCreated).toBe(0);
        const [after] = await fresh.prisma.$queryRaw<
          { n: number; total: string }[]
        >`SELECT count(*)::int AS n, sum(amount)::text AS total FROM purchases`;
        expect(after).toEqual(sum);
      });
    },
  );

  it.runIf(kind === "postgres")("a process killed mid-import leaves only whole batches", async () => {
    const fresh = await createTestDatabase("postgres");
    const url = (fresh.target as { url: string }).url;
    try {
      const rows = [
        "order_id,customer_id,date,amount",
        ...Array.from({ length: 200_000 }, (_, i) => `k${i},c${i % 50},2025-03-01T10:00:00Z,1.00`),
      ];
      const f = file(rows.join("\n"));
      const child = spawn(
        "node",
        ["jobs/retention.mjs", "import", "orders", f, "--create-customers", "--batch-size", "1000"],
        {
          env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: "silent" },
          stdio: "ignore",
        },
      );
      // kill it once some batches are in
      await until(async () => (await fresh.prisma.purchase.count()) >= 3000, "3,000 purchases imported");
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      const n = await fresh.prisma.purchase.count();
      expect(n).toBeGreaterThanOrEqual(3000);
      expect(n).toBeLessThan(200_000);
      expect(n % 1000).toBe(0);
    } finally {
      await fresh.close();
    }
  });
});
