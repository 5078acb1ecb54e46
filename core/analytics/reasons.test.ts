import { describe, expect, it } from "vitest";
import type { CustomerFeatures } from "./features";
import { heuristicContributions, rankReasons, readReasons, topReasons } from "./reasons";

function features(overrides: Partial<CustomerFeatures> = {}): CustomerFeatures {
  return {
    customerId: 1,
    recencyDays: 94.3,
    frequency: 10,
    purchaseCount: 11,
    tenureDays: 400,
    monetaryMean: 40,
    monetaryTotal: 440,
    itemCount: 11,
    meanGapDays: 21.2,
    overdueRatio: 94.3 / 21.2,
    spendLast90: 40,
    spendPrev90: 100,
    spendTrend: (40 - 100) / 140,
    marginShare: null,
    npsLatest: 3,
    csatLatest: null,
    complaints90: 2,
    complaintsTotal: 3,
    offersReceived: 0,
    offersDeclined: 0,
    x: 10,
    tx: 300,
    T: 394,
    attributes: [1, 0],
    ...overrides,
  };
}

describe("reasons", () => {
  it("words the three largest positive contributions, summing columns that share a reason", () => {
    const reasons = topReasons(features(), [
      { feature: "log_recency", contribution: 0.5 },
      { feature: "log_overdue", contribution: 0.4 }, // same reason as recency: 0.9 in all
      { feature: "complaints_90", contribution: 0.6 },
      { feature: "spend_trend", contribution: 0.3 },
      { feature: "nps_detractor", contribution: 0.2 },
      { feature: "log_frequency", contribution: -1.5 }, // lowers risk: never a reason
    ]);
    expect(reasons.map((r) => r.text)).toEqual([
      "no purchase for 94 days; usually every 21",
      "two complaints in the last 90 days",
      "spending down 60% on the previous quarter",
    ]);
    expect(reasons[0]).toMatchObject({ code: "overdue", weight: 0.9, values: { daysSince: 94, usualGapDays: 21 } });
    expect(reasons[2]!.values).toMatchObject({ percent: 60 });
  });

  it("skips reasons the data does not bear out", () => {
    const f = features({
      spendLast90: 200,
      spendPrev90: 100,
      spendTrend: 1 / 3,
      npsLatest: 9,
      complaints90: 0,
      complaintsTotal: 0,
      recencyDays: 5,
    });
    const reasons = topReasons(f, [
      { feature: "spend_trend", contribution: 2 },
      { feature: "nps_detractor", contribution: 1 },
      { feature: "complaints_90", contribution: 1 },
      { feature: "log_recency", contribution: 1 },
      { feature: "log_monetary_mean", contribution: 0.6 },
    ]);
    expect(reasons.map((r) => r.code)).toEqual(["small_orders"]);
  });

  it("names a detractor and a one-hot attribute level", () => {
    const reasons = topReasons(
      features({ complaints90: 0, complaintsTotal: 0 }),
      [
        { feature: "nps_detractor", contribution: 0.8 },
        { feature: "attr:tier=bronze", contribution: 0.5 },
        { feature: "attr:tier=gold", contribution: 0.4 },
      ],
      ["attr:tier=bronze", "attr:tier=gold"],
    );
    expect(reasons.map((r) => r.text)).toEqual(["detractor (NPS 3)", "tier is bronze"]);
  });

  it("explains a customer who never bought, and the fallback without a model", () => {
    const f = features({
      recencyDays: null,
      purchaseCount: 0,
      frequency: 0,
      meanGapDays: null,
      tenureDays: 40,
      npsLatest: null,
      complaints90: 1,
    });
    const reasons = topReasons(f, heuristicContributions(f, 0.2));
    expect(reasons[0]!.text).toBe("no purchase since joining 40 days ago");
    expect(reasons.map((r) => r.code)).toContain("complaints");
    expect(reasons.length).toBeLessThanOrEqual(3);
  });

  it("stores reasons as [code, weight, ...values] and words them the same when read back", () => {
    const f = features({ npsLatest: 3 });
    const names = ["log_recency", "complaints_90", "spend_trend", "attr:tier=bronze", "attr:age"];
    const contributions = [0.9, 0.6, 0.4, 0.3, 0.25];
    const stored = rankReasons(f, names, contributions, ["attr:tier=bronze", "attr:age"], 5);
    expect(stored).toEqual([
      ["overdue", 0.9, 94, 21],
      ["complaints", 0.6, 2, 3],
      ["spending_down", 0.4, 60, 40, 100],
      ["attribute", 0.3, "tier", "bronze"],
      ["attribute", 0.25, "age", 0],
    ]);
    const viaJson = readReasons(JSON.parse(JSON.stringify(stored)));
    expect(viaJson).toEqual(
      topReasons(
        f,
        names.map((feature, j) => ({ feature, contribution: contributions[j]! })),
        ["attr:tier=bronze", "attr:age"],
        5,
      ),
    );
    expect(viaJson.map((r) => r.text)).toEqual([
      "no purchase for 94 days; usually every 21",
      "two complaints in the last 90 days",
      "spending down 60% on the previous quarter",
      "tier is bronze",
      "age 0",
    ]);
    expect(viaJson[1]!.values).toEqual({ last90: 2, total: 3 });
  });

  it("reads the older object form and drops what it cannot read", () => {
    const reasons = readReasons([
      { code: "overdue", text: "no purchase for 94 days", weight: 1.2, values: { daysSince: 94 } },
      ["complaints", 0.5, 0, 2],
      ["no_such_code", 1, 2],
      ["overdue", "heavy", 3],
      { code: "x" },
      null,
    ]);
    expect(reasons.map((r) => r.text)).toEqual(["no purchase for 94 days", "two complaints on record"]);
    expect(readReasons("not an array")).toEqual([]);
  });

  it("never shows a reason under the minimum weight or share, not even as the only one", () => {
    const f = features();
    // 0.04 is under the 0.05 floor: no reason at all rather than a weak one.
    expect(rankReasons(f, ["complaints_90"], [0.04])).toEqual([]);
    // 0.08 clears 0.05 but not a tenth of the customer's 1.58 in all.
    const stored = rankReasons(f, ["log_recency", "complaints_90", "nps_detractor"], [1.0, 0.5, 0.08]);
    expect(stored.map((r) => r[0])).toEqual(["overdue", "complaints"]);
    expect(stored.every((r) => r[1] >= 0.05)).toBe(true);
  });

  it("leaves one reason out on request, the next taking its place, with the floors still set by the whole", () => {
    const f = features();
    const columns = ["log_monetary_mean", "log_recency", "complaints_90", "nps_detractor", "csat_low"];
    // The customer's 1.92 in all sets the floor at 0.192: 0.15 (a detractor) stays under it even
    // without small orders, though it would clear a tenth of the 1.52 left.
    const weights = [0.4, 1.0, 0.2, 0.15, 0.17];
    expect(rankReasons(f, columns, weights).map((r) => r[0])).toEqual(["overdue", "small_orders", "complaints"]);
    expect(rankReasons(f, columns, weights, [], 2, "small_orders").map((r) => r[0])).toEqual(["overdue", "complaints"]);
    // With room for three, nothing under the floor fills the third place.
    expect(rankReasons(f, columns, weights, [], 3, "small_orders").map((r) => r[0])).toEqual(["overdue", "complaints"]);
    // A reason over the floor does take the place small orders leaves.
    const stronger = [0.4, 1.0, 0.2, 0.3, 0];
    expect(rankReasons(f, columns, stronger, [], 2).map((r) => r[0])).toEqual(["overdue", "small_orders"]);
    expect(rankReasons(f, columns, stronger, [], 2, "small_orders").map((r) => r[0])).toEqual(["overdue", "detractor"]);
  });

  it("says 'usually every N' only from at least three gaps between purchase days", () => {
    const contributions = [{ feature: "log_recency", contribution: 1 }];
    // Two purchase days: one gap, no rhythm to speak of.
    expect(topReasons(features({ x: 1, meanGapDays: 1, recencyDays: 94 }), contributions)[0]!.text).toBe(
      "no purchase for 94 days",
    );
    expect(topReasons(features({ x: 2, meanGapDays: 10 }), contributions)[0]!.values).toEqual({ daysSince: 94 });
    expect(topReasons(features({ x: 3, meanGapDays: 10 }), contributions)[0]!.text).toBe(
      "no purchase for 94 days; usually every 10",
    );
  });

  it("words reasons from their codes in the reader's language", () => {
    const stored = [
      ["overdue", 0.9, 94, 21],
      ["complaints", 0.6, 2, 3],
      ["few_purchases", 0.3, 1],
      ["small_orders", 0.2, 12.5],
    ];
    expect(readReasons(stored, "ru").map((r) => r.text)).toEqual([
      "нет покупок 94 дня; обычно раз в 21 день",
      "2 жалобы за последние 90 дней",
      "пока только одна покупка",
      "небольшие заказы (в среднем 12.50)",
    ]);
    expect(readReasons(stored, "en").map((r) => r.text)).toEqual([
      "no purchase for 94 days; usually every 21",
      "two complaints in the last 90 days",
      "only one purchase so far",
      "small orders (average 12.50)",
    ]);
    // An unsupported language falls back to English.
    expect(readReasons(stored, "de")[0]!.text).toBe("no purchase for 94 days; usually every 21");
  });
});
