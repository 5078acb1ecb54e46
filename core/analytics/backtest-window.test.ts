import { afterAll, beforeAll, expect, it } from "vitest";
import { addDays, makeCustomers, makePurchases, type PurchaseFixture } from "../../test/helpers/analytics-fixtures";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import type { Database } from "../db/client";
import { backtestAt, evaluateBacktest, purchaseSpan } from "./backtest";

const start = new Date("2024-01-01T10:00:00.000Z");
const DAY_MS = 86_400_000;
const startOfDay = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
const iso = (d: Date) => d.toISOString().slice(0, 10);

describeEachDatabase("which backtest windows the history can give", (kind) => {
  let db: Database;
  let first: Date;
  let last: Date;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    // 160 customers over 420 days: each buys every `gap` days from a start in the first month
    // until a stop day spread over the whole history (a quarter never stop), so each window
    // has churners and buyers.
    const ids = await makeCustomers(
      db,
      Array.from({ length: 160 }, () => ({})),
    );
    const purchases: PurchaseFixture[] = [];
    ids.forEach((customerId, i) => {
      const gap = 7 + ((i * 7) % 40);
      const stop = i % 4 === 0 ? 420 : 40 + ((i * 37) % 380);
      for (let d = i % 30; d < stop; d += gap)
        purchases.push({ customerId, at: addDays(start, d), amount: 10 + (i % 9) });
    });
    purchases.push({ customerId: ids[0]!, at: addDays(start, 419), amount: 10 });
    await makePurchases(db, purchases);
    const span = await purchaseSpan(db);
    first = span!.first;
    last = span!.last;
  });
  afterAll(() => db.close());

  it("judges a horizon that ends with the last purchase day and refuses one that runs a day past it", async () => {
    // [cutoff, cutoff + 90 days) ends at midnight after the last purchase day: every day of it has data.
    const cutoff = new Date(startOfDay(last).getTime() + DAY_MS - 90 * DAY_MS);
    const judged = await evaluateBacktest(db, { cutoff, horizonDays: 90 });
    expect(judged.ok).toBe(true);
    if (judged.ok) expect(judged.value.cutoff).toBe(iso(cutoff));

    const late = await evaluateBacktest(db, { cutoff: addDays(cutoff, 1), horizonDays: 90 });
    expect(late.ok).toBe(false);
    if (!late.ok) expect(late.error.message).toContain(`after the known history (last purchase ${iso(last)})`);
    const longer = await evaluateBacktest(db, { cutoff, horizonDays: 91 });
    expect(longer.ok).toBe(false);
  });

  it("a history shorter than two horizons is refused with the way out, and trains at --train-at on the days up to the cut-off", async () => {
    const cutoff = startOfDay(addDays(first, 180));
    const refused = await evaluateBacktest(db, { cutoff, horizonDays: 200 });
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error.message).toContain("before the first purchase");
      expect(refused.error.message).toContain("--train-at");
    }

    const trainAt = startOfDay(addDays(first, 90));
    const result = await evaluateBacktest(db, { cutoff, horizonDays: 200, trainAt });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.trainAt).toBe(iso(trainAt));
    expect(result.value.trainLabelDays).toBe(90);
    expect(result.value.horizonDays).toBe(200);
    // Without a training point the window is the cut-off minus the horizon.
    const plain = await evaluateBacktest(db, { cutoff: startOfDay(addDays(first, 240)), horizonDays: 120 });
    expect(plain.ok && plain.value.trainAt).toBe(iso(startOfDay(addDays(first, 120))));
    expect(plain.ok && plain.value.trainLabelDays).toBe(120);

    for (const bad of [cutoff, addDays(cutoff, 5), startOfDay(first)]) {
      const r = await evaluateBacktest(db, { cutoff, horizonDays: 200, trainAt: bad });
      expect(r.ok).toBe(false);
    }
  });

  it("purchases after the cut-off change what is judged, never the models trained at --train-at", async () => {
    const cutoff = startOfDay(addDays(first, 180));
    const trainAt = startOfDay(addDays(first, 90));
    const before = await backtestAt(db, { cutoff, horizonDays: 200, trainAt });
    expect(before.ok).toBe(true);
    if (!before.ok) return;
    // Churners at the cut-off buy 5 days after it: inside [trainAt, trainAt + horizon), so a
    // training label read over the horizon instead of up to the cut-off would see them.
    const { judged, labels } = before.value;
    const churners = judged.rows.filter((_, i) => labels[i] === 1).slice(0, 10);
    expect(churners.length).toBe(10);
    await makePurchases(
      db,
      churners.map((r) => ({ customerId: r.customerId, at: addDays(cutoff, 5), amount: 20 })),
    );
    const after = await backtestAt(db, { cutoff, horizonDays: 200, trainAt });
    expect(after.ok).toBe(true);
    if (!after.ok) return;
    expect(after.value.labels).not.toEqual(labels);
    expect(after.value.logOdds).toEqual(before.value.logOdds);
  });
});
