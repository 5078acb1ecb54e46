import { afterAll, beforeAll, expect, it } from "vitest";
import { addDays, makeCustomers, makeGeneratedStore, makePurchases } from "../../test/helpers/analytics-fixtures";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import type { Database } from "../db/client";
import { BacktestCache, labelledCustomersAt } from "./backtest";
import { sampleCustomerIds } from "./features";

const asOf = new Date("2025-06-01T00:00:00.000Z");
const at = addDays(asOf, -120);

describeEachDatabase("training reads a sample drawn in SQL and each cut-off once", (kind) => {
  let db: Database;
  let late: number;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    await makeGeneratedStore(db, { customers: 120, asOf, seed: 5 });
    // Signed up and first bought after `at`: never part of a sample as of `at`.
    [late] = (await makeCustomers(db, [{ signedUpAt: addDays(asOf, -30) }])) as [number];
    await makePurchases(db, [{ customerId: late, at: addDays(asOf, -20), amount: 10 }]);
  });
  afterAll(() => db.close());

  it("draws the same customers for the same seed, others for another, only customers known at the cut-off", async () => {
    const a = await sampleCustomerIds(db, { asOf: at, max: 40, seed: 1 });
    const b = await sampleCustomerIds(db, { asOf: at, max: 40, seed: 1 });
    const c = await sampleCustomerIds(db, { asOf: at, max: 40, seed: 2 });
    expect(a).toHaveLength(40);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(a).not.toContain(late);
    // No more customers than asked: everyone, no sample.
    expect(await sampleCustomerIds(db, { asOf: at, max: 100_000, seed: 1 })).toBeNull();
  });

  it("a sampled set holds only the drawn customers, with the same features and labels as the whole set", async () => {
    const whole = await labelledCustomersAt(db, at, 90);
    const sampled = await labelledCustomersAt(db, at, 90, [], { max: 40, seed: 3 });
    expect(whole.sampled).toBe(false);
    expect(sampled.sampled).toBe(true);
    expect(sampled.rows.length).toBeGreaterThan(0);
    expect(sampled.rows.length).toBeLessThanOrEqual(40);
    const wholeById = new Map(whole.rows.map((r, i) => [r.customerId, { row: r, label: whole.labels[i] }]));
    sampled.rows.forEach((r, i) => {
      expect(wholeById.get(r.customerId)?.row).toEqual(r);
      expect(wholeById.get(r.customerId)?.label).toBe(sampled.labels[i]);
    });
  });

  it("the cache reads a cut-off once, serves a sample request from the whole set, and fits BG/NBD once per set", async () => {
    const cache = new BacktestCache(db, 90, []);
    const whole = await cache.labelled(at, null);
    const again = await cache.labelled(at, { max: 40, seed: 1 });
    expect(again).toBe(whole);
    expect(cache.counts.reads).toBe(1);
    const other = await cache.labelled(addDays(at, -90), { max: 40, seed: 1 });
    expect(other.sampled).toBe(true);
    expect(cache.counts.reads).toBe(2);
    const first = cache.latentFor(whole, 1);
    expect(cache.latentFor(whole, 1)).toBe(first);
    expect(cache.counts.latentFits).toBe(1);
  });
});
