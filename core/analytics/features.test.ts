import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  type DatabaseKind,
  databaseKinds,
  describeEachDatabase,
  withTestDatabase,
} from "../../test/helpers/db";
import {
  addDays,
  makeCustomers,
  makeFeedback,
  makeGeneratedStore,
  makePurchases,
} from "../../test/helpers/analytics-fixtures";
import type { Database } from "../db/client";
import {
  computeFeatures,
  discoverAttributes,
  featureBatches,
  packedFeatureBatches,
  parseFields,
  purchaseSource,
  type CustomerFeatures,
  type PurchaseSource,
} from "./features";

const asOf = new Date("2025-06-01T00:00:00.000Z");
const at = (iso: string) => new Date(iso);

async function buildFixture(db: Database): Promise<{ a: number; b: number; c: number }> {
  const [a, b, c] = await makeCustomers(db, [
    { signedUpAt: at("2024-01-01T00:00:00Z"), attributes: { tier: "gold", age: 30 } },
    { signedUpAt: at("2025-05-01T00:00:00Z"), attributes: { tier: "silver" } },
    { signedUpAt: at("2025-07-01T00:00:00Z"), attributes: { tier: "gold", age: 50 } },
  ]);
  await makePurchases(db, [
    { customerId: a!, at: at("2025-01-01T12:00:00Z"), amount: 100, grossMargin: 30 },
    { customerId: a!, at: at("2025-02-01T12:00:00Z"), amount: 50 },
    { customerId: a!, at: at("2025-02-01T15:00:00Z"), amount: 30 },
    { customerId: a!, at: at("2025-04-01T12:00:00Z"), amount: 20 },
    // after the cut-off: must be ignored
    { customerId: a!, at: at("2025-07-01T12:00:00Z"), amount: 999, grossMargin: 999 },
    { customerId: c!, at: at("2025-07-02T12:00:00Z"), amount: 10 },
  ]);
  await makeFeedback(db, [
    { customerId: a!, kind: "nps", score: 3, at: at("2025-05-01T00:00:00Z") },
    { customerId: a!, kind: "nps", score: 7, at: at("2025-04-01T00:00:00Z") },
    { customerId: a!, kind: "nps", score: 10, at: at("2025-07-01T00:00:00Z") },
    { customerId: a!, kind: "complaint", at: at("2025-05-10T00:00:00Z") },
    { customerId: a!, kind: "complaint", at: at("2024-06-01T00:00:00Z") },
    { customerId: a!, kind: "complaint", at: at("2025-06-10T00:00:00Z") },
    { customerId: b!, kind: "csat", score: 2, at: at("2025-05-20T00:00:00Z") },
  ]);
  return { a: a!, b: b!, c: c! };
}

describeEachDatabase("features as of a date", (kind) => {
  let db: Database;
  let ids: { a: number; b: number; c: number };
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    ids = await buildFixture(db);
  });
  afterAll(() => db.close());

  it("computes hand-checked values and ignores everything after the cut-off", async () => {
    const { rows, attributeSpec } = await computeFeatures(db, { asOf });
    expect(rows.map((r) => r.customerId)).toEqual([ids.a, ids.b]); // c joined after asOf
    const a = rows[0]!;
    expect(a.purchaseCount).toBe(4);
    expect(a.frequency).toBe(2); // three purchase days
    expect(a.recencyDays).toBeCloseTo(60.5, 6);
    expect(a.T).toBeCloseTo(150.5, 6);
    expect(a.tx).toBeCloseTo(90, 6);
    expect(a.meanGapDays).toBeCloseTo(45, 6);
    expect(a.overdueRatio).toBeCloseTo(60.5 / 45, 6);
    expect(a.monetaryTotal).toBeCloseTo(200, 6);
    expect(a.monetaryMean).toBeCloseTo(50, 6);
    expect(a.spendLast90).toBeCloseTo(20, 6);
    expect(a.spendPrev90).toBeCloseTo(180, 6);
    expect(a.spendTrend).toBeCloseTo(-0.8, 6);
    expect(a.marginShare).toBeCloseTo(0.3, 6);
    expect(a.tenureDays).toBeCloseTo(517, 6);
    expect(a.npsLatest).toBe(3);
    expect(a.csatLatest).toBeNull();
    expect(a.complaints90).toBe(1);
    expect(a.complaintsTotal).toBe(2);
    const b = rows[1]!;
    expect(b.recencyDays).toBeNull();
    expect(b.purchaseCount).toBe(0);
    expect(b.tenureDays).toBeCloseTo(31, 6);
    expect(b.csatLatest).toBe(2);
    expect(b.monetaryMean).toBeNull();

    const names = attributeSpec.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(["attr:age", "attr:tier=gold", "attr:tier=silver"]));
    const value = (row: CustomerFeatures, name: string) => row.attributes[names.indexOf(name)];
    expect(value(a, "attr:age")).toBe(30);
    expect(value(b, "attr:age")).toBe(40); // imputed with the mean
    expect(value(a, "attr:tier=gold")).toBe(1);
    expect(value(b, "attr:tier=gold")).toBe(0);
    expect(value(b, "attr:tier=silver")).toBe(1);
  });

  it("leakage guard: a later cut-off sees the later purchases, an earlier one does not", async () => {
    const later = await computeFeatures(db, { asOf: at("2025-08-01T00:00:00Z") });
    const a = later.rows.find((r) => r.customerId === ids.a)!;
    expect(a.purchaseCount).toBe(5);
    expect(a.monetaryTotal).toBeCloseTo(1199, 6);
    expect(a.npsLatest).toBe(10);
    expect(later.rows.some((r) => r.customerId === ids.c)).toBe(true);
    const earlier = await computeFeatures(db, { asOf: at("2025-02-01T13:00:00Z") });
    const a0 = earlier.rows.find((r) => r.customerId === ids.a)!;
    expect(a0.purchaseCount).toBe(2);
    expect(a0.monetaryTotal).toBeCloseTo(150, 6);
    expect(a0.npsLatest).toBeNull();
    expect(a0.complaintsTotal).toBe(1);
  });

  it("pages through customers in keyset batches with the same result", async () => {
    const spec = (await computeFeatures(db, { asOf })).attributeSpec;
    const batches: CustomerFeatures[][] = [];
    for await (const batch of featureBatches(db, { asOf, attributeSpec: spec, batchSize: 1 })) batches.push(batch);
    const whole = await computeFeatures(db, { asOf, attributeSpec: spec });
    expect(batches.length).toBe(3); // three customers, the third filtered out of its batch
    expect(batches.flat()).toEqual(whole.rows);
  });

  it("as of now read the running purchase totals, row for row the same as from the purchases", async () => {
    await withTestDatabase(kind, async (own) => {
      await buildFixture(own);
      await makeGeneratedStore(own, { customers: 300, asOf, seed: 5 });
      // margins on some purchases, and second purchases on the same day for others
      await own.prisma.$executeRawUnsafe(`UPDATE purchases SET gross_margin = round(amount * 0.3, 2) WHERE id % 3 = 0`);
      await own.prisma.$executeRawUnsafe(
        `INSERT INTO purchases (external_id, customer_id, purchased_at, amount)
         SELECT external_id || '-again', customer_id, purchased_at + interval '1 hour', 1.25 FROM purchases WHERE id % 4 = 0`,
      );
      const now = at("2025-08-01T00:00:00Z"); // after every purchase
      expect(await purchaseSource(own, now)).toBe("stats");
      expect(await purchaseSource(own, asOf)).toBe("purchases");
      const attributeSpec = await discoverAttributes(own);
      const read = async (source: PurchaseSource) => {
        const rows: string[] = [];
        for await (const batch of packedFeatureBatches(own, { asOf: now, attributeSpec, source, batchSize: 64 }))
          rows.push(...batch);
        return rows;
      };
      const fromStats = await read("stats");
      expect(fromStats.length).toBe(303);
      expect(fromStats).toEqual(await read("purchases"));
      // Some customers only (a training sample): their rows, the same from either source.
      const whole = await computeFeatures(own, { asOf: now, attributeSpec, source: "purchases" });
      const some = whole.rows.filter((_, i) => i % 7 === 3).map((r) => r.customerId);
      for (const source of ["stats", "purchases"] as const) {
        const sampled = await computeFeatures(own, { asOf: now, attributeSpec, source, customerIds: some });
        expect(sampled.rows).toEqual(whole.rows.filter((r) => some.includes(r.customerId)));
      }
    });
  });
});

describe("features are identical on PGlite and PostgreSQL", () => {
  const kinds = databaseKinds();
  it.skipIf(kinds.length < 2)("same rows from a generated store", async () => {
    const results: CustomerFeatures[][] = [];
    for (const kind of kinds as DatabaseKind[]) {
      await withTestDatabase(kind, async (db) => {
        await buildFixture(db);
        await makeGeneratedStore(db, { customers: 200, asOf, seed: 3 });
        results.push((await computeFeatures(db, { asOf: addDays(asOf, -30) })).rows);
      });
    }
    expect(results[0]!.length).toBeGreaterThan(100);
    expect(results[1]).toEqual(results[0]);
  });
});

describe("features on PGlite, which has no autovacuum", () => {
  it("first refresh the planner's statistics of the tables they read that grew since last taken", async () => {
    await withTestDatabase("pglite", async (db) => {
      // Written by hand, not imported: nothing has analysed purchases since they were empty.
      const ids = await makeCustomers(
        db,
        Array.from({ length: 600 }, () => ({ signedUpAt: at("2024-01-01T00:00:00Z") })),
      );
      await db.prisma.$executeRawUnsafe(
        `INSERT INTO purchases (external_id, customer_id, purchased_at, amount)
         SELECT 'st-' || c || '-' || k, c, timestamp '2025-05-01' - make_interval(days => (c * 37 + k * 91) % 300), 25
           FROM unnest($1::int[]) AS x(c), generate_series(1, 3) AS k`,
        ids,
      );
      const estimate = async () =>
        (await db.queryRows<{ n: number }>(`SELECT reltuples::int AS n FROM pg_class WHERE relname = 'purchases'`))[0]!
          .n;
      expect(await estimate()).toBeLessThan(100);

      const { rows } = await computeFeatures(db, { asOf, customerIds: ids });
      expect(rows).toHaveLength(600);
      expect(await estimate()).toBe(1800);
      // The planner now expects the purchases it reads, instead of one row.
      const [plan] = await db.queryRows<{ "QUERY PLAN": string }>(
        `EXPLAIN SELECT customer_id, count(*) FROM purchases WHERE customer_id > 0 AND customer_id <= 600 GROUP BY 1`,
      );
      expect(Number(/rows=(\d+)/.exec(plan!["QUERY PLAN"])![1])).toBeGreaterThan(100);
    });
  });
});

describe("packed feature rows", () => {
  it("parse to the same doubles as Number(), field by field, whatever the text", () => {
    // Texts as PostgreSQL writes them (integers, money, float8 seconds and attribute values) and
    // the shapes that must fall back to Number(): exponents, 16+ digits, Infinity, NaN, junk.
    let seed = 17;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const texts = (): string => {
      const x = (random() - 0.3) * 10 ** Math.floor(random() * 12);
      switch (Math.floor(random() * 10)) {
        case 0:
          return "";
        case 1:
          return String(Math.round(x));
        case 2:
          return x.toFixed(2);
        case 3:
          return x.toFixed(3);
        case 4:
          return String(x); // up to 17 significant digits
        case 5:
          return x.toExponential(Math.floor(random() * 10));
        case 6:
          return [
            "Infinity",
            "-Infinity",
            "NaN",
            "-",
            ".",
            "1.2.3",
            "-0",
            "0.000001",
            "123456789012345",
            "1234567890123456",
          ][Math.floor(random() * 10)]!;
        case 7:
          return String(Math.floor(random() * 2 ** 31));
        case 8:
          return (x / 1e6).toFixed(12);
        default:
          return x.toFixed(1);
      }
    };
    const out = new Float64Array(12);
    for (let row = 0; row < 20_000; row++) {
      const fields = Array.from({ length: 1 + Math.floor(random() * 12) }, texts);
      const n = parseFields(fields.join(","), out);
      expect(n).toBe(fields.length);
      for (let k = 0; k < out.length; k++) {
        const expected = k < fields.length && fields[k] !== "" ? Number(fields[k]) : Number.NaN;
        if (!Object.is(out[k], expected))
          expect({ row, text: fields[k], parsed: out[k] }).toEqual({ row, text: fields[k], parsed: expected });
      }
    }
  });
});
