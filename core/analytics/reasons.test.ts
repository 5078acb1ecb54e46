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
      { feature: "log_monetary_mean", contribution: 0.1 },
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
    const contributions = [0.9, 0.6, 0.3, 0.2, 0.1];
    const stored = rankReasons(f, names, contributions, ["attr:tier=bronze", "attr:age"], 5);
    expect(stored).toEqual([
      ["overdue", 0.9, 94, 21],
      ["complaints", 0.6, 2, 3],
      ["spending_down", 0.3, 60, 40, 100],
      ["attribute", 0.2, "tier", "bronze"],
      ["attribute", 0.1, "age", 0],
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
});
