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
  it("labels a customer a churner exactly when they bought nothing in [cut-off, cut-off + horizon)", async () => {
    const end = addDays(at, 90);
    const ids = await makeCustomers(
      db,
      Array.from({ length: 4 }, () => ({ signedUpAt: addDays(at, -200) })),
    );
    const [atStart, justInside, atEnd, before] = ids as [number, number, number, number];
    await makePurchases(db, [
      ...ids.map((customerId) => ({ customerId, at: addDays(at, -100), amount: 10 })),
      { customerId: atStart, at, amount: 10 },
      { customerId: justInside, at: new Date(end.getTime() - 1000), amount: 10 },
      { customerId: atEnd, at: end, amount: 10 },
      { customerId: before, at: new Date(at.getTime() - 1000), amount: 10 },
    ]);
    const whole = await labelledCustomersAt(db, at, 90);
    const label = new Map(whole.rows.map((r, i) => [r.customerId, whole.labels[i]]));
    expect(ids.map((id) => label.get(id))).toEqual([0, 0, 1, 1]);
    // Every customer's label agrees with the purchases read directly, in the whole set and a sample.
    const buyers = new Set(
      (
        await db.queryRows<{ customer_id: number }>(
          `SELECT customer_id FROM purchases WHERE purchased_at >= $1::timestamp AND purchased_at < $2::timestamp`,
          [at.toISOString(), end.toISOString()],
        )
      ).map((r) => Number(r.customer_id)),
    );
    const sampled = await labelledCustomersAt(db, at, 90, [], { max: 40, seed: 7 });
    for (const set of [whole, sampled]) {
      expect(set.labels.some((l) => l === 0) && set.labels.some((l) => l === 1)).toBe(true);
      set.rows.forEach((r, i) => expect(set.labels[i]).toBe(buyers.has(r.customerId) ? 0 : 1));
    }
  });
});
