// The erasure suppression list on a real database: erasure keeps only keyed digests (with the key
// generated once, or ERASURE_KEY), every import path skips who is on it and counts them once
// (dry run, --strict, the CDNOW format), and a changed key is refused instead of matching nothing.
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../../test/helpers/db";
import type { Database } from "../db/client";
import { importFile } from "../import/importer";
import { ingest } from "../import/ingest";
import { eraseCustomer } from "./consent";
import { ErasureKeyError, loadSuppressionList } from "./suppression";

const NOW = new Date("2026-11-20T12:00:00Z");
const dir = mkdtempSync(path.join(os.tmpdir(), "suppression-"));
const file = (name: string, lines: string[]) => {
  const f = path.join(dir, name);
  writeFileSync(f, lines.join("\n") + "\n");
  return f;
};

async function eraseNew(db: Database, externalId: string, erasure?: { key?: string }) {
  const customer = await db.prisma.customer.create({
    data: { externalId, name: "Olga Brandt", email: `${externalId.toLowerCase()}@example.org`, phone: "+79160001122" },
  });
  const erased = await eraseCustomer(db, customer.id, { now: NOW, erasure });
  expect(erased.ok).toBe(true);
}

describe("erasure suppression list, generated key [pglite]", () => {
  let db: Database;
  beforeAll(async () => {
    db = await createTestDatabase("pglite");
  });
  afterAll(async () => {
    await db?.close();
  });

  it("keeps digests only, under a key generated once and kept apart from them", async () => {
    expect((await loadSuppressionList(db)).empty).toBe(true);
    expect(await db.prisma.installSecret.count()).toBe(0); // no key before the first erasure
    await eraseNew(db, "4242");
    const rows = await db.prisma.erasureSuppression.findMany({ orderBy: { kind: "asc" } });
    expect(rows.map((r) => r.kind)).toEqual(["email", "external_id", "phone"]);
    for (const r of rows) expect(r.digest).toMatch(/^[0-9a-f]{64}$/);
    const secrets = await db.prisma.installSecret.findMany();
    expect(secrets.map((s) => s.name)).toEqual(["erasure_key"]);
    // A second erasure uses the same key.
    await eraseNew(db, "4343");
    expect(await db.prisma.installSecret.count()).toBe(1);
    expect(await db.prisma.erasureSuppression.count()).toBe(5); // the shared phone once
  });

  it("skips them in customer files (by number, e-mail or phone), in dry runs and --strict, counted once", async () => {
    const customers = file("customers.csv", [
      "customer_id,name,email,phone",
      "4242,Olga Brandt,,",
      "5000,Olga B.,4343@EXAMPLE.ORG,",
      "5001,,,+7 916 000-11-22",
      "5002,Someone Else,else@example.org,",
    ]);
    const base = { kind: "customers" as const, file: customers, timeZone: "UTC", now: NOW };
    const dry = await importFile(db, { ...base, dryRun: true });
    expect(dry).toMatchObject({ skippedErased: 3, rejected: 0 });
    expect(await db.prisma.customer.count({ where: { erasedAt: null } })).toBe(0);
    const strict = await importFile(db, { ...base, strict: true });
    expect(strict).toMatchObject({ skippedErased: 3, rejected: 0, refused: false, written: { inserted: 1 } });
    const again = await importFile(db, base);
    expect(again).toMatchObject({ skippedErased: 3, written: { inserted: 0, unchanged: 1 } });
    expect((await db.prisma.customer.findMany({ where: { erasedAt: null } })).map((c) => c.externalId)).toEqual([
      "5002",
    ]);
  });

  it("skips their orders in CDNOW files, which create customers, and in orders files without a customer file", async () => {
    const cdnow = file("cdnow.txt", ["4242 19970101 1 10.00", "4242 19970105 2 20.00", "7001 19970102 1 5.00"]);
    const report = await importFile(db, { kind: "orders", file: cdnow, format: "cdnow", timeZone: "UTC", now: NOW });
    expect(report).toMatchObject({ rows: 3, skippedErased: 2, rejected: 0, customersCreated: 1 });
    expect(await db.prisma.customer.count({ where: { externalId: "4242" } })).toBe(0);

    const orders = file("orders.csv", [
      "order_id,customer_id,date,amount",
      "A1,4343,2026-01-02,5",
      "A2,4343,2026-01-03,6",
      "A3,4343.0,2026-01-04,7",
      "A4,7002,2026-01-04,8",
    ]);
    const staged = await importFile(db, {
      kind: "orders",
      file: orders,
      timeZone: "UTC",
      now: NOW,
      createCustomers: true,
    });
    expect(staged).toMatchObject({
      rows: 4,
      skippedErased: 3,
      rejected: 0,
      customersCreated: 1,
      written: { inserted: 1 },
    });
    expect(staged.totals).toMatchObject({ orders: 1, customers: 1 });
  });

  it("skips their refunds on the live feed, which would otherwise create the customer", async () => {
    const refunds = [
      { external_id: "R-1", customer_id: "4242", refunded_at: "2026-11-01T10:00:00Z", amount: 5 },
      { external_id: "R-2", customer_id: "7003", refunded_at: "2026-11-01T10:00:00Z", amount: 6 },
      { external_id: "R-3", refunded_at: "2026-11-01T10:00:00Z", amount: 7 },
    ];
    const result = await ingest(db, "refunds", refunds, { timeZone: "UTC", now: NOW });
    expect(result).toMatchObject({ received: 3, skippedErased: 1, rejected: [], written: { inserted: 2 } });
    expect(await db.prisma.customer.count({ where: { externalId: "4242" } })).toBe(0);
    expect(await db.prisma.refund.count({ where: { externalId: "R-1" } })).toBe(0);
  });

  it("refuses ERASURE_KEY set after the list was built with the generated key", async () => {
    await expect(loadSuppressionList(db, { key: "k".repeat(32) })).rejects.toThrow(ErasureKeyError);
    await expect(
      importFile(db, {
        kind: "customers",
        file: path.join(dir, "customers.csv"),
        timeZone: "UTC",
        now: NOW,
        erasure: { key: "k".repeat(32) },
      }),
    ).rejects.toThrow(/generated key: unset ERASURE_KEY/);
  });
});

describe("erasure suppression list, ERASURE_KEY [pglite]", () => {
  let db: Database;
  const key = "a-key-of-at-least-thirty-two-characters";
  beforeAll(async () => {
    db = await createTestDatabase("pglite");
  });
  afterAll(async () => {
    await db?.close();
  });

  it("keeps only a check of the configured key, matches with it and refuses another or none", async () => {
    await eraseNew(db, "X-1", { key });
    const secrets = await db.prisma.installSecret.findMany();
    expect(secrets.map((s) => s.name)).toEqual(["erasure_key_check"]);
    expect(secrets[0]!.value).not.toContain(key);
    const customers = file("customers-key.csv", ["customer_id,name", "X-1,Olga", "X-2,Ivan"]);
    const base = { kind: "customers" as const, file: customers, timeZone: "UTC", now: NOW };
    expect(await importFile(db, { ...base, erasure: { key } })).toMatchObject({
      skippedErased: 1,
      written: { inserted: 1 },
    });
    await expect(importFile(db, { ...base, erasure: { key: `${key}-changed` } })).rejects.toThrow(
      /not the key the erasure suppression list was built with/,
    );
    await expect(importFile(db, base)).rejects.toThrow(/built with ERASURE_KEY, which is not set/);
    expect(await db.prisma.customer.count({ where: { externalId: "X-1" } })).toBe(0);
  });
});
