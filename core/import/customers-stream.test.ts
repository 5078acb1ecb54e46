// Customer files read as a stream: rows far past the first batches keep their line numbers, a
// transactional file is refused before anything is written even when its repeated id comes late,
// and --dry-run writes nothing.
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Database } from "../db/client";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import { importFile, ImportFileError, type ImportOptions } from "./importer";

const NOW = new Date("2026-11-22T12:00:00Z");
const dir = mkdtempSync(path.join(os.tmpdir(), "customers-stream-test-"));
let fileNo = 0;

function file(lines: string[]): string {
  const p = path.join(dir, `f${++fileNo}.csv`);
  writeFileSync(p, lines.join("\n") + "\n");
  return p;
}

const customers = (f: string, extra: Partial<ImportOptions> = {}): ImportOptions => ({
  kind: "customers",
  file: f,
  timeZone: "UTC",
  now: NOW,
  ...extra,
});

/** 12,000 customers `<prefix><i>` (more than two write batches and several read batches). */
function customerLines(prefix: string): string[] {
  const lines = ["customer_id,name,email,consent,tier"];
  for (let i = 0; i < 12_000; i++)
    lines.push(`${prefix}${i},"Customer ${i}, Jr.",${prefix}${i}@example.com,${i % 4 === 0 ? "yes" : "no"},t${i % 3}`);
  return lines;
}

describeEachDatabase("customer import as a stream", (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(() => db?.close());

  const count = async (prefix: string) =>
    (
      await db.queryRows<{ n: number }>(`SELECT count(*)::int AS n FROM customers WHERE external_id LIKE $1 || '%'`, [
        prefix,
      ])
    )[0]!.n;

  it("12,000 customers with bad rows at late lines: each reported at its line, the rest stored; a re-import changes nothing", async () => {
    const lines = customerLines("s");
    lines[7_001 - 1] = "s6999,Bad Mail,not-an-email,yes,t0"; // line 7,001 (customer s6999)
    lines[11_500 - 1] = "s11498,Bad Consent,s11498@example.com,perhaps,t0";
    lines[12_001 - 1] = ",No Id,none@example.com,no,t0"; // the last line
    lines.push('s-quoted,"two', 'lines",two@example.com,no,t1', "s-short,only two");
    const f = file(lines);

    const report = await importFile(db, customers(f));
    expect(report.rows).toBe(12_002);
    expect(report.errors.map((e) => e.line)).toEqual([7_001, 11_500, 12_001, 12_004]);
    expect(report.errors[0]!.reason).toMatch(/email/);
    expect(report.errors[1]!.reason).toMatch(/consent "perhaps" is not yes\/no/);
    expect(report.errors[2]!.reason).toBe("customer id is empty");
    expect(report.errors[3]!.reason).toBe("expected 5 columns, found 2");
    expect(report.written).toEqual({ inserted: 11_998, updated: 0, unchanged: 0 });
    expect(report.customersInFile).toBe(12_001); // the distinct ids, rejected rows included
    expect(await count("s")).toBe(11_998);
    const quoted = await db.prisma.customer.findUniqueOrThrow({ where: { externalId: "s-quoted" } });
    expect(quoted.name).toBe("two\nlines");
    const last = await db.prisma.customer.findUniqueOrThrow({ where: { externalId: "s11997" } });
    expect(last).toMatchObject({ name: "Customer 11997, Jr.", email: "s11997@example.com" });
    expect(last.attributes).toEqual({ tier: "t0" });

    const again = await importFile(db, customers(f));
    expect(again.errors.map((e) => e.line)).toEqual([7_001, 11_500, 12_001, 12_004]);
    expect(again.written).toEqual({ inserted: 0, updated: 0, unchanged: 11_998 });
  });

  it("an id repeated far into the file: refused as transactional before any row is written", async () => {
    const lines = customerLines("t");
    lines.push("t3,Again,t3@example.com,no,t0"); // line 12,002 repeats line 5's id
    const f = file(lines);
    const refused = importFile(db, customers(f));
    await expect(refused).rejects.toThrow(ImportFileError);
    await expect(refused).rejects.toThrow(
      /customer id "t3" is on line 5 and again on line 12002: this looks like a transactional file.*import orders/,
    );
    expect(await count("t")).toBe(0);
  });

  it("--dry-run reads every row and reports its rejections, and writes nothing", async () => {
    const lines = customerLines("d");
    lines[9_999 - 1] = "d9997,Bad,d9997@example.com,maybe,t0";
    const report = await importFile(db, customers(file(lines), { dryRun: true }));
    expect(report.rows).toBe(12_000);
    expect(report.errors.map((e) => e.line)).toEqual([9_999]);
    expect(report.written).toEqual({ inserted: 0, updated: 0, unchanged: 0 });
    expect(report.customersInFile).toBe(12_000);
    expect(report.marketableCustomers).toBeNull();
    expect(await count("d")).toBe(0);
  });
});
